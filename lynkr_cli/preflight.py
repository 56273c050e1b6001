"""What ``lynkr run`` checks before it starts the agent, so a run that cannot work never starts.

In order: the config (``config/check.py``: syntax, unknown keys, bad values, wrong types); every
route the run can take (``--model``, else tiers, fallback chain, routing slots and model maps, and
the default route): its provider must exist and, unless the agent brings its own credentials for
it, lynkr must hold its key; then who authenticates (``agents/logins.py``). Each failure is one
``LynkrError`` naming the key and where it was set (exit 2). All of it reads files and the
environment only: no pydantic on a config checked before, no network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from lynkr_cli.agents.base import Agent
from lynkr_cli.agents.logins import LoginPlan, RouteAuth, plan_login
from lynkr_cli.config.check import CheckedConfig, RouteRef, check_config
from lynkr_cli.errors import ConfigError, MissingCredential, UnknownProvider
from lynkr_cli.providers.base import ModelRef, parse_model_ref, resolve_provider


@dataclass(frozen=True)
class Preflight:
    config: CheckedConfig
    model_ref: ModelRef | None
    login: LoginPlan


def preflight(agent: Agent, args: list[str], model: str | None, data_home: Path,
              env: Mapping[str, str] | None = None) -> Preflight:
    """Check everything a run needs before its agent starts; raises the first problem found."""
    env = os.environ if env is None else env
    config = check_config(data_home, env)
    model_ref = parse_model_ref(model) if model else None  # malformed or unknown: exit 2
    routes = [route_auth(ref, agent, config, env) for ref in run_routes(agent, config, model_ref)]
    if agent.inbound is None:
        return Preflight(config, model_ref, LoginPlan(token_as_key=False))
    login = plan_login(routes, lambda: agent.has_own_login(args, env), agent.label, agent.login_hint)
    return Preflight(config, model_ref, login)


def run_routes(agent: Agent, config: CheckedConfig, model_ref: ModelRef | None) -> list[RouteRef]:
    """Every provider this run may send requests to, with the setting that names it."""
    if model_ref is not None:
        return [RouteRef(model_ref.provider, "--model")]
    configured = config.routes
    routes = list(configured.routes)
    if configured.default:
        if configured.model_provider:
            routes.append(RouteRef(configured.model_provider, "model_provider"))
        elif agent.home_provider:
            routes.append(RouteRef(agent.home_provider, "default"))
    return routes


def route_auth(ref: RouteRef, agent: Agent, config: CheckedConfig, env: Mapping[str, str]) -> RouteAuth:
    """The provider of ``ref`` resolved, with its credentials checked; names the setting on failure."""
    where = "" if ref.key in ("--model", "default") else f" ({ref.key} in {config.source_of(ref.key)})"
    try:
        provider = resolve_provider(ref.provider, env, config.provider_tables())
    except UnknownProvider as exc:
        if ref.key == "--model":
            raise
        raise ConfigError(f"invalid config: {ref.key} in {config.source_of(ref.key)}: {exc}") from None
    except MissingCredential as exc:  # a base URL the provider cannot do without
        raise MissingCredential(f"{exc}{where}") from None
    passes_through = agent.inbound is not None and agent.inbound in provider.client_auth_formats
    if not passes_through and (agent.inbound is not None or not provider.client_auth_formats):
        try:
            provider.check_credentials(agent.inbound or "")
        except MissingCredential as exc:
            raise MissingCredential(f"{exc}{where}") from None
    return RouteAuth(ref.provider, ref.key, passes_through, bool(provider.config.api_key))
