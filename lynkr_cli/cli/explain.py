"""``lynkr explain``: how a prompt (or a whole request) would be routed, and why."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def explain(
    prompt: Optional[str] = typer.Argument(
        None, metavar="PROMPT", help="The prompt to score, as a user would type it."
    ),
    request: Optional[Path] = typer.Option(
        None, "--request", "-r", metavar="FILE",
        help="A request body (Anthropic Messages, OpenAI Chat or Responses JSON) to score instead; - for stdin."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object (tier, score, reason, …)."),
    profile: Optional[str] = typer.Option(
        None, "--profile", "-p", metavar="NAME", help="Route with this profile's tiers."
    ),
) -> None:
    """Show the tier, score breakdown, rule and model lynkr would route a request to."""
    import json

    from lynkr_cli.errors import UsageError

    if (prompt is None) == (request is None):
        raise UsageError('give a prompt (lynkr explain "refactor the auth module") or --request FILE.json')
    if request is not None:
        text = _read(request)
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"{request} is not valid JSON ({exc})") from None
        if not isinstance(body, dict) or not isinstance(body.get("messages", body.get("input")), (list, str)):
            raise UsageError(f"{request} is not a request body: expected a JSON object with messages (or input)")
        body, extras = _canonical(body, text)
    else:
        body, extras = {"model": "", "max_tokens": 4096, "messages": [{"role": "user", "content": prompt}]}, {}

    from lynkr_cli.cli.explain_render import render
    from lynkr_cli.routing.setup import build_router
    from lynkr_cli.config import load_settings

    router = build_router(load_settings(profile=profile))
    from lynkr_cli.canonical import ModelRequest

    decision = router.route(ModelRequest(body, extras=extras))
    classification = router.classify(body, extras)
    if as_json:
        data = decision.details()
        data["parts"] = [{"dimension": p.dimension, "points": p.points, "detail": p.detail} for p in decision.parts]
        data["routing_enabled"] = router.enabled
        data["matched"] = list(classification.matched)
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    from lynkr_cli.printable import printable

    typer.echo(printable(render(decision, classification, router), newlines=True))  # quotes the prompt


def _canonical(payload: dict, text: str) -> tuple[dict, dict]:
    """An Anthropic, OpenAI Chat or Responses body (detected as ``lynkr optimize`` does) in canonical form."""
    from lynkr_cli.cli.optimize import _codec, detect_format

    request = _codec(detect_format(payload)).decode_request(payload, text.encode())
    return dict(request.body), dict(request.extras or {})


def _read(path: Path) -> str:
    from lynkr_cli.errors import UsageError

    import sys

    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
        return data.decode("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON (not UTF-8 text, byte {exc.start})") from None
