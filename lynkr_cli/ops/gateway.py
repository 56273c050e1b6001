"""The team gateway around ``lynkr serve``'s proxy: storage, user keys, metrics, health and reload.

``Gateway.open`` connects the storage (migrating it on start, under a lock, so replicas starting
together do not race) and builds what outlives a config reload: the ``Team`` (keys, limits, shared
cache and turns) and the metrics. ``app`` wraps a proxy factory into the ASGI app the server runs:
``OpsEndpoints`` (``/healthz``, ``/readyz``, ``/metrics``) in front of ``Reloadable`` (SIGHUP).
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable

from lynkr_cli.errors import LynkrError

if TYPE_CHECKING:
    from lynkr_cli.ledger import Ledger
    from lynkr_cli.ops.metrics import Metrics
    from lynkr_cli.ops.reload import Reloadable
    from lynkr_cli.storage import Storage
    from lynkr_cli.team import Team


class Gateway:
    def __init__(self, storage: Storage, team: Team, metrics: Metrics) -> None:
        self.storage = storage
        self.team = team
        self.metrics = metrics
        self.stopping = False
        self.reloadable: Reloadable | None = None

    @classmethod
    def open(cls, settings: Any, storage_url: str | None = None) -> "Gateway":
        """Connect and migrate the storage; a database that cannot be reached is one clear error."""
        from lynkr_cli.ops.metrics import Metrics
        from lynkr_cli.storage import Storage
        from lynkr_cli.storage.db import DatabaseUnavailable
        from lynkr_cli.team import Team

        storage = Storage.from_settings(settings, storage_url)
        try:
            storage.migrate()
            team = Team(storage)
        except DatabaseUnavailable as exc:
            storage.close()
            raise LynkrError(f"{exc} (check [storage] url / --storage, and that the server is up)") from None
        metrics = Metrics()
        team.listeners.append(metrics.observe)
        gateway = cls(storage, team, metrics)
        metrics.gauge("lynkr_database_up", "1 while the shared database answers (always 1 on SQLite)",
                      lambda: 1.0 if team.ready else 0.0)
        metrics.gauge("lynkr_keys_active", "User keys this replica accepts", lambda: float(len(team.keys)))
        metrics.gauge("lynkr_config_generation", "Configurations loaded (1 + reloads)",
                      lambda: float(gateway.reloadable.generation if gateway.reloadable else 1))
        return gateway

    def watch(self, ledger: Ledger) -> None:
        """The serve process's ledger: key limits learn when spend is written, metrics read the spool."""
        ledger.commit_listeners.append(self.team.limits.committed)
        self.metrics.gauge("lynkr_ledger_spooled_rows", "Ledger rows waiting on local disk for the database",
                           lambda: float(ledger.spooled))

    def app(self, build_proxy: Callable[[], Any], token: str | None, hosts: tuple[str, ...] = (),
            origins: tuple[str, ...] = ()) -> Any:
        """The ASGI app for the server thread: ops endpoints around the reloadable proxy. ``hosts`` and
        ``origins``: the names and web origins the proxy's own guard accepts (``proxy/guard.py``)."""
        from lynkr_cli.ops.endpoints import OpsEndpoints
        from lynkr_cli.ops.reload import Reloadable
        from lynkr_cli.proxy.guard import OriginGuard

        self.reloadable = Reloadable(build_proxy)
        self.metrics.gauge("lynkr_requests_in_flight", "Requests being answered now",
                           lambda: float(self.reloadable.in_flight if self.reloadable else 0))
        return OpsEndpoints(self.reloadable, self.metrics, self.not_ready, token, OriginGuard(hosts, origins))

    def not_ready(self) -> str | None:
        if self.stopping:
            return "shutting down"
        if not self.team.ready:
            return f"database {self.storage.label} unreachable"
        return None

    def reload(self) -> Future[str]:
        if self.reloadable is None:
            raise LynkrError("the proxy is not serving yet")
        return self.reloadable.reload_threadsafe()

    def close(self) -> None:
        self.team.close()
        self.storage.close()
