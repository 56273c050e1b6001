"""The config check ``lynkr run`` does before it starts the agent, cheap enough to do every time.

A broken config (a file that is not TOML, an unknown key, a bad value, a wrong type, in a file or a
``LYNKR_*``/Lynkr variable) must stop ``lynkr run`` before the agent starts: one line naming the key
and where it was set, exit 2, no session row. Validating means importing pydantic and building the
settings models (~100 ms of CPU), which would add to every agent's start. So:

- the layers are always read and merged (``config.layers.gather``: TOML and environment only, a few
  milliseconds); a TOML syntax error or an unknown profile fails here;
- no configuration at all is valid by definition (the defaults);
- otherwise the merged data is fingerprinted (sha256 of it and of lynkr's version); a fingerprint that
  validated before, on this machine, is valid: the same data gives the same answer. Only a changed
  config pays for validation, once, before the agent starts.

The proxy still builds its typed ``Settings`` from the same merged data (``CheckedConfig.settings``),
on its own thread while the agent boots, so what ran is what was checked.

The check also records where the config can send requests (``ConfiguredRoutes``), so ``lynkr run``
can tell which credentials each route needs without importing the settings models on a known config.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from lynkr_cli.config.layers import Gathered, gather, validate

if TYPE_CHECKING:
    from lynkr_cli.settings import Settings

CHECKED_FILE = "config-checked.json"
_KEEP = 32  # fingerprints remembered: a few projects' lynkr.toml times a few environments
PASSTHROUGH = "passthrough"  # a routing slot that sends requests to the agent's own upstream


@dataclass(frozen=True)
class RouteRef:
    """A provider a run may send requests to, and the setting that names it (for error messages)."""

    provider: str
    key: str


@dataclass(frozen=True)
class ConfiguredRoutes:
    """Where the config can send a run's requests (``--model`` replaces all of this).

    ``routes``: the providers named by tiers, the fallback chain, routing slots and model maps;
    ``default``: whether some requests take the default route (``model_provider``, else the provider
    the agent already uses): every request when no tier is set, else those of a ``passthrough`` slot.
    """

    routes: tuple[RouteRef, ...] = ()
    default: bool = True
    model_provider: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"routes": [[r.provider, r.key] for r in self.routes], "default": self.default,
                "model_provider": self.model_provider}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ConfiguredRoutes":
        return cls(tuple(RouteRef(str(p), str(k)) for p, k in data["routes"]), bool(data["default"]),
                   data.get("model_provider"))

    @classmethod
    def of(cls, settings: "Settings") -> "ConfiguredRoutes":
        """Read from validated settings, mirroring the routers (``routing/``, ``proxy/components.py``)."""
        tiers = settings.tiers.configured()
        routes = [RouteRef(ref.split(":", 1)[0], f"tiers.{name}") for name, ref in tiers.items()]
        routes += [RouteRef(ref.split(":", 1)[0], "routing.fallback") for ref in settings.routing.fallback]
        default = True
        if tiers:
            slots = settings.routing.slots.model_dump()
            default = any(value == PASSTHROUGH for value in slots.values())
            routes += [RouteRef(value.split(":", 1)[0], f"routing.slots.{name}") for name, value in slots.items()
                       if isinstance(value, str) and ":" in value]
            routes += [RouteRef(value.split(":", 1)[0], f"routing.models.{pattern}")
                       for pattern, value in settings.routing.models.items() if ":" in value]
        return cls(tuple(routes), default, settings.model_provider)


@dataclass
class CheckedConfig:
    """A config that passed the check: its layers, and (once built) its typed settings."""

    found: Gathered
    routes: ConfiguredRoutes
    _settings: "Settings | None" = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def merged(self) -> dict[str, Any]:
        return self.found.merged

    def source_of(self, key: str) -> str:
        """The file or variable that set ``key`` (dotted), e.g. ``/home/me/lynkr.toml`` or ``env TIER_SIMPLE``."""
        parts = key.split(".")
        for i in range(len(parts), 0, -1):
            found = self.found.sources.get(".".join(parts[:i]))
            if found is not None:
                return found
        return "defaults"

    def settings(self) -> "Settings":
        """The typed settings of exactly the data that was checked (validated here at most once)."""
        with self._lock:
            if self._settings is None:
                self._settings = validate(self.found.merged, self.found.sources)
            return self._settings

    def provider_tables(self) -> dict[str, dict[str, Any]]:
        """``[providers.<id>]`` as the provider registry reads them (``session.provider_overrides``)."""
        tables = self.found.merged.get("providers") or {}
        return {pid: {k: v for k, v in entry.items() if v is not None and k != "model"}
                for pid, entry in tables.items() if isinstance(entry, dict)}


def check_config(data_home: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> CheckedConfig:
    """The config ``lynkr run`` will use, checked; ``ConfigError`` names the key and its source."""
    env = os.environ if env is None else env
    found = gather(env=env, cwd=cwd)
    if not found.merged:
        return CheckedConfig(found, ConfiguredRoutes())
    fingerprint = _fingerprint(found.merged)
    store = data_home / CHECKED_FILE
    known = _read(store)
    entry = known.get(fingerprint)
    if entry is not None:
        try:
            return CheckedConfig(found, ConfiguredRoutes.from_json(entry))
        except (KeyError, TypeError, ValueError):
            pass  # an entry of another shape: validate again
    settings = validate(found.merged, found.sources)  # raises ConfigError
    checked = CheckedConfig(found, ConfiguredRoutes.of(settings), settings)
    known.pop(fingerprint, None)
    known[fingerprint] = checked.routes.to_json()
    _write(store, dict(list(known.items())[-_KEEP:]))
    return checked


def _fingerprint(merged: Mapping[str, Any]) -> str:
    from lynkr_cli import __version__

    text = json.dumps([__version__, merged], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, Any]) -> None:
    """Best effort, atomic (a concurrent run reads the old or the new file, never half of one)."""
    import secrets

    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        from lynkr_cli.paths import ensure_private_dir

        ensure_private_dir(path.parent)  # LYNKR_HOME: 0700, whoever makes it first
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(data))
        os.replace(partial, path)
    except OSError:
        try:
            os.unlink(partial)
        except OSError:
            pass
