"""The SQLite ledger: durable rows, several writers at once, user-only files, repair after a crash."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

from lynkr_cli.ledger import Ledger, LedgerReader, RequestRecord, SessionRecord
from lynkr_cli.ledger.store import repair_unfinished
from lynkr_cli.storage.sqlite import SQLiteDatabase
from tests.conftest import REPO_ROOT


def session(session_id: str, pid: int | None = None) -> SessionRecord:
    return SessionRecord(id=session_id, agent="claude", argv=["claude"], cwd="/tmp", started_at=1000.0,
                         pid=pid or os.getpid(), lynkr_version="test")


def test_rows_round_trip_with_unknown_usage_kept_unknown(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger(path)
    ledger.start_session(session("s1"))
    ledger.record_request(RequestRecord(session_id="s1", started_at=1001.0, route="/v1/messages", input_tokens=5,
                                        output_tokens=None, details={"note": "x"}))
    ledger.finish_session("s1", 0)
    ledger.flush()
    ledger.close()
    reader = LedgerReader(path)
    (row,) = reader.requests("s1")
    assert row["input_tokens"] == 5 and row["output_tokens"] is None and row["details"] == {"note": "x"}
    assert reader.session("s1")["status"] == "finished"


def test_files_are_private_to_the_user(tmp_path):
    path = tmp_path / "sub" / "ledger.sqlite3"
    ledger = Ledger(path)
    ledger.flush()
    ledger.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_concurrent_processes_lose_and_duplicate_nothing(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    writer = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from lynkr_cli.ledger import Ledger, RequestRecord, SessionRecord
        sid = sys.argv[1]
        ledger = Ledger(__import__("pathlib").Path({str(path)!r}))
        ledger.start_session(SessionRecord(id=sid, agent="x", argv=[], cwd=".", started_at=1.0, pid=1, lynkr_version="t"))
        for i in range(200):
            ledger.record_request(RequestRecord(session_id=sid, started_at=float(i), route="/v1/messages", input_tokens=i))
        ledger.finish_session(sid, 0)
        ledger.close()
    """)
    processes = [subprocess.Popen([sys.executable, "-c", writer, f"w{n}"]) for n in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in processes)
    reader = LedgerReader(path)
    for n in range(4):
        rows = reader.requests(f"w{n}")
        assert sorted(r["input_tokens"] for r in rows) == list(range(200))


def test_sessions_of_dead_processes_are_repaired_as_interrupted(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    db = SQLiteDatabase(path)
    db.execute("INSERT INTO sessions (id, agent, argv, cwd, started_at, status, pid) VALUES"
               " ('gone', 'claude', '[]', '/', 100.0, 'running', ?), ('alive', 'claude', '[]', '/', 100.0, 'running', ?)",
               (dead.pid, os.getpid()))
    db.execute("INSERT INTO requests (session_id, started_at, route, latency_ms) VALUES ('gone', 150.0, '/v1/messages', 2000)")
    assert repair_unfinished(db) == 1
    rows = dict(db.query("SELECT id, status FROM sessions"))
    assert rows == {"gone": "interrupted", "alive": "running"}
    assert db.query("SELECT ended_at FROM sessions WHERE id = 'gone'")[0][0] == 152.0
