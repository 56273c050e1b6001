"""Claude Code: pointed at the proxy through a merged ``--settings`` file.

Measured facts this relies on (see DESIGN.md): the ``env`` block of ``~/.claude/settings.json``
overrides the process environment, and ``--settings`` overrides both; with several ``--settings``
flags the last one wins entirely. So lynkr passes its variables through ``--settings``, folding in any
``--settings`` the user gave (inline JSON or a file) instead of adding a competing one.

The merged settings carry the session token (in the base URL, and as ``ANTHROPIC_AUTH_TOKEN`` when
lynkr holds every route's credentials), so they go in a 0600 file passed by path, never inline:
``ps`` shows every user each process's argv (``agents/private.py``). A user's own settings file is
read and merged into it, not copied onto the command line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from lynkr_cli.agents.base import Launch, PrivateFileWriter, ProxyEndpoint, loopback_env, with_no_proxy
from lynkr_cli.agents.logins import any_set
from lynkr_cli.errors import UsageError
from lynkr_cli.jsonfile import read_object
from lynkr_cli.statusline.wiring import claude_status_line

SETTINGS_FILE = "claude-settings.json"
# Credentials Claude Code would use instead of (or ask about, next to) the token lynkr gives it.
# Blanked in the settings' env when lynkr holds every route: measured on 2.1.197, an
# ANTHROPIC_API_KEY in the environment makes interactive mode ask "Detected a custom API key …
# Do you want to use this API key?" even when ANTHROPIC_AUTH_TOKEN is set.
OWN_CREDENTIAL_VARS = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN")
# Any of these, in the environment or a settings file's env block, and Claude Code is logged in
# (measured on 2.1.197 and 2.1.332: without one of them or a stored login, -p prints
# "Not logged in · Please run /login" and sends nothing).
LOGIN_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")
MANAGED_SETTINGS = Path("/etc/claude-code/managed-settings.json")


class ClaudeAgent:
    name = "claude"
    binary = "claude"
    install_hint = "npm install -g @anthropic-ai/claude-code"
    inbound = "anthropic"
    home_provider = "anthropic"
    label = "Claude Code"
    login_hint = "log in once with `claude` (/login) or set ANTHROPIC_API_KEY"

    def has_own_login(self, args: list[str], env: Mapping[str, str]) -> bool:
        if any_set(env, LOGIN_VARS):
            return True
        home = Path(env.get("HOME") or Path.home())
        config_dir = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else home / ".claude"
        if (config_dir / ".credentials.json").is_file():  # a subscription or Console login (Linux)
            return True
        state = read_object(config_dir / ".claude.json" if env.get("CLAUDE_CONFIG_DIR") else home / ".claude.json")
        if state.get("oauthAccount") or state.get("primaryApiKey"):  # logins kept in the macOS keychain
            return True
        cwd = Path.cwd()
        sources = [config_dir / "settings.json", cwd / ".claude" / "settings.json",
                   cwd / ".claude" / "settings.local.json", MANAGED_SETTINGS]
        settings = [read_object(path) for path in sources]
        _, user_settings, _ = split_settings_args(args)
        for entry in [*settings, user_settings]:
            block = entry.get("env")
            if entry.get("apiKeyHelper") or (isinstance(block, dict) and any_set(block, LOGIN_VARS)):
                return True
        return False

    def launch(self, binary: str, args: list[str], endpoint: ProxyEndpoint, env: Mapping[str, str],
               files: PrivateFileWriter) -> Launch:
        proxy_env = {"ANTHROPIC_BASE_URL": endpoint.base_url, **loopback_env(env)}
        if env.get("ENABLE_TOOL_SEARCH"):
            # Claude Code turns its tool search off behind a non-Anthropic base URL unless this is set;
            # through --settings it also wins over a value in ~/.claude/settings.json.
            proxy_env["ENABLE_TOOL_SEARCH"] = env["ENABLE_TOOL_SEARCH"]
        child_env = dict(env)
        child_env.update(proxy_env)
        settings_env = dict(proxy_env)
        if endpoint.token_as_key:
            settings_env["ANTHROPIC_AUTH_TOKEN"] = endpoint.token
            for name in OWN_CREDENTIAL_VARS:
                settings_env[name] = ""
                child_env.pop(name, None)
        rest, user_settings, position = split_settings_args(args)
        status_line = claude_status_line(endpoint.session_id, user_settings, env) if endpoint.session_id else None
        merged = merge_settings(user_settings, lynkr_settings(settings_env, status_line))
        path = files.write(SETTINGS_FILE, json.dumps(merged, separators=(",", ":")))
        return Launch([binary, *rest[:position], "--settings", str(path), *rest[position:]], child_env)


def lynkr_settings(proxy_env: dict[str, str], status_line: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Claude Code settings lynkr sets for a run, on top of the user's (``merge_settings``).

    One place for every setting lynkr adds: its variables, and the status line showing the session's
    live figures (``statusline/wiring.py``; it keeps the user's own status line in front of lynkr's).
    """
    settings: dict[str, Any] = {"env": proxy_env}
    if status_line is not None:
        settings["statusLine"] = status_line
    return settings


def split_settings_args(args: list[str]) -> tuple[list[str], dict[str, Any], int]:
    """``args`` without any ``--settings``, the settings Claude Code would have used from them, and
    where lynkr's ``--settings`` goes: in place of the user's last one (before a bare ``--``), which
    is the one Claude Code itself would have used; else first. Everything else keeps its order."""
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
        return list(args), {}, 0
    drop = {p for s, n, _ in positions for p in range(s, s + n)}
    rest = [a for idx, a in enumerate(args) if idx not in drop]
    start, _, value = positions[-1]
    position = start - sum(1 for p in drop if p < start)
    return rest, load_user_settings(value), position


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


def merge_settings(user: dict[str, Any], lynkr: dict[str, Any]) -> dict[str, Any]:
    """The user's settings with lynkr's on top; ``env`` merges variable by variable, and the user's
    ``NO_PROXY`` entries are kept next to the loopback hosts lynkr adds."""
    merged = dict(user)
    for key, value in lynkr.items():
        if key != "env":
            merged[key] = value
    env = dict(user.get("env") or {})
    proxy_env: dict[str, str] = lynkr.get("env", {})
    user_no_proxy = env.get("NO_PROXY") or env.get("no_proxy")
    env.update(proxy_env)
    if user_no_proxy and "NO_PROXY" in proxy_env:
        env["NO_PROXY"] = env["no_proxy"] = with_no_proxy(f"{user_no_proxy},{proxy_env['NO_PROXY']}")
    merged["env"] = env
    return merged
