"""The optimization pipeline: ordered, pure stages over the canonical request.

``base`` holds the framework (``Stage``, ``StageReport``, ``Pipeline``); each stage lives in its own
module (``compress``, ``prune``); ``build`` turns a ``PipelineConfig`` into a ``Pipeline``. Importing
this package is cheap: stages import tiktoken and toon-format only when they first run.
"""

from lynkr_cli.pipeline.base import Pipeline, Stage, StageReport
from lynkr_cli.pipeline.state import SessionState

__all__ = ["Pipeline", "SessionState", "Stage", "StageReport"]
