"""The ``[statusline]`` table: what lynkr does with Claude Code's status line.

Example ``lynkr.toml``::

    [statusline]
    mode = "append"     # your own statusLine first, then lynkr's segment (the default)
                        # "replace": lynkr's segment only; "off": yours only, as if lynkr were not there
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StatuslineConfig(BaseModel):
    """lynkr's segment in Claude Code's status line under ``lynkr run claude``."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["append", "replace", "off"] = Field(
        default="append", description="append: after your own statusLine; replace: lynkr's only; off: yours only")
