"""Finding the configuration layers, merging them, and validating the result once.

Each layer is a plain nested dict plus the source of each dotted key it sets; layers are deep-merged
lowest first and the result validated by ``Settings``. Remembering the source per key is what lets
``lynkr config show`` say where a value came from and an error name the file that holds a bad value.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from lynkr_cli.config.env import legacy_layer, lynkr_layer, set_path
from lynkr_cli.errors import ConfigError
from lynkr_cli.paths import config_home

if TYPE_CHECKING:
    from lynkr_cli.settings import Settings

PROJECT_FILE = "lynkr.toml"
USER_FILE = "config.toml"


@dataclass
class Layer:
    """One source of settings: ``data`` as nested dicts, ``sources`` maps dotted keys to a label."""

    name: str
    data: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)
    path: Path | None = None


@dataclass
class Resolved:
    settings: Settings
    layers: list[Layer]
    sources: dict[str, str]
    user_file: Path
    project_file: Path | None
    profile_file: Path | None

    def source_of(self, key: str) -> str:
        """Where ``key`` (dotted) got its value: the layer that set it or a parent table, else default."""
        parts = key.split(".")
        for i in range(len(parts), 0, -1):
            found = self.sources.get(".".join(parts[:i]))
            if found is not None:
                return found
        return "default"


def user_config_file(env: Mapping[str, str] | None = None) -> Path:
    return config_home(env if env is not None else os.environ) / USER_FILE  # type: ignore[arg-type]


def find_project_file(cwd: Path | None = None) -> Path | None:
    """The nearest ``lynkr.toml`` in ``cwd`` or one of its parents."""
    start = (cwd or Path.cwd()).resolve()
    for directory in (start, *start.parents):
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict; a syntax error is one line naming the file and the position."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML in {path}: {exc}") from None
    except UnicodeDecodeError as exc:  # TOML is UTF-8; a file saved in another encoding is not
        raise ConfigError(f"invalid TOML in {path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None


def leaf_sources(data: dict[str, Any], label: str, prefix: str = "") -> dict[str, str]:
    sources: dict[str, str] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            sources.update(leaf_sources(value, label, f"{path}."))
        else:
            sources[path] = label
    return sources


def file_layer(name: str, path: Path) -> Layer:
    data = read_toml(path)
    return Layer(name, data, leaf_sources(data, str(path)), path)


def deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``; tables merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# The top-level settings (``Settings.model_fields``), known here without importing pydantic, so that
# ``lynkr run`` can read the layers before it starts the agent for the price of a few file reads
# (tests/config/test_check.py keeps the two lists equal).
SETTING_NAMES = frozenset({
    "profile", "agents", "model_provider", "tiers", "providers", "budget", "serve", "anthropic_base_url",
    "max_body_bytes", "pipeline", "routing", "cache", "retention_days", "prices", "statusline", "storage",
})


@dataclass
class Gathered:
    """Every layer read and merged, not yet validated (no pydantic involved)."""

    layers: list[Layer]
    merged: dict[str, Any]
    sources: dict[str, str]
    user_file: Path
    project_file: Path | None
    profile_file: Path | None


def gather(
    profile: str | None = None,
    flags: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Gathered:
    """Read and merge every layer. Raises ``ConfigError`` for a file that is not TOML (naming the
    file and position) or an unknown profile; values are checked by ``validate``."""
    from lynkr_cli.config.profiles import find_profile

    env = os.environ if env is None else env
    fields = set(SETTING_NAMES)
    user_file = user_config_file(env)
    project_file = find_project_file(cwd)
    if project_file is not None and user_file.exists() and project_file.resolve() == user_file.resolve():
        project_file = None

    files = [file_layer("user", user_file)] if user_file.is_file() else []
    if project_file is not None:
        files.append(file_layer("project", project_file))
    legacy = Layer("env (Lynkr names)", *legacy_layer(env, fields))
    lynkr_env = Layer("env", *lynkr_layer(env, fields))
    flag_layer = Layer("flags", {}, {})
    for key, value in (flags or {}).items():
        if value is not None:
            set_path(flag_layer.data, key, value)
            flag_layer.sources[key] = "command line"

    # The profile is chosen by the highest layer that names one, then applied just above the defaults.
    chosen, chosen_from = profile, "command line"
    if chosen is None:
        for layer in (lynkr_env, *reversed(files)):
            if isinstance(layer.data.get("profile"), str):
                chosen, chosen_from = layer.data["profile"], layer.sources.get("profile", layer.name)
                break
    layers: list[Layer] = []
    profile_file = None
    if chosen:
        profile_file = find_profile(chosen, env)
        prof = file_layer("profile", profile_file)
        prof.data.pop("profile", None)
        prof.sources = {k: f"profile {chosen}" for k in prof.sources if k != "profile"}
        layers.append(prof)
    layers += [*files, legacy, lynkr_env, flag_layer]

    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in layers:
        merged = deep_merge(merged, layer.data)
        sources.update(layer.sources)
    if chosen:
        merged["profile"] = chosen
        sources["profile"] = chosen_from
    return Gathered(layers, merged, sources, user_file, project_file, profile_file)


def resolve(
    profile: str | None = None,
    flags: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Resolved:
    """Read every layer, merge, validate. Raises ``ConfigError`` naming the key and its source."""
    found = gather(profile=profile, flags=flags, cwd=cwd, env=env)
    return resolved_from(found, validate(found.merged, found.sources))


def resolved_from(found: Gathered, settings: Settings) -> Resolved:
    return Resolved(settings, found.layers, found.sources, found.user_file, found.project_file, found.profile_file)


def validate(merged: dict[str, Any], sources: Mapping[str, str]) -> Settings:
    """``Settings`` from the merged dict; the first problem becomes one line: key, source, reason."""
    from pydantic import ValidationError

    from lynkr_cli.settings import Settings

    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        where = _source_for(key, sources)
        reason = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown setting"
        else:
            value = error.get("input")
            secret = "api_key" in key or "token" in key or key == "storage.url"  # a URL may hold a password
            if isinstance(value, (str, int, float, bool)) and not secret:
                reason += f" (got {value!r})"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"invalid config: {key} in {where}: {reason}{more}") from None


def _source_for(key: str, sources: Mapping[str, str]) -> str:
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        found = sources.get(".".join(parts[:i]))
        if found is not None:
            return found
    # A missing required key: name whichever layer set something under it.
    for path, label in sources.items():
        if path.startswith(key + "."):
            return label
    return "defaults"
