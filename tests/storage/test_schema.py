"""One schema for both engines: fresh databases, old ledger files, and replicas migrating at once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from lynkr_cli.ledger import LedgerReader
from lynkr_cli.storage import CACHE, LEDGER, Storage
from lynkr_cli.storage.schema import COMPONENTS

# The ledger file lynkr wrote before team storage existed (schema 1), with one session and request.
_V1 = LEDGER.statements(1, "sqlite")


def _old_ledger(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for statement in _V1:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO sessions (id, agent, argv, cwd, started_at, status, pid) VALUES"
                 " ('old', 'claude', '[\"claude\"]', '/', 100.0, 'finished', 1)")
    conn.execute("INSERT INTO requests (session_id, started_at, route, input_tokens, cost_usd) VALUES"
                 " ('old', 101.0, '/v1/messages', 42, 0.5)")
    conn.commit()
    conn.close()


def test_every_component_is_created_at_its_version(storage: Storage):
    changes = storage.migrate()
    assert changes == [(c.name, 0, c.version) for c in COMPONENTS]
    assert storage.migrate() == [(c.name, c.version, c.version) for c in COMPONENTS]  # idempotent
    for component in COMPONENTS:
        db = storage.database(component)
        assert db.query("SELECT COUNT(*) FROM " + ("requests" if component is LEDGER else "entries")) == [(0,)]


def test_an_old_ledger_file_is_migrated_and_keeps_its_rows(tmp_path: Path):
    home = tmp_path / "home"
    _old_ledger(home / "ledger.sqlite3")
    storage = Storage(None, home=home)
    assert storage.migrate()[0] == ("ledger", 1, LEDGER.version)
    reader = LedgerReader(home / "ledger.sqlite3")
    (request,) = reader.requests("old")
    assert request["input_tokens"] == 42 and request["key_name"] is None
    assert reader.session("old")["argv"] == ["claude"]
    reader.close()


def test_replicas_starting_together_migrate_once(pg_url: str, tmp_path: Path):
    results: list[object] = []

    def start() -> None:
        storage = Storage(pg_url, home=tmp_path)
        try:
            results.append(storage.migrate())
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            results.append(exc)
        finally:
            storage.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not [r for r in results if isinstance(r, Exception)], results
    created = [r for r in results if r == [(c.name, 0, c.version) for c in COMPONENTS]]
    assert len(created) == 1 and len(results) == 4  # the others waited for the lock and found nothing to do
    storage = Storage(pg_url, home=tmp_path)
    versions = dict(storage.database(CACHE).query("SELECT component, version FROM lynkr_schema"))
    assert versions == {c.name: c.version for c in COMPONENTS}
    storage.close()


def test_lynkr_doctor_checks_the_team_database(pg_url: str, tmp_path: Path):
    import json as jsonlib

    from tests.conftest import base_env, run_lynkr

    def team_check(url: str) -> dict:
        result = run_lynkr(["doctor", "--json"], base_env(tmp_path / "home", LYNKR_STORAGE__URL=url))
        return next(c for c in jsonlib.loads(result.stdout) if c["name"] == "team database")

    assert team_check(pg_url)["status"] == "warn"  # reachable, not migrated yet: doctor does not migrate
    Storage(pg_url, home=tmp_path).migrate()
    found = team_check(pg_url)
    assert found["status"] == "ok" and f"ledger {LEDGER.version}" in found["detail"]
    down = team_check(pg_url.rsplit(":", 1)[0] + ":1/nothing")
    assert down["status"] == "fail" and "PostgreSQL is up" in down["fix"]
