"""The four tiers, what serves each one, and how a tier without a model borrows a neighbour's.

A tier is a *difficulty*, not a model: ``SIMPLE < MEDIUM < COMPLEX < REASONING``. The user maps tiers
to models as ``provider:model`` (Lynkr's ``TIER_SIMPLE=ollama:qwen2.5-coder`` format). With no tier
mapped at all there is no routing; with some mapped, an unmapped tier is served by the next *stronger*
mapped tier (never a weaker one, so a hard request is never sent to a model chosen for easy ones), and
only when nothing stronger exists by the strongest mapped tier below it.

Imports nothing heavy: ``lynkr explain`` uses it at start-up.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Mapping

from lynkr_cli.errors import UsageError

_REF = re.compile(r"^(?P<provider>[a-z0-9][a-z0-9_.-]*):(?P<model>\S+)$")


class Tier(enum.IntEnum):
    """Difficulty classes, ordered: comparisons (``tier >= Tier.COMPLEX``) mean "at least as hard".

    Numbered from 1 so that no tier is falsy.
    """

    SIMPLE = 1
    MEDIUM = 2
    COMPLEX = 3
    REASONING = 4

    @classmethod
    def parse(cls, text: str) -> "Tier":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(t.name.lower() for t in cls)
            raise UsageError(f"unknown tier {text!r}; tiers are {names}") from None

    @property
    def label(self) -> str:
        return self.name


@dataclass(frozen=True)
class Target:
    """A model as users write it, ``provider:model``; the model part may contain colons (Ollama tags)."""

    provider: str
    model: str

    @classmethod
    def parse(cls, text: str) -> "Target":
        match = _REF.match((text or "").strip())
        if match is None:
            raise UsageError(
                f"malformed model {text!r}: expected PROVIDER:MODEL, e.g. anthropic:claude-sonnet-4-5 or "
                "ollama:qwen2.5-coder"
            )
        return cls(match["provider"], match["model"])

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


@dataclass(frozen=True)
class TierMap:
    """Which target serves each tier; empty means routing is off."""

    targets: Mapping[Tier, Target]

    @classmethod
    def from_strings(cls, tiers: Mapping[str, str | None]) -> "TierMap":
        """From ``{"simple": "ollama:qwen2.5-coder", ...}``; unset or empty values are skipped."""
        targets: dict[Tier, Target] = {}
        for name, ref in tiers.items():
            if ref:
                targets[Tier.parse(name)] = Target.parse(ref)
        return cls(targets)

    @property
    def enabled(self) -> bool:
        return bool(self.targets)

    def serving_tier(self, tier: Tier) -> Tier | None:
        """The mapped tier that serves ``tier``: itself, else the next stronger, else the strongest weaker."""
        if not self.targets:
            return None
        for candidate in sorted(Tier):
            if candidate >= tier and candidate in self.targets:
                return candidate
        return max(self.targets)

    def target_for(self, tier: Tier) -> Target | None:
        serving = self.serving_tier(tier)
        return None if serving is None else self.targets[serving]

    def tier_of(self, target: Target) -> Tier | None:
        """The strongest tier mapped to ``target`` (used to place a sticky model in the order)."""
        tiers = [tier for tier, mapped in self.targets.items() if mapped == target]
        return max(tiers) if tiers else None
