"""Building the proxy: the one place that turns settings and a command's options into a
``ProxyContext`` and its app, for ``lynkr run`` and ``lynkr serve`` alike.

Dependencies point one way: the commands (``session.py``, ``cli/serve.py``) say *what* to serve
(which session, token, ledger, options), this module says *how* the parts fit (providers, router,
pipeline, cache, prices, loop guard, status line, a team's keys), and the parts never build each
other. Everything here runs on the proxy's own thread, while the agent boots: what is not needed to
answer the first request (the price catalogue, the tokenizer, housekeeping) starts beside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from lynkr_cli.cache.service import ResponseCache
    from lynkr_cli.ledger import Ledger
    from lynkr_cli.providers.base import ProviderSet
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.front import ProxyFront
    from lynkr_cli.routing.static import StaticRouter
    from lynkr_cli.settings import ProviderSettings, Settings
    from lynkr_cli.storage import Database
    from lynkr_cli.team import Team


@dataclass(frozen=True)
class ProxyOptions:
    """What the command line asks of the proxy beyond the configuration."""

    model: str | None = None  # --model PROVIDER:MODEL: every request to one model, no tiers
    no_optimize: bool = False  # --no-optimize: no stages at all
    stages: tuple[str, ...] = ()  # --stage NAME=on|off
    cache: str | None = None  # --cache off|exact|semantic, over cache.mode
    allowed_hosts: tuple[str, ...] = ()  # host names clients may use besides serve.allowed_hosts
    serving: bool = False  # lynkr serve: no agent boots beside it, and it stays up for weeks


@dataclass(frozen=True)
class ProxySetup:
    """Whom the proxy serves: its session, its token, its ledger, the Anthropic upstream the user's
    environment pointed at, and (``lynkr serve``) the team it shares keys and storage with."""

    session_id: str
    token: str | None
    ledger: Ledger | None
    upstream: str | None = None
    team: Team | None = None


def build_app(settings: Settings, options: ProxyOptions, setup: ProxySetup) -> ProxyFront:
    """The ASGI app of a proxy built by ``build_context``."""
    from lynkr_cli.proxy.app import create_app

    return create_app(build_context(settings, options, setup))


def build_context(settings: Settings, options: ProxyOptions, setup: ProxySetup) -> ProxyContext:
    """A proxy's context from its settings and options, every part in place."""
    from lynkr_cli.paths import data_home
    from lynkr_cli.pipeline.build import build_pipeline
    from lynkr_cli.pipeline.config import with_switches
    from lynkr_cli.proxy.context import DEFAULT_ANTHROPIC_UPSTREAM, ProxyContext
    from lynkr_cli.proxy.limits import BodyBudget

    pipeline_config = with_switches(settings.pipeline, options.no_optimize, list(options.stages))
    ctx = ProxyContext(
        session_id=setup.session_id,
        anthropic_upstream=setup.upstream or settings.anthropic_base_url or DEFAULT_ANTHROPIC_UPSTREAM,
        ledger=setup.ledger,
        token=setup.token,
        max_body_bytes=settings.max_body_bytes,
        allowed_hosts=tuple(settings.serve.allowed_hosts) + options.allowed_hosts,
        allowed_origins=tuple(settings.serve.allowed_origins),
        body_timeout=settings.serve.body_timeout_s,
        bodies=BodyBudget(settings.serve.body_budget_mb * 1024 * 1024),
        pipeline=build_pipeline(pipeline_config, decisions_dir=data_home() / "pipeline"),
    )
    ctx.providers = providers(settings, ctx.anthropic_upstream)
    default = static_router(settings, options.model)
    ctx.router = default
    cache = _cache(settings, options, setup.team)
    if cache is not None:
        ctx.cache = cache
    _background(settings, options, setup.team)
    if options.model is None:  # --model: one model for everything, no tiers
        _use_tier_router(ctx, settings, default, setup)
    _watch(ctx, settings, setup.session_id)
    if setup.team is not None:
        setup.team.equip(ctx)
    return ctx


def provider_overrides(providers: Mapping[str, ProviderSettings]) -> dict[str, dict[str, object]]:
    """``[providers.<id>]`` settings as the provider registry reads them (secrets unwrapped)."""
    out: dict[str, dict[str, object]] = {}
    for provider_id, entry in providers.items():
        values = {k: v for k, v in entry.model_dump().items() if v is not None and k != "model"}
        if entry.api_key is not None:
            values["api_key"] = entry.api_key.get_secret_value()
        out[provider_id] = values
    return out


