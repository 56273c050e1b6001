"""Whether team storage may be configured, answered without reading the full settings.

``lynkr run`` and ``lynkr report`` skip the settings (~0.25 s of imports) when they can: only the
environment and the config files can name a ``[storage] url`` (or a profile that might), so when
none does, the SQLite files are the answer and PostgreSQL's driver is never imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from lynkr_cli.config.check import CheckedConfig
    from lynkr_cli.storage import Storage


def may_name_storage(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> bool:
    from lynkr_cli.config.layers import find_project_file, read_toml, user_config_file
    from lynkr_cli.errors import ConfigError

    env = os.environ if env is None else env
    if env.get("LYNKR_STORAGE__URL") or env.get("LYNKR_PROFILE"):
        return True
    for path in (user_config_file(env), find_project_file(cwd)):
        if path is None or not path.is_file():
            continue
        try:
            data = read_toml(path)
        except ConfigError:  # the full settings will say what is wrong with it
            return True
        if "storage" in data or "profile" in data:
            return True
    return False


def configured_storage(config: CheckedConfig | None = None) -> Storage | None:
    """The team ``Storage`` when the settings name a URL, else None (SQLite). ``config``: the config
    ``lynkr run`` checked before its agent started (its merged data says whether a URL is set without
    building the settings). A config that does not load also means None here: the proxy reports it."""
    from lynkr_cli.errors import LynkrError
    from lynkr_cli.storage import Storage

    try:
        if config is not None:
            table = config.merged.get("storage")
            if not (isinstance(table, dict) and table.get("url")):
                return None
            settings = config.settings()
        else:
            if not may_name_storage():
                return None
            from lynkr_cli.config import load_settings

            settings = load_settings()
        storage = Storage.from_settings(settings)
    except LynkrError:
        return None
    return storage if storage.shared else None
