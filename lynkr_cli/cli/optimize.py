"""``lynkr optimize REQUEST.json``: what the pipeline would do to a request, without sending it.

The optimized body goes to stdout (pipe it, diff it), the per-stage report to stderr, and
``--report-json FILE`` writes the report for scripts. ``--show-elided REF`` prints the full text
behind a lossy elision marker.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from lynkr_cli.pipeline.switches import STAGE_NAMES

FORMATS = ("anthropic", "openai-chat", "openai-responses")


def optimize(
    request_file: Optional[Path] = typer.Argument(
        None, metavar="REQUEST.json", help="A saved request body ('-' reads stdin)."
    ),
    format: Optional[str] = typer.Option(
        None, "--format", "-f", metavar="|".join(FORMATS), help="The body's API format (detected if omitted)."
    ),
    report_json: Optional[Path] = typer.Option(None, "--report-json", metavar="FILE", help="Write the report as JSON."),
    no_optimize: bool = typer.Option(False, "--no-optimize", help="Run no stage (shows the baseline counts)."),
    stage: Optional[List[str]] = typer.Option(
        None, "--stage", metavar="NAME=on|off",
        help=f"Switch one optimization stage on or off ({', '.join(STAGE_NAMES)}); repeatable.",
    ),
    lossy: bool = typer.Option(False, "--lossy", help="Allow the opt-in lossy elision of huge outputs."),
    show_elided: Optional[str] = typer.Option(
        None, "--show-elided", metavar="REF", help="Print the full text behind an elision marker and exit."
    ),
) -> None:
    """Run the optimization pipeline on a saved request body and show what it changed."""
    from lynkr_cli.errors import UsageError

    if show_elided is not None:
        from lynkr_cli.pipeline import elided

        sys.stdout.write(elided.load(elided.elided_dir(), show_elided))
        return
    if request_file is None:
        raise UsageError("give a request body file (or - for stdin), or --show-elided REF")
    raw = sys.stdin.buffer.read() if str(request_file) == "-" else _read(request_file)
    result = run_optimize(raw, format, no_optimize=no_optimize, switches=stage or [], lossy=lossy)
    sys.stdout.buffer.write(result["body"])
    if not result["body"].endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()
    report = result["report"]
    sys.stderr.write(render_report(report))
    if report_json is not None:
        import json

        try:
            report_json.write_text(json.dumps(report, indent=2) + "\n")
        except OSError as exc:
            raise UsageError(f"cannot write --report-json {report_json}: {exc.strerror or exc}") from None


def _read(path: Path) -> bytes:
    from lynkr_cli.errors import UsageError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def detect_format(payload: dict[str, Any]) -> str:
    """Which API a body was written for, from the fields only that API has.

    A ``system`` role inside ``messages`` alone is not decisive: Claude Code 2.1 sends one too.
    """
    if "input" in payload and "messages" not in payload:
        return "openai-responses"
    listed = payload.get("messages")  # a body of the wrong shape is the codec's to judge, not a crash here
    messages = [m for m in listed if isinstance(m, dict)] if isinstance(listed, list) else []
    if any(m.get("role") in ("developer", "tool") or "tool_calls" in m for m in messages):
        return "openai-chat"
    tools = payload.get("tools")
    if any(isinstance(t, dict) and t.get("type") == "function" for t in (tools if isinstance(tools, list) else [])):
        return "openai-chat"
    anthropic_blocks = ("tool_use", "tool_result", "thinking", "redacted_thinking", "image")
    has_blocks = any(isinstance(m.get("content"), list) and any(
        isinstance(b, dict) and b.get("type") in anthropic_blocks for b in m["content"]) for m in messages)
    if "system" not in payload and not has_blocks and any(m.get("role") == "system" for m in messages):
        return "openai-chat"
    return "anthropic"


def _check_shape(payload: dict[str, Any], fmt: str) -> None:
    """The lists the pipeline walks must be lists of objects: a saved body of another shape is one line,
    not a traceback from deep inside a stage."""
    from lynkr_cli.errors import UsageError

    field = "input" if fmt == "openai-responses" else "messages"
    value = payload.get(field)
    if fmt == "openai-responses" and isinstance(value, str):
        value = []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise UsageError(f"not a valid {fmt} request body: {field!r} must be a list of objects")
    if not isinstance(payload.get("tools", []), list):
        raise UsageError(f"not a valid {fmt} request body: 'tools' must be a list")


def run_optimize(raw: bytes, fmt: str | None, *, no_optimize: bool = False, switches: list[str] | tuple[str, ...] = (),
                 lossy: bool = False, settings_pipeline: Any = None) -> dict[str, Any]:
    """The optimized body (in the input's format) and the report. Used by the command, tests and bench."""
    import time

    from lynkr_cli import tokens
    from lynkr_cli.errors import UsageError
    from lynkr_cli.formats.jsonio import parse_json_object
    from lynkr_cli.pipeline.base import summarize_reports
    from lynkr_cli.pipeline.build import build_pipeline
    from lynkr_cli.pipeline.config import with_switches

    payload = parse_json_object(raw)
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    fmt = fmt or detect_format(payload)
    _check_shape(payload, fmt)
    codec = _codec(fmt)
    request = codec.decode_request(payload, raw)
    if settings_pipeline is None:
        from lynkr_cli.config import load_settings

        settings_pipeline = load_settings().pipeline
    config = with_switches(settings_pipeline, no_optimize, list(switches))
    if lossy:
        config = config.model_copy(update={"compress": config.compress.model_copy(update={"lossy": True})})
    pipeline = build_pipeline(config)
    if pipeline.active:
        tokens.encoding()  # built once per process (the proxy does this at start); not pipeline time
        import toon_format  # noqa: F401
    t0 = time.perf_counter()
    out, reports = pipeline.run(request, pipeline.session("lynkr-optimize"))
    elapsed_ms = (time.perf_counter() - t0) * 1000
    for report in reports:
        for ref, text in report.artifacts.items():
            pipeline.save_elided(ref, text)
    if out is request:
        body = raw
    else:
        from lynkr_cli.pipeline.patch import keep_client_format

        out = keep_client_format(request, out)
        body = out.raw if out.raw is not None and fmt != "anthropic" else codec.encode_request(out, out.model or "")
    summary = summarize_reports(reports)
    summary.update(
        format=fmt,
        tokens_estimate=tokens.ESTIMATE_LABEL,
        request_tokens_before=tokens.count_request(request.body),
        request_tokens_after=tokens.count_request(out.body),
        bytes_before=len(raw),
        bytes_after=len(body),
        pipeline_ms=round(elapsed_ms, 3),
    )
    return {"body": body, "report": summary}


def _codec(fmt: str) -> Any:
    from lynkr_cli.errors import UsageError

    if fmt == "anthropic":
        from lynkr_cli.formats.anthropic import AnthropicCodec

        return AnthropicCodec()
    try:
        from lynkr_cli.formats import codec

        return codec(fmt)
    except (ImportError, KeyError):
        raise UsageError(f"the {fmt} format is not available in this build of lynkr") from None


def render_report(report: dict[str, Any]) -> str:
    """The human-readable report printed on stderr."""
    before, after = report["request_tokens_before"], report["request_tokens_after"]
    pct = f" ({(before - after) / before:.1%} less)" if before and after != before else ""
    lines = [
        f"lynkr optimize: {report['format']} request, {before:,} -> {after:,} tokens{pct} "
        f"({report['tokens_estimate']}), {report['bytes_before']:,} -> {report['bytes_after']:,} bytes, "
        f"pipeline {report['pipeline_ms']:.1f} ms"
    ]
    for stage in report["stages"]:
        if stage.get("error"):
            lines.append(f"  {stage['stage']:<9} FAILED (request left as it was): {stage['error']}")
            continue
        change = (f"{stage['tokens_before']:,} -> {stage['tokens_after']:,} tokens" if stage["changed"]
                  else "no change")
        lines.append(f"  {stage['stage']:<9} {change}; {stage['decision']}")
        for item in stage.get("items", []):
            if "representation" in item:
                figures = (f" {item['tokens_before']:,} -> {item['tokens_after']:,}"
                           if item["representation"] != "as-is" else "")
                lines.append(f"    {item.get('tool_use_id') or item.get('name') or ''}: {item['representation']}{figures}")
    if not report["stages"]:
        lines.append("  optimization off: no stage ran")
    return "\n".join(lines) + "\n"