def providers(settings: Settings, anthropic_upstream: str) -> ProviderSet:
    """The environment's providers and ``[providers.*]``; ``anthropic`` is the session's upstream
    (``ANTHROPIC_BASE_URL`` or ``--upstream`` win over the file)."""
    from lynkr_cli.providers.base import ProviderSet
    from lynkr_cli.proxy.context import DEFAULT_ANTHROPIC_UPSTREAM

    overrides = provider_overrides(settings.providers)
    anthropic = overrides.setdefault("anthropic", {})
    if anthropic_upstream != DEFAULT_ANTHROPIC_UPSTREAM or not anthropic.get("base_url"):
        anthropic["base_url"] = anthropic_upstream
    return ProviderSet(os.environ, overrides)


def static_router(settings: Settings, model: str | None) -> StaticRouter:
    """``--model`` for everything, else Lynkr's ``MODEL_PROVIDER``, else the client's own upstream."""
    from lynkr_cli.providers.base import parse_model_ref
    from lynkr_cli.routing.static import StaticRouter

    if model:
        ref = parse_model_ref(model)
        return StaticRouter(ref.provider, ref.model)
    default = settings.model_provider
    default_model = settings.providers[default].model if default and default in settings.providers else None
    return StaticRouter(default_provider=default, default_model=default_model)


def _use_tier_router(ctx: ProxyContext, settings: Settings, default: StaticRouter, setup: ProxySetup) -> None:
    """Tiers or a fallback chain configured: the tier router wraps the default route (issue 7)."""
    from lynkr_cli.routing.proxy import build_tier_router

    ledger_path = setup.ledger.path if setup.ledger is not None else None
    turns = setup.team.turns() if setup.team is not None else None
    router = build_tier_router(settings, ledger_path, default, turns)
    if router.active:
        ctx.router = router
        ctx.listeners.append(router.observe)


def _cache(settings: Settings, options: ProxyOptions, team: Team | None) -> ResponseCache | None:
    """The response cache, or None when off: then none of the cache's modules is imported (~70 ms of
    CPU compiling the guard's patterns while the agent boots)."""
    mode = options.cache or settings.cache.mode
    if mode == "off":
        return None
    from lynkr_cli.cache.service import cache_from_settings

    return cache_from_settings(settings.cache, mode, _cache_database(settings, team))


def _cache_database(settings: Settings, team: Team | None) -> Database | None:
    """Where the response cache lives: the team database (``lynkr serve``'s team, or ``[storage] url``
    for ``lynkr run``), else None for the SQLite file. A database that cannot be reached when a run
    starts leaves that run on the file (the cache fails open; the reason goes to lynkr.log)."""
    if team is not None:
        return team.cache_database()
    if settings.storage.url is None:
        return None
    from lynkr_cli.storage import CACHE, DatabaseUnavailable, Storage

    try:
        return Storage.from_settings(settings).database(CACHE)
    except DatabaseUnavailable as exc:
        import logging

        logging.getLogger("lynkr.cache").warning("response cache on the local file: %s", exc)
        return None


def _background(settings: Settings, options: ProxyOptions, team: Team | None) -> None:
    """Housekeeping off the start-up path (a daemon thread, the agent already runs); ``lynkr serve``
    (no agent booting beside it, up for weeks) warms up at once and keeps re-checking."""
    from lynkr_cli import background, housekeeping
    from lynkr_cli.paths import data_home

    if options.serving:
        background.open_now()
    if team is None or not team.built:  # once per process, not again at each config reload
        housekeeping.start(data_home(), settings.retention_days, repeat=options.serving)


def _watch(ctx: ProxyContext, settings: Settings, session_id: str) -> None:
    """Prices from the config, the loop guard, and the status line's live state (issue 18)."""
    import threading

    from lynkr_cli.ledger.pricing import PriceBook
    from lynkr_cli.paths import data_home
    from lynkr_cli.proxy.loop_guard import LoopGuard
    from lynkr_cli.statusline.board import StatusBoard

    ctx.prices = PriceBook.from_config(settings.prices)
    # The catalogue (~150 ms of CPU) loads beside the proxy, not before it serves: the agent's first
    # request must not wait for it, and its loading never holds the interpreter lock for more than a
    # few ms (measured), so a request served meanwhile is slowed, not stopped.
    threading.Thread(target=ctx.prices.warm, name="lynkr-prices", daemon=True).start()
    ctx.loop_guard = LoopGuard(settings.routing.loop_guard, settings.routing.loop_guard_repeats)
    board = StatusBoard(str(data_home()), settings.statusline.mode)
    if session_id != "serve":  # lynkr serve: one state per client session, started by its first request
        board.begin(session_id)
    ctx.listeners.append(board.observe)
