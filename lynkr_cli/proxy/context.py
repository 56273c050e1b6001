"""What every request handler of one proxy instance shares: session, ledger, upstream, HTTP client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from lynkr_cli import background
from lynkr_cli.callers import current_caller
from lynkr_cli.ledger.pricing import PriceBook
from lynkr_cli.proxy.components import NoCache, NoLimits
from lynkr_cli.proxy.limits import BodyBudget
from lynkr_cli.proxy.loop_guard import LoopGuard
from lynkr_cli.routing.static import StaticRouter

if TYPE_CHECKING:
    from lynkr_cli.ledger import Ledger, RequestRecord
    from lynkr_cli.pipeline import Pipeline
    from lynkr_cli.providers.base import ProviderSet
    from lynkr_cli.proxy.auth import Authenticator
    from lynkr_cli.proxy.components import Limits, ResponseCache, Router
    from lynkr_cli.proxy.upstream import Transport, UpstreamClient

DEFAULT_ANTHROPIC_UPSTREAM = "https://api.anthropic.com"
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024  # the Anthropic Messages API's own request limit


@dataclass
class ProxyContext:
    """Per-proxy state. ``client`` is the one shared upstream client, opened at server start."""

    session_id: str
    anthropic_upstream: str = DEFAULT_ANTHROPIC_UPSTREAM
    ledger: Ledger | None = None
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # The front's origin guard (proxy/guard.py): names besides IP literals and localhost, web origins.
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    # Bounds under abuse (proxy/intake.py, proxy/limits.py): seconds a body may stall, bytes held.
    body_timeout: float | None = 30.0
    bodies: BodyBudget = field(default_factory=BodyBudget)
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    client: UpstreamClient | None = None
    # Direct connections' transport (proxy/upstream.py); None: lynkr's own (proxy/wire.py).
    transport: Transport | None = None
    listeners: list[Callable[[RequestRecord], None]] = field(default_factory=list)
    pipeline: Pipeline | None = None  # issue 5: optimization stages; None forwards requests unchanged
    # The request path's parts (proxy/components.py); the defaults change nothing.
    providers: ProviderSet | None = None  # None: built from os.environ at first use
    router: Router = field(default_factory=StaticRouter)
    cache: ResponseCache = field(default_factory=NoCache)
    prices: PriceBook = field(default_factory=PriceBook)  # the catalogue and the config's [prices] table
    loop_guard: LoopGuard = field(default_factory=LoopGuard)  # identical tool calls in a row (loop_guard.py)
    limits: Limits = field(default_factory=NoLimits)
    auth: Authenticator | None = None  # None: the token (``proxy/auth.py:authenticator_for``)
    def provider_set(self) -> ProviderSet:
        """The providers; ``anthropic`` defaults to this proxy's Anthropic upstream."""
        if self.providers is None:
            import os

            from lynkr_cli.providers.base import ProviderSet

            self.providers = ProviderSet(os.environ, {"anthropic": {"base_url": self.anthropic_upstream}})
        return self.providers

    def record(self, record: RequestRecord) -> None:
        """Send a finished request to the ledger and to any live listener (status line, tests)."""
        background.answered()  # the first answer lets deferred CPU work start (lynkr_cli/background.py)
        caller = current_caller()
        if caller is not None and record.key_name is None:
            record.key_name = caller.key  # the user key's name, never the key
        if self.ledger is not None:
            self.ledger.record_request(record)
        for listener in self.listeners:
            listener(record)
