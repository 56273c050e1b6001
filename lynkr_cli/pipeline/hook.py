"""Where the proxy calls the pipeline: one function, so the request path stays a single line.

Picks the session state (Claude Code's ``X-Claude-Code-Session-Id`` when present, so several
sessions behind one ``lynkr serve`` keep separate decisions), runs the stages, records their reports
in ``record.details["pipeline"]`` (plus any calibration samples finished since the last request,
``pipeline/calibrate.py``), and stores the full text of any lossy elision where
``lynkr optimize --show-elided`` finds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from lynkr_cli.pipeline.base import Pipeline, log, summarize_reports

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.ledger import RequestRecord

SESSION_HEADERS = ("x-claude-code-session-id", "session_id", "conversation_id")


def session_key(headers: Mapping[str, str], default: str) -> str:
    for name in SESSION_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return default


def run_pipeline(pipeline: Pipeline, request: ModelRequest, headers: Mapping[str, str], record: RequestRecord,
                 default_session: str) -> ModelRequest:
    """The request to forward: optimized by ``pipeline``, or ``request`` itself when nothing changed;
    ``default_session``: the proxy's own session id, for clients that send none."""
    if not pipeline.active:
        return request
    state = pipeline.session(session_key(headers, default_session))
    result, reports = pipeline.run(request, state)
    try:
        pipeline.save_decisions(state)
    except OSError as exc:  # the decision still holds for this proxy's lifetime
        log.warning("could not save pipeline decisions: %s", exc)
    details = summarize_reports(reports)
    for report in reports:
        for ref, text in report.artifacts.items():
            try:
                pipeline.save_elided(ref, text)
            except OSError as exc:
                details.setdefault("warnings", []).append(f"could not save elided text {ref}: {exc}")
    if result is not request:
        from lynkr_cli.pipeline.patch import keep_client_format

        result = keep_client_format(request, result)
        details["bytes_before"] = len(request.raw) if request.raw is not None else len(request.wire_bytes())
        details["bytes_after"] = len(result.raw) if result.raw is not None else len(result.wire_bytes())
        if result.raw is not None and request.inbound != "anthropic":
            details["edited_in_client_format"] = True
    if state.calibration_due():
        state.calibration.start(record, result.body)  # counted in a background thread
    samples = state.calibration.ready()
    if samples:
        details["calibration"] = samples
    record.details["pipeline"] = details
    return result
