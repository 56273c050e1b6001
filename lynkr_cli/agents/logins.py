"""Who authenticates a run's requests: the agent with its own login, or lynkr with a key it holds.

Claude Code and Codex refuse to send anything without a credential of their own: a machine where
Claude Code never logged in prints ``Not logged in · Please run /login`` and exits, even when every
request would have gone to Ollama or OpenRouter with a key lynkr holds. So when lynkr can
authenticate every route of the run, the agent is given the session token as its API key (Claude
Code: ``ANTHROPIC_AUTH_TOKEN`` in its private settings file; Codex: the ``env_key`` variable of
lynkr's provider entry). The proxy accepts the token as the client's key and removes it before
routing, so it never reaches a provider (``proxy/auth.py``).

A route *passes through* when its provider forwards the agent's own credentials (Anthropic for
Claude Code, OpenAI for Codex): the user's subscription or key pays for it, exactly as without
lynkr. The token must not replace that login, so it is given only when

- no route passes through (``--model ollama:…``, tiers and fallback all on other providers), or
- the agent has no login of its own to replace, and lynkr can authenticate at least one route.

When a route passes through and neither the agent nor lynkr has a credential for it, ``lynkr run``
says so in one line before the agent starts, naming what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence


@dataclass(frozen=True)
class RouteAuth:
    """One route of a run as far as credentials go."""

    provider: str
    key: str  # the setting that names the route ("--model", "tiers.simple", …), for messages
    passes_through: bool  # the provider forwards the agent's own credentials
    lynkr_has_key: bool  # lynkr holds a key for it (config file or environment)


@dataclass(frozen=True)
class LoginPlan:
    token_as_key: bool
    warning: str | None = None


def plan_login(routes: Sequence[RouteAuth], own_login: Callable[[], bool], agent_label: str,
               login_hint: str) -> LoginPlan:
    """Whether to give the agent the session token as its key, and what to tell the user first.
    ``own_login`` (whether the agent has a login of its own) is asked only when a route passes through."""
    passing = [r for r in routes if r.passes_through]
    if not passing:
        return LoginPlan(token_as_key=True)
    has_login = own_login()
    held = [r for r in routes if not r.passes_through or r.lynkr_has_key]
    token = not has_login and bool(held)
    stranded = [r for r in passing if not r.lynkr_has_key]
    warning = None
    if stranded and not has_login:
        where = ", ".join(sorted({_describe(r) for r in stranded}))
        warning = (f"{agent_label} has no login or key of its own, and {where} go to {stranded[0].provider} with it: "
                   f"{login_hint}, or send them elsewhere (lynkr run --model PROVIDER:MODEL, or [tiers] in lynkr.toml)")
    return LoginPlan(token, warning)


def _describe(route: RouteAuth) -> str:
    if route.key == "--model":
        return "all requests (--model)"
    if route.key in ("default", "model_provider"):
        return "this run's requests"
    if route.key.startswith("routing.slots."):
        return f"requests of the {route.key.rsplit('.', 1)[1]} slot"
    return f"requests routed by {route.key}"


def any_set(env: Mapping[str, object], names: Sequence[str]) -> bool:
    """True when one of ``names`` holds a non-empty string in ``env`` (a settings ``env`` block or os.environ)."""
    return any(isinstance(env.get(name), str) and env.get(name) for name in names)
