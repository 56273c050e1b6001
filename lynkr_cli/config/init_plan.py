"""What ``lynkr init`` writes, built from answers (typed, from flags or the wizard) — no I/O but files.

Kept apart from the questions so the non-interactive path and the wizard produce the same file, and
so it can be tested without a terminal. A chosen profile is referenced (``profile = "NAME"``), and
only answers that differ from it are written: the file stays short and follows profile updates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lynkr_cli.config.env import set_path
from lynkr_cli.errors import UsageError
from lynkr_cli.settings import TIER_NAMES

HEADER = "lynkr configuration, written by `lynkr init`.\nLayers: lynkr config show; reference: README ## Configuration."

# Lynkr-era default URLs that need not be written down.
DEFAULT_URLS = {
    "ollama": ("http://127.0.0.1:11434", "http://localhost:11434"),
    "lmstudio": ("http://127.0.0.1:1234/v1", "http://localhost:1234/v1"),
    "llamacpp": ("http://127.0.0.1:8080/v1", "http://localhost:8080/v1"),
}


@dataclass
class InitAnswers:
    profile: str | None = None
    agents: list[str] = field(default_factory=list)
    tiers: dict[str, str] = field(default_factory=dict)
    provider_urls: dict[str, str] = field(default_factory=dict)
    detected_urls: dict[str, str] = field(default_factory=dict)  # written only for providers in use
    provider_key_envs: dict[str, str] = field(default_factory=dict)
    budget_session: float | None = None
    budget_daily: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    """``["a=b", …]`` from a repeated ``--flag a=b`` option."""
    pairs: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} expects NAME=VALUE, got {item!r}")
        pairs[key.strip().lower() if flag == "--tier" else key.strip()] = value.strip()
    return pairs


def parse_value(text: str) -> Any:
    """A ``--set`` value: booleans, numbers and JSON lists/tables as such, anything else a string."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text.strip()[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def check_tiers(tiers: dict[str, str]) -> None:
    unknown = sorted(set(tiers) - set(TIER_NAMES))
    if unknown:
        raise UsageError(f"unknown tier {unknown[0]!r}: tiers are {', '.join(TIER_NAMES)}")


def build_config(answers: InitAnswers, profile_data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The TOML document for ``answers``, leaving out what the profile already says."""
    base = profile_data or {}
    data: dict[str, Any] = {}
    if answers.profile:
        data["profile"] = answers.profile
    if answers.agents and answers.agents != base.get("agents"):
        data["agents"] = list(answers.agents)
    check_tiers(answers.tiers)
    for tier in TIER_NAMES:
        ref = answers.tiers.get(tier)
        if ref and ref != (base.get("tiers") or {}).get(tier):
            set_path(data, f"tiers.{tier}", ref)
    base_providers = base.get("providers") or {}
    tiers_in_use = {**(base.get("tiers") or {}), **{k: v for k, v in answers.tiers.items() if v}}
    in_use = set(used_providers(tiers_in_use)) | {answers.extra.get("model_provider") or base.get("model_provider")}
    urls = {p: u for p, u in answers.detected_urls.items() if p in in_use} | answers.provider_urls
    for provider, url in urls.items():
        known = (base_providers.get(provider) or {}).get("base_url")
        if url and url != known and url not in DEFAULT_URLS.get(provider, ()):
            set_path(data, f"providers.{provider}.base_url", url)
    for provider, name in answers.provider_key_envs.items():
        if name and name != (base_providers.get(provider) or {}).get("api_key_env"):
            set_path(data, f"providers.{provider}.api_key_env", name)
    base_budget = base.get("budget") or {}
    if answers.budget_session is not None and answers.budget_session != base_budget.get("session_usd"):
        set_path(data, "budget.session_usd", float(answers.budget_session))
    if answers.budget_daily is not None and answers.budget_daily != base_budget.get("daily_usd"):
        set_path(data, "budget.daily_usd", float(answers.budget_daily))
    for key, value in answers.extra.items():
        set_path(data, key, value)
    return data


def validate_document(data: dict[str, Any], profile_data: dict[str, Any] | None, target: Path) -> None:
    """Raise ``ConfigError`` (naming the key and ``target``) if the file would not load."""
    from lynkr_cli.config.layers import leaf_sources, deep_merge, validate

    validate(deep_merge(profile_data or {}, data), leaf_sources(data, str(target)))


def used_providers(tiers: dict[str, str]) -> list[str]:
    return sorted({ref.split(":", 1)[0] for ref in tiers.values() if ref and ":" in ref})


def profile_data(name: str | None) -> dict[str, Any]:
    """The settings a profile sets (``{}`` for none), as ``lynkr init`` starts a config from them."""
    if not name:
        return {}
    from lynkr_cli.config.layers import read_toml
    from lynkr_cli.config.profiles import find_profile

    data = read_toml(find_profile(name))
    data.pop("profile", None)
    return data
