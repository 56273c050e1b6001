"""The optimization pipeline: ordered, pure stages over the canonical request.

``base`` holds the framework (``Stage``, ``StageReport``, ``Pipeline``); each stage lives in its own
module (``compress``, ``prune``, ``terminal``, ``paths``, ``dedup``, ``linenums``); ``build`` turns a
``PipelineConfig`` into a ``Pipeline``. Importing this package is cheap, and the names below load
their modules on first use: ``lynkr run`` reads ``switches`` (the stage names) on its start-up path,
and stages import tiktoken and toon-format only when they first run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lynkr_cli.pipeline.base import Pipeline, Stage, StageReport
    from lynkr_cli.pipeline.state import SessionState

__all__ = ["Pipeline", "SessionState", "Stage", "StageReport"]


def __getattr__(name: str) -> Any:
    if name in ("Pipeline", "Stage", "StageReport"):
        from lynkr_cli.pipeline import base

        return getattr(base, name)
    if name == "SessionState":
        from lynkr_cli.pipeline import state

        return state.SessionState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
