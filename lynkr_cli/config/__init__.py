"""Reading and writing lynkr's configuration layers (files, profiles, environment, flags).

``lynkr_cli.settings`` holds the typed models; this package finds the layers, merges them with the
source of every value remembered, and writes TOML for ``lynkr init``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from lynkr_cli.settings import Settings


def load_settings(
    profile: str | None = None,
    flags: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """The effective settings; a bad value raises ``ConfigError`` naming the key and the file."""
    from lynkr_cli.config.layers import resolve

    return resolve(profile=profile, flags=flags, cwd=cwd, env=env).settings
