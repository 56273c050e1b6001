"""Claude Code: pointed at the proxy through a merged ``--settings``.

Measured facts this relies on (see DESIGN.md): the ``env`` block of ``~/.claude/settings.json``
overrides the process environment, and ``--settings`` overrides both; with several ``--settings``
flags the last one wins entirely. So lynkr passes its variables through ``--settings``, folding in any
``--settings`` the user gave (inline JSON or a file) instead of adding a competing one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from lynkr_cli.agents.base import Launch, ProxyEndpoint, loopback_env, with_no_proxy
from lynkr_cli.errors import UsageError


class ClaudeAgent:
    name = "claude"
    binary = "claude"
    install_hint = "npm install -g @anthropic-ai/claude-code"

    def launch(self, binary: str, args: list[str], endpoint: ProxyEndpoint, env: Mapping[str, str]) -> Launch:
        proxy_env = {"ANTHROPIC_BASE_URL": endpoint.base_url, **loopback_env(env)}
        if env.get("ENABLE_TOOL_SEARCH"):
            # Claude Code turns its tool search off behind a non-Anthropic base URL unless this is set;
            # through --settings it also wins over a value in ~/.claude/settings.json.
            proxy_env["ENABLE_TOOL_SEARCH"] = env["ENABLE_TOOL_SEARCH"]
        child_env = dict(env)
        child_env.update(proxy_env)
        return Launch([binary, *merge_settings_arg(args, proxy_env)], child_env)


def merge_settings_arg(args: list[str], proxy_env: dict[str, str]) -> list[str]:
    """``args`` with exactly one ``--settings`` carrying lynkr's env on top of the user's settings.

    The user's last ``--settings`` (before a bare ``--``) is replaced in place by the merged JSON and
    earlier ones are dropped, which is what Claude Code itself would have used; everything else stays
    where it was. Without one, ``--settings <json>`` goes first.
    """
    end = args.index("--") if "--" in args else len(args)
    positions: list[tuple[int, int, str]] = []  # (start, length, value)
    i = 0
    while i < end:
        arg = args[i]
        if arg == "--settings" and i + 1 < end:
            positions.append((i, 2, args[i + 1]))
            i += 2
            continue
        if arg.startswith("--settings="):
            positions.append((i, 1, arg.split("=", 1)[1]))
        i += 1
    if not positions:
        return ["--settings", _settings_json({}, proxy_env), *args]
    start, length, value = positions[-1]
    merged = _settings_json(load_user_settings(value), proxy_env)
    drop = {p for s, n, _ in positions[:-1] for p in range(s, s + n)}
    out = [a for idx, a in enumerate(args[:start]) if idx not in drop]
    out += ["--settings", merged]
    out += [a for idx, a in enumerate(args[start + length :], start + length) if idx not in drop]
    return out


def load_user_settings(value: str) -> dict[str, Any]:
    """The settings object a user passed as ``--settings``: inline JSON or a path to a JSON file."""
    text = value.strip()
    source = "--settings value"
    if not text.startswith("{"):
        path = Path(value).expanduser()
        try:
            text = path.read_text()
        except OSError as exc:
            raise UsageError(f"cannot read the --settings file {value!r}: {exc.strerror}") from None
        source = f"--settings file {value!r}"
    try:
        settings = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"the {source} is not valid JSON: {exc}") from None
    if not isinstance(settings, dict):
        raise UsageError(f"the {source} must be a JSON object")
    return settings


def _settings_json(user: dict[str, Any], proxy_env: dict[str, str]) -> str:
    merged = dict(user)
    env = dict(merged.get("env") or {})
    user_no_proxy = env.get("NO_PROXY") or env.get("no_proxy")
    env.update(proxy_env)
    if user_no_proxy:
        env["NO_PROXY"] = env["no_proxy"] = with_no_proxy(f"{user_no_proxy},{proxy_env['NO_PROXY']}")
    merged["env"] = env
    return json.dumps(merged, separators=(",", ":"))
