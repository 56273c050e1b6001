"""The ``statusLine`` setting ``lynkr run claude`` gives Claude Code.

lynkr's ``--settings`` wins over every settings file but the managed one, so a ``statusLine`` it sets
would hide the user's own. Instead lynkr's command runs the user's (``--then``) and appends its
segment; the ``[statusline] mode`` the proxy writes into the session's state decides what is shown,
so the launch reads no config (which would delay the agent by pydantic's import).

The user's status line is the one Claude Code would have used: from their ``--settings``, else the
project's ``.claude/settings.local.json``, ``.claude/settings.json``, else the user's
``settings.json`` (in ``$CLAUDE_CONFIG_DIR`` or ``~/.claude``).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, Mapping

from lynkr_cli.jsonfile import read_object


def claude_status_line(session_id: str, user_settings: Mapping[str, Any], env: Mapping[str, str],
                       cwd: Path | None = None) -> dict[str, Any]:
    """The ``statusLine`` value: lynkr's command, wrapping the user's own when they have one."""
    theirs = users_status_line(user_settings, env, cwd or Path.cwd())
    command = [sys.executable, "-m", "lynkr_cli.statusline", "--session", session_id]
    setting: dict[str, Any] = {}
    if theirs is not None:
        setting.update({k: v for k, v in theirs.items() if k not in ("type", "command")})  # padding …
        if isinstance(theirs.get("command"), str) and theirs["command"].strip():
            command += ["--then", theirs["command"]]
    setting.update({"type": "command", "command": shlex.join(command)})
    return setting


def users_status_line(user_settings: Mapping[str, Any], env: Mapping[str, str], cwd: Path) -> dict[str, Any] | None:
    home = Path(env.get("HOME") or Path.home())
    config_dir = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else home / ".claude"
    sources: list[Mapping[str, Any]] = [user_settings]
    for path in (cwd / ".claude" / "settings.local.json", cwd / ".claude" / "settings.json",
                 config_dir / "settings.json"):
        sources.append(read_object(path))
    for settings in sources:
        line = settings.get("statusLine")
        if isinstance(line, dict) and line.get("type", "command") == "command":
            return dict(line)
    return None
