"""Turning a ``PipelineConfig`` into a ``Pipeline`` (the one place stages are listed, in order)."""

from __future__ import annotations

from pathlib import Path

from lynkr_cli.pipeline.base import Pipeline, Stage
from lynkr_cli.pipeline.config import PipelineConfig


def build_pipeline(config: PipelineConfig | None = None, elided_dir: Path | None = None,
                   decisions_dir: Path | None = None) -> Pipeline:
    """Stages in order: tools are pruned first (decided once per session); each tool result is then
    rendered as a terminal showed it (before ``compress`` strips escapes, so cursor moves still count),
    compressed, its search lines grouped by file, its repeated runs turned into references to what the
    model saw before (on texts as the model sees them, so a reference names lines it can read), and
    last its line-number padding dropped (which keeps every number, so references stay valid).

    ``decisions_dir`` keeps per-session decisions across proxy restarts (the proxy passes
    ``<lynkr home>/pipeline``); without it they live in memory.
    """
    from lynkr_cli.pipeline.compress import CompressToolResults
    from lynkr_cli.pipeline.dedup import Deduplicate
    from lynkr_cli.pipeline.linenums import CompactLineNumbers
    from lynkr_cli.pipeline.paths import GroupSearchPaths
    from lynkr_cli.pipeline.prune import PruneTools
    from lynkr_cli.pipeline.terminal import RenderTerminal

    config = config or PipelineConfig()
    stages: list[Stage] = [PruneTools(config.prune), RenderTerminal(), CompressToolResults(config.compress),
                           GroupSearchPaths(), Deduplicate(), CompactLineNumbers()]
    return Pipeline(stages, disabled=config.disabled_stages(), elided_dir=elided_dir, decisions_dir=decisions_dir)
