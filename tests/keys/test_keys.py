"""User keys: stored hashed, admitted only when active, never forwarded, limits in the database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from lynkr_cli.callers import Caller, set_current_caller
from lynkr_cli.errors import UsageError
from lynkr_cli.keys.auth import KeyAuthenticator, KeyDirectory
from lynkr_cli.keys.limits import KeyBudgetExceeded, KeyLimits, KeyRateLimited, LimitsUnavailable
from lynkr_cli.keys.store import KeyStore
from lynkr_cli.ledger import RequestRecord
from lynkr_cli.proxy.auth import ClientKeyAuthenticator, TokenAuthenticator
from lynkr_cli.routing.decision import RouteDecision
from lynkr_cli.storage import LEDGER, Storage

SERVE_TOKEN = "serve-token-0123456789abcdefghijklmnopqrstu"


def scope(path: str = "/v1/messages", **headers: str) -> dict:
    return {"type": "http", "path": path, "method": "POST",
            "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(Storage(None, home=tmp_path).database(LEDGER))


def test_only_the_hash_is_stored_and_names_are_checked(store: KeyStore):
    info, token = store.create("alice", budget_daily_usd=5, models=["claude-*"])
    rows = store.db.query("SELECT * FROM api_keys")
    assert token not in repr(rows) and info.hash in repr(rows) and token.startswith("sk-lynkr-") and len(token) == 52
    with pytest.raises(UsageError, match="exists already"):
        store.create("alice")
    for bad in ("", "with space", "new\nline", "\x1b[31m", "x" * 65):
        with pytest.raises(UsageError):
            store.create(bad)


def test_a_key_is_admitted_in_the_path_a_header_or_as_the_api_key(store: KeyStore):
    _, token = store.create("alice")
    auth = KeyAuthenticator(KeyDirectory(store), TokenAuthenticator(SERVE_TOKEN))
    in_path = auth.authenticate(scope(f"/s/{token}/v1/messages"))
    assert in_path is not None and in_path.path == "/v1/messages" and in_path.caller.key == "alice"
    for headers in ({"x_lynkr_token": token}, {"authorization": f"Bearer {token}"}, {"x_api_key": token}):
        admitted = auth.authenticate(scope(**headers))
        assert admitted is not None and admitted.caller.key == "alice"
        assert set(admitted.drop) >= {name.replace("_", "-").encode() for name in headers}  # never forwarded
    token_caller = auth.authenticate(scope(f"/s/{SERVE_TOKEN}/v1/messages"))
    assert token_caller is not None and token_caller.caller.key is None  # the serve token still works


def test_unknown_revoked_or_rotated_keys_are_refused_and_never_passed_on(store: KeyStore):
    _, old = store.create("bob")
    _, other = store.create("carol")
    directory = KeyDirectory(store)
    # Without a serve token any Authorization would be admitted as the client's own key and sent upstream.
    auth = KeyAuthenticator(directory, ClientKeyAuthenticator())
    assert auth.authenticate(scope(authorization="Bearer sk-ant-clients-own-key")) is not None
    assert auth.authenticate(scope(authorization="Bearer sk-lynkr-" + "x" * 43)) is None
    assert auth.authenticate(scope(x_api_key=old, x_lynkr_token=other)) is None  # two keys at once
    _, new = store.rotate("bob")
    store.revoke("carol")
    directory.refresh()
    assert auth.authenticate(scope(x_api_key=old)) is None
    assert auth.authenticate(scope(x_api_key=other)) is None
    assert auth.authenticate(scope(x_api_key=new)).caller.key == "bob"  # type: ignore[union-attr]


def _check(limits: KeyLimits, name: str) -> None:
    async def run() -> None:
        set_current_caller(Caller(f"key:{name}", held_keys=True, key=name))
        await limits.check(None, RouteDecision("anthropic", "claude-sonnet-4-6"))  # type: ignore[arg-type]

    asyncio.run(run())


def _cost(name: str, usd: float) -> RequestRecord:
    return RequestRecord(session_id="s", started_at=time.time(), route="/v1/messages", cost_usd=usd, key_name=name)


def test_limits_when_the_database_is_down_open_or_closed(postgres_server, pg_url, tmp_path):
    storage = Storage(pg_url, home=tmp_path)
    store = KeyStore(storage.database(LEDGER))
    store.create("dora", rpm=3)
    store.create("erin", budget_daily_usd=1.0)
    directory = KeyDirectory(store)
    opened = KeyLimits(directory, store.db, "open")
    closed = KeyLimits(directory, store.db, "closed")
    if time.time() % 60 > 52:  # the rate is per UTC minute: stay inside one (the test takes ~5 s)
        time.sleep(61 - time.time() % 60)
    _check(opened, "dora")  # request 1 of the minute, counted in the database
    _check(opened, "erin")  # $0 spent, read from the database
    postgres_server.stop()
    try:
        with pytest.raises(LimitsUnavailable, match="database"):
            _check(closed, "dora")
        _check(opened, "dora")  # 2 and 3: counted by this replica from the last figure it read
        _check(opened, "dora")
        with pytest.raises(KeyRateLimited, match="more than 3 requests"):
            _check(opened, "dora")
        opened.observe(_cost("erin", 0.6))
        _check(opened, "erin")
        opened.observe(_cost("erin", 0.5))
        with pytest.raises(KeyBudgetExceeded, match=r"daily budget of \$1.00 \(\$1.10 spent\)"):
            _check(opened, "erin")
    finally:
        postgres_server.start()
    storage.close()
