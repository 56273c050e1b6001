"""Profiles: named TOML presets applied just above the defaults (``--profile local-ollama``).

Shipped profiles live in ``lynkr_cli/data/profiles/`` (the repository's ``profiles/`` points there, so
they are in the wheel too); a user's own go in ``~/.config/lynkr/profiles/NAME.toml`` and win over a
shipped one of the same name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from lynkr_cli.errors import ConfigError
from lynkr_cli.paths import config_home

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "data" / "profiles"


@dataclass(frozen=True)
class ProfileInfo:
    name: str
    path: Path
    shipped: bool
    summary: str


def _summary(path: Path) -> str:
    """The first comment line of the file: each profile documents itself at the top."""
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if text.startswith("#"):
                text = text.lstrip("#").strip()
                if text:
                    return text
            elif text:
                break
    except OSError:
        pass
    return ""


def user_dir(env: Mapping[str, str] | None = None) -> Path:
    return config_home(env if env is not None else os.environ) / "profiles"  # type: ignore[arg-type]


def list_profiles(env: Mapping[str, str] | None = None) -> list[ProfileInfo]:
    """Every profile by name; a user's profile hides a shipped one of the same name."""
    found: dict[str, ProfileInfo] = {}
    for directory, shipped in ((SHIPPED_DIR, True), (user_dir(env), False)):
        if directory.is_dir():
            for path in sorted(directory.glob("*.toml")):
                found[path.stem] = ProfileInfo(path.stem, path, shipped, _summary(path))
    return sorted(found.values(), key=lambda p: p.name)


def find_profile(name: str, env: Mapping[str, str] | None = None) -> Path:
    """The file for profile ``name`` (or ``name`` itself when it is a path to a TOML file)."""
    if name.endswith(".toml") or os.sep in name:
        path = Path(name).expanduser()
        if path.is_file():
            return path
        raise ConfigError(f"profile file {path} does not exist")
    for profile in list_profiles(env):
        if profile.name == name:
            return profile.path
    names = ", ".join(p.name for p in list_profiles(env)) or "none"
    raise ConfigError(f"unknown profile {name!r} (available: {names}; see `lynkr profiles`)")

