"""One status line from a session's state, e.g.::

    lynkr · $0.42 · saved 12.3k tok / $0.05 · cache 3 hits · COMPLEX → claude-sonnet-4-5

then, when they apply: a loop the guard flagged or stopped, a failover, a budget downgrade, errors.
Colour (ANSI) only when asked: Claude Code renders it in its status line; a pipe gets plain text.
Every name from a client or an upstream goes through ``printable``.
"""

from __future__ import annotations

from lynkr_cli.printable import printable

TYPE_CHECKING = False  # as typing.TYPE_CHECKING (mypy reads it so) without importing typing

if TYPE_CHECKING:  # typing costs ~2 ms to import: not on the status line's path
    from typing import Any

_RESET = "\x1b[0m"
_STYLES = {"brand": "\x1b[1;36m", "dim": "\x1b[2m", "good": "\x1b[32m", "warn": "\x1b[33m", "bad": "\x1b[31m"}
SEPARATOR = " · "


def tokens(n: float) -> str:
    n = int(round(n))
    if abs(n) >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if abs(n) >= 1_000:
        return f"{n / 1000:.1f}k"
    return str(n)


def money(value: float) -> str:
    return f"${value:.2f}" if abs(value) >= 0.995 or value == 0 else f"${value:.3f}".rstrip("0")


def segments(state: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(text, style) pairs; style is a key of ``_STYLES`` or ""."""
    out: list[tuple[str, str]] = [("lynkr", "brand")]
    if state is None:
        return out + [("starting", "dim")]
    if not state.get("requests"):
        return out + [("no requests yet", "dim")]
    cost = money(state.get("cost_usd") or 0.0)
    if state.get("unpriced"):
        cost += f" (+{state['unpriced']} unpriced)"
    out.append((cost, ""))
    saved, usd = state.get("tokens_saved") or 0, state.get("usd_saved") or 0.0
    if saved or usd:
        out.append((f"saved {tokens(saved)} tok / {money(usd)}", "good" if usd >= 0 else "bad"))
    if state.get("cache_hits"):
        hits = state["cache_hits"]
        out.append((f"cache {hits} hit{'s' if hits != 1 else ''}", "good"))
    last = state.get("last") or {}
    model = printable(last.get("model") or "")
    if last.get("tier") and model:
        out.append((f"{printable(last['tier'])} → {model}", ""))
    elif model and last.get("requested") and model != printable(last["requested"]):
        out.append((f"→ {model}", ""))
    if last.get("failover"):
        out.append((f"failed over from {printable(last['failover'])}", "warn"))
    if last.get("budget"):
        out.append((f"budget: {printable(last['budget'])}", "warn"))
    loop = last.get("loop")
    if isinstance(loop, dict):
        verb = "stopped" if loop.get("action") == "stopped" else "loop?"
        out.append((f"{verb} {printable(loop.get('tool'))} ×{loop.get('repeats')} identical", "bad"))
    if state.get("errors"):
        errors = state["errors"]
        text = f"{errors} error{'s' if errors != 1 else ''}"
        if last.get("error"):
            text += f" (last: {printable(last['error'])})"
        out.append((text, "bad"))
    return out


def render(state: dict[str, Any] | None, colour: bool) -> str:
    parts = segments(state)
    if not colour:
        return SEPARATOR.join(text for text, _ in parts)
    sep = f"{_STYLES['dim']}{SEPARATOR}{_RESET}"
    return sep.join(f"{_STYLES[style]}{text}{_RESET}" if style else text for text, style in parts)
