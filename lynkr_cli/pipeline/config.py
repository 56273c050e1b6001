"""Pipeline configuration: which stages run and how (the ``pipeline`` section of the settings).

Defaults are lossless and cache-safe: tool results are compressed losslessly (``compress``), terminal
redraws rendered (``terminal``), search output grouped by file (``paths``), repeated content
referenced (``dedup``) and line-number padding dropped (``linenums``); lossy elision is off, tool
pruning is off (it stalled sessions elsewhere; see DESIGN.md, optimization rule 3); ``--stage
prune=on`` turns it on with ``auto`` rules plus any ``drop`` patterns.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lynkr_cli.pipeline.switches import DEFAULTS, STAGE_NAMES, parse_stage_switch



class CompressConfig(BaseModel):
    """Tool-result compression (stage ``compress``)."""

    model_config = ConfigDict(extra="forbid")

    json_floor_chars: int = Field(default=400, ge=0, description="JSON tool results shorter than this stay as sent")
    repeat_min: int = Field(default=3, ge=2, description="Identical consecutive lines collapsed from this many")
    lossy: bool = Field(default=False, description="Elide the middle of huge text outputs (opt-in, recoverable)")
    lossy_threshold_tokens: int = Field(default=8000, ge=100, description="Text outputs above this are elided")
    lossy_head_lines: int = Field(default=80, ge=1)
    lossy_tail_lines: int = Field(default=40, ge=0)


class PruneConfig(BaseModel):
    """Session-stable tool pruning (stage ``prune``)."""

    model_config = ConfigDict(extra="forbid")

    drop: list[str] = Field(default_factory=list, description="Tool-name patterns (fnmatch) removed per session")
    auto: bool = Field(default=True, description="Drop tools the session's first request gives no reason to need")


class PipelineConfig(BaseModel):
    """``enabled=False`` is ``--no-optimize``; ``stages`` holds per-stage switches (``--stage NAME=off``)."""

    enabled: bool = True
    stages: dict[str, bool] = Field(default_factory=lambda: dict(DEFAULTS))
    compress: CompressConfig = Field(default_factory=CompressConfig)
    prune: PruneConfig = Field(default_factory=PruneConfig)

    model_config = ConfigDict(extra="forbid")

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(value) - set(STAGE_NAMES))
        if unknown:
            raise ValueError(f"unknown stage {', '.join(unknown)} (stages: {', '.join(STAGE_NAMES)})")
        return value

    def disabled_stages(self) -> list[str]:
        if not self.enabled:
            return list(STAGE_NAMES)
        return [name for name in STAGE_NAMES if not self.stages.get(name, DEFAULTS[name])]


Representation = Literal["toon", "json-min", "text-clean", "text-elided", "as-is"]


def with_switches(config: PipelineConfig, no_optimize: bool = False, switches: list[str] | tuple[str, ...] = ()) -> PipelineConfig:
    """``config`` with the command-line switches applied (flags win over every config layer)."""
    stages = dict(config.stages)
    for text in switches:
        name, on = parse_stage_switch(text)
        stages[name] = on
    return config.model_copy(update={"enabled": config.enabled and not no_optimize, "stages": stages})
