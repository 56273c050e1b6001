"""The questions of ``lynkr init`` (questionary). Answers given as flags are not asked again.

Detection runs first (local servers, keys, agents), so defaults are what this machine can use.
Every prompt raises on Ctrl-C (``unsafe_ask``): lynkr prints "interrupted" and writes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lynkr_cli.config.init_plan import InitAnswers
from lynkr_cli.settings import TIER_NAMES

TIER_HELP = {
    "simple": "short easy requests, titles",
    "medium": "ordinary coding turns",
    "complex": "multi-file changes, refactors",
    "reasoning": "hard debugging, architecture",
}

# Optional feature questions: (dotted setting, question, [(answer, value), …]), the first answer is the
# default. Asked only when the setting exists in this version of lynkr (each feature adds its own
# section to Settings); an answer equal to the built-in default is not written.
FEATURE_QUESTIONS: list[tuple[str, str, list[tuple[str, object]]]] = [
    ("pipeline.enabled", "Optional: optimize requests (lossless tool-result compression)?",
     [("yes", True), ("no", False)]),
    ("pipeline.compress.lossy", "Optional: elide the middle of huge command outputs (marked, recoverable)?",
     [("no", False), ("yes", True)]),
    ("cache.mode", "Optional: response cache?",
     [("off: every request reaches the model", "off"), ("exact: identical requests only", "exact"),
      ("semantic: also near-identical prompts (guarded)", "semantic")]),
]


def default_of(path: str) -> object:
    """The built-in default of a dotted setting."""
    from lynkr_cli.settings import Settings

    value: object = Settings.model_validate({})
    for part in path.split("."):
        value = getattr(value, part, None)
    return value


def setting_exists(path: str) -> bool:
    from pydantic import BaseModel

    from lynkr_cli.settings import Settings

    model: Any = Settings
    for part in path.split("."):
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return False
        annotation = fields[part].annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return True


def _is_ref(text: str) -> bool | str:
    from lynkr_cli.settings import _MODEL_REF

    return True if not text.strip() or _MODEL_REF.match(text.strip()) else "write provider:model, or leave empty"


def _is_amount(text: str) -> bool | str:
    if not text.strip():
        return True
    try:
        return float(text) >= 0 or "a positive number of dollars"
    except ValueError:
        return "a number of dollars, or empty for no limit"


class Wizard:
    def __init__(self, answers: InitAnswers, target: Path) -> None:
        self.answers = answers
        self.target = target
        self.local: list[Any] = []
        self.keys: dict[str, str] = {}
        self.agents_found: dict[str, str] = {}

    def ask_all(self) -> None:
        self._detect()
        self._profile()
        self._agents()
        self._tiers()
        self._budgets()
        self._features()

    # -- detection ---------------------------------------------------------------------------------
    def _detect(self) -> None:
        from rich.console import Console

        from lynkr_cli.config.detect import agents_on_path, local_servers, provider_keys

        console = Console()
        with console.status("Looking for local model servers, provider keys and agents…"):
            self.local = local_servers()
            self.keys = provider_keys(os.environ)
            self.agents_found = agents_on_path()
        console.print(f"lynkr init: writing [bold]{self.target}[/bold]")
        for server in self.local:
            models = ", ".join(server.models[:6]) + (" …" if len(server.models) > 6 else "")
            console.print(f"  found {server.provider} at {server.base_url}" + (f" ({models})" if models else ""))
            self.answers.detected_urls.setdefault(server.provider, server.base_url)
        for provider, variable in sorted(self.keys.items()):
            console.print(f"  found {provider} key in ${variable}")
        if not self.local and not self.keys:
            console.print("  no local model server or provider key found (that is fine: tiers are optional)")

    def _suggest_profile(self) -> str:
        local = {s.provider for s in self.local}
        if "ollama" in local and "anthropic" in self.keys:
            return "hybrid-local-cloud"
        if "ollama" in local:
            return "local-ollama"
        if "openrouter" in self.keys:
            return "openrouter-budget"
        if "codex" in self.agents_found and "claude" not in self.agents_found:
            return "codex-openai"
        return "anthropic-direct"

    # -- questions ---------------------------------------------------------------------------------
    def _profile(self) -> None:
        import questionary

        from lynkr_cli.config.profiles import list_profiles

        if self.answers.profile is not None:
            return
        profiles = list_profiles()
        suggested = self._suggest_profile()
        choices = [questionary.Choice(f"{p.name}: {p.summary}", value=p.name) for p in profiles]
        choices.append(questionary.Choice("none: I'll choose every model myself", value=""))
        default = next((c for c in choices if c.value == suggested), choices[-1])
        picked = questionary.select("Start from a profile?", choices=choices, default=default).unsafe_ask()
        self.answers.profile = picked or None

    def _profile_value(self, *path: str) -> Any:
        from lynkr_cli.config.init_plan import profile_data

        value: Any = profile_data(self.answers.profile)
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def _agents(self) -> None:
        import questionary

        if self.answers.agents:
            return
        preset = self._profile_value("agents") or list(self.agents_found) or ["claude"]
        choices = [
            questionary.Choice(name + ("" if name in self.agents_found else " (not installed)"), value=name,
                               checked=name in preset)
            for name in ("claude", "codex")
        ]
        self.answers.agents = questionary.checkbox("Which agents do you use?", choices=choices).unsafe_ask()

    def _tiers(self) -> None:
        import questionary

        local_refs = [f"{s.provider}:{m}" for s in self.local for m in s.models]
        if local_refs:
            print("  local models: " + ", ".join(local_refs[:8]))
        for tier in TIER_NAMES:
            if tier in self.answers.tiers:
                continue
            default = self._profile_value("tiers", tier) or ""
            value = questionary.text(
                f"Model for the {tier} tier ({TIER_HELP[tier]}), provider:model, empty for none:",
                default=default, validate=_is_ref,
            ).unsafe_ask().strip()
            if value:
                self.answers.tiers[tier] = value

    def _budgets(self) -> None:
        import questionary

        if self.answers.budget_session is None:
            default = self._profile_value("budget", "session_usd")
            text = questionary.text("Budget per session in USD (empty: no limit):",
                                    default="" if default is None else str(default), validate=_is_amount).unsafe_ask()
            self.answers.budget_session = float(text) if text.strip() else None
        if self.answers.budget_daily is None:
            default = self._profile_value("budget", "daily_usd")
            text = questionary.text("Budget per day in USD (empty: no limit):",
                                    default="" if default is None else str(default), validate=_is_amount).unsafe_ask()
            self.answers.budget_daily = float(text) if text.strip() else None

    def _features(self) -> None:
        import questionary

        for path, question, answers in FEATURE_QUESTIONS:
            if path in self.answers.extra or not setting_exists(path):
                continue
            choices = [questionary.Choice(title, value=index) for index, (title, _value) in enumerate(answers)]
            picked = answers[questionary.select(question, choices=choices).unsafe_ask()][1]
            if picked != default_of(path):
                self.answers.extra[path] = picked

    # -- writing -----------------------------------------------------------------------------------
    def confirm_write(self, text: str, target: Path) -> bool:
        import questionary
        from rich.console import Console
        from rich.syntax import Syntax

        console = Console()
        console.print(Syntax(text, "toml", theme="ansi_dark", background_color="default"))
        for provider in sorted({ref.split(":", 1)[0] for ref in self.answers.tiers.values()}):
            if provider not in self.keys and provider not in {s.provider for s in self.local} | {"ollama", "lmstudio",
                                                                                                 "llamacpp"}:
                console.print(f"  note: no key for {provider} in the environment; set it before `lynkr run`")
        question = f"Replace {target}?" if target.exists() else f"Write {target}?"
        return bool(questionary.confirm(question, default=True).unsafe_ask())

    def wants_test(self) -> bool:
        import questionary

        if not self.answers.tiers:
            return False
        return bool(questionary.confirm("Send a one-token test request to each tier's model now?",
                                        default=False).unsafe_ask())
