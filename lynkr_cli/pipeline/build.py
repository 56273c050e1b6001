"""Turning a ``PipelineConfig`` into a ``Pipeline`` (the one place stages are listed, in order)."""

from __future__ import annotations

from pathlib import Path

from lynkr_cli.pipeline.base import Pipeline, Stage
from lynkr_cli.pipeline.config import PipelineConfig


def build_pipeline(config: PipelineConfig | None = None, elided_dir: Path | None = None,
                   decisions_dir: Path | None = None) -> Pipeline:
    """Stages in order: tools are pruned first (decided once per session), then results compressed.

    ``decisions_dir`` keeps per-session decisions across proxy restarts (the proxy passes
    ``<lynkr home>/pipeline``); without it they live in memory.
    """
    from lynkr_cli.pipeline.compress import CompressToolResults
    from lynkr_cli.pipeline.prune import PruneTools

    config = config or PipelineConfig()
    stages: list[Stage] = [PruneTools(config.prune), CompressToolResults(config.compress)]
    return Pipeline(stages, disabled=config.disabled_stages(), elided_dir=elided_dir, decisions_dir=decisions_dir)
