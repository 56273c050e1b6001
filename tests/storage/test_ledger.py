"""The ledger on either engine: same rows back, key spend counted once, and the spool across an outage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lynkr_cli.ledger import Ledger, RequestRecord, SessionRecord
from lynkr_cli.ledger import rows as ledger_rows
from lynkr_cli.ledger.spend import periods
from lynkr_cli.storage import LEDGER, Storage
from tests.conftest import REPO_ROOT


def _session(sid: str) -> SessionRecord:
    return SessionRecord(id=sid, agent="claude", argv=["claude", "-p", "hi"], cwd="/w", started_at=1000.0,
                         pid=os.getpid(), lynkr_version="test", upstream="https://api.anthropic.com")


def _request(sid: str, i: int, key: str | None = None, cost: float | None = 0.25) -> RequestRecord:
    return RequestRecord(session_id=sid, started_at=1001.0 + i, route="/v1/messages", model_used="claude-sonnet-4-6",
                         status=200, latency_ms=12.5, input_tokens=10 + i, output_tokens=None, cost_usd=cost,
                         details={"i": i}, key_name=key)


def _write(ledger: Ledger, sid: str, n: int, key: str | None = None) -> None:
    ledger.start_session(_session(sid))
    for i in range(n):
        ledger.record_request(_request(sid, i, key))
    ledger.finish_session(sid, 0)
    assert ledger.flush()


def _spend(storage: Storage, scope: str) -> dict[str, tuple[float, int]]:
    found = storage.database(LEDGER).query("SELECT period, usd, requests FROM spend WHERE scope = ?", (scope,))
    return {period: (round(usd, 6), n) for period, usd, n in found}


def test_both_engines_give_the_same_rows_back(tmp_path: Path, pg_url: str):
    results = []
    for url in (None, pg_url):
        storage = Storage(url, home=tmp_path / ("pg" if url else "sqlite"))
        ledger = Ledger(storage=storage)
        _write(ledger, "s1", 3, key="alice")
        ledger.close()
        reader = ledger.reader()
        session = reader.session("s1")
        session.pop("ended_at")
        results.append((session, reader.requests("s1"), reader.sessions(last=5)[0]["id"], reader.session_ids("s")))
        storage.close()
    assert results[0] == results[1]
    session, requests, _, _ = results[0]
    assert session["status"] == "finished" and session["argv"] == ["claude", "-p", "hi"]
    assert [r["input_tokens"] for r in requests] == [10, 11, 12]
    assert requests[0]["key_name"] == "alice" and requests[0]["details"] == {"i": 0}


def test_key_spend_is_counted_in_the_same_transaction_as_the_row(storage: Storage):
    ledger = Ledger(storage=storage)
    _write(ledger, "s1", 4, key="alice")
    _write(ledger, "s2", 2)  # no key: no counter
    ledger.close()
    day, month = periods(1001.0)
    assert _spend(storage, "key:alice") == {day: (1.0, 4), month: (1.0, 4)}
    assert storage.database(LEDGER).query("SELECT COUNT(*) FROM spend") == [(2,)]


def test_writing_a_batch_twice_adds_nothing(storage: Storage):
    storage.migrate()
    db = storage.database(LEDGER)
    items = [ledger_rows.to_item("session", _session("s1"))] + [
        ledger_rows.to_item("request", _request("s1", i, "bob")) for i in range(3)]
    for _ in range(2):  # a commit in doubt, written again from the spool
        with db.transaction() as tx:
            ledger_rows.write(tx, items)
    assert db.query("SELECT COUNT(*) FROM requests") == [(3,)]
    assert _spend(storage, "key:bob")[periods(1001.0)[0]] == (0.75, 3)


def _wait_for(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_rows_written_while_postgresql_is_down_are_spooled_then_replayed_once(postgres_server, pg_url, tmp_path):
    storage = Storage(pg_url, home=tmp_path)
    ledger = Ledger(storage=storage)
    _write(ledger, "before", 5, key="carol")
    postgres_server.stop()
    try:
        ledger.start_session(_session("during"))
        for i in range(50):
            ledger.record_request(_request("during", i, "carol"))
        assert ledger.flush()
        assert ledger.spooled == 51 and list((tmp_path / "spool").glob("*.sqlite3"))
    finally:
        postgres_server.start()
    _wait_for(lambda: ledger.spooled == 0)
    ledger.close()
    db = storage.database(LEDGER)
    counts = dict(db.query("SELECT session_id, COUNT(*) FROM requests GROUP BY session_id"))
    assert counts == {"before": 5, "during": 50}
    assert _spend(storage, "key:carol")[periods(1001.0)[0]] == (13.75, 55)
    assert not list((tmp_path / "spool").glob("*.sqlite3"))  # an empty spool is removed
    storage.close()


def test_a_spool_left_by_a_dead_process_is_adopted_and_replayed(postgres_server, pg_url, tmp_path):
    Storage(pg_url, home=tmp_path).migrate()
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from pathlib import Path
        from lynkr_cli.ledger import Ledger, RequestRecord, SessionRecord
        from lynkr_cli.storage import Storage
        ledger = Ledger(storage=Storage({pg_url!r}, home=Path({str(tmp_path)!r})))
        ledger.flush()
        print("ready", flush=True)
        sys.stdin.readline()  # the database is down now
        ledger.start_session(SessionRecord(id="dead", agent="x", argv=[], cwd=".", started_at=1.0, pid=1, lynkr_version="t"))
        for i in range(20):
            ledger.record_request(RequestRecord(session_id="dead", started_at=2.0 + i, route="/v1/messages"))
        ledger.flush()
        os._exit(0)  # dies with its spool on disk
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    postgres_server.stop()
    try:
        child.communicate("go\n", timeout=60)
        assert child.returncode == 0
    finally:
        postgres_server.start()
    assert len(list((tmp_path / "spool").glob("*.sqlite3"))) == 1
    storage = Storage(pg_url, home=tmp_path)
    ledger = Ledger(storage=storage)  # another process on this machine starts: adopts and replays
    _wait_for(lambda: storage.database(LEDGER).query("SELECT COUNT(*) FROM requests WHERE session_id = 'dead'") == [(20,)])
    ledger.close()
    assert not list((tmp_path / "spool").glob("*.sqlite3"))
    storage.close()


@pytest.mark.parametrize("bound", [30])
def test_the_spool_is_bounded(postgres_server, pg_url, tmp_path, bound):
    storage = Storage(pg_url, home=tmp_path, spool_max_rows=bound)
    ledger = Ledger(storage=storage)
    ledger.flush()
    postgres_server.stop()
    try:
        ledger.start_session(_session("s"))
        for i in range(100):
            ledger.record_request(_request("s", i))
        assert ledger.flush()
        assert ledger.spooled == bound
    finally:
        postgres_server.start()
    _wait_for(lambda: ledger.spooled == 0)
    ledger.close()
    assert storage.database(LEDGER).query("SELECT COUNT(*) FROM requests") == [(bound - 1,)]
    storage.close()


def test_lynkr_report_prints_the_same_from_either_store(tmp_path: Path, pg_url: str):
    from tests.conftest import base_env, run_lynkr

    outputs = []
    for url in (None, pg_url):
        home = tmp_path / ("pg" if url else "sqlite")
        storage = Storage(url, home=home)
        ledger = Ledger(storage=storage)
        _write(ledger, "20261204-101010-abcdef", 3, key="alice")
        _write(ledger, "20261204-111111-fedcba", 2)
        ledger.close()
        storage.database(LEDGER).execute("UPDATE sessions SET ended_at = 1072.0")  # the same duration in both
        storage.close()
        env = base_env(home, COLUMNS="80")
        args = ["--storage", url] if url else []
        outputs.append([run_lynkr(["report", *flags, *args], env).stdout
                        for flags in (["--last", "2"], ["--all", "--json"])])
    sqlite_out, pg_out = ([_timeless(out) for out in run] for run in outputs)
    assert sqlite_out == pg_out
    assert "1m12s" in sqlite_out[0]
    assert [line["name"] for line in json.loads(sqlite_out[1])["by_key"]] == ["alice", "(no key)"]
    assert all(out.strip() for out in sqlite_out)


def _timeless(output: str) -> str:
    """A report's output without the moment it was made (``until`` in the JSON overviews)."""
    if not output.startswith(("{", "[")):
        return output
    data = json.loads(output)
    if isinstance(data, dict):
        data.pop("until", None)
    return json.dumps(data, sort_keys=True)
