"""PostgreSQL stopped and restarted under load: the replicas keep answering, say they are not ready,
spool their ledger rows, and replay them afterwards: every request has exactly one row."""

from __future__ import annotations

import itertools
import threading
import time

import httpx
import pytest

from tests.team.conftest import TOKEN, Replica, db_query, lynkr_keys, messages, wait_for


@pytest.fixture
def pair(postgres_server, upstream, tmp_path):  # type: ignore[no-untyped-def]
    url = postgres_server.url(postgres_server.create_database())
    started = [Replica(name, tmp_path, url, upstream.url) for name in ("x", "y")]
    try:
        yield url, started
    finally:
        for replica in started:
            replica.terminate()
        for replica in started:
            replica.stop()


def _spooled(replica: Replica) -> float:
    text = httpx.get(f"{replica.url}/metrics", headers={"authorization": f"Bearer {TOKEN}"}).text
    return float(next(line.split()[-1] for line in text.splitlines() if line.startswith("lynkr_ledger_spooled_rows")))


def test_a_database_restart_under_load_loses_and_duplicates_no_row(pair, postgres_server, tmp_path):
    url, replicas = pair
    token = lynkr_keys(url, tmp_path, "create", "erin", "--budget-daily", "1000", "--json")["token"]
    for replica in replicas:
        wait_for(lambda r=replica: messages(r.base(token), f"warm {r.name}").status_code == 200, timeout=5)
    answered: list[int] = []
    failures: list[str] = []
    stop = threading.Event()
    counter = itertools.count()

    def client(n: int) -> None:
        while not stop.is_set():
            replica = replicas[n % 2]
            i = next(counter)
            try:
                response = messages(replica.base(token), f"load {n} {i}", stream=i % 2 == 0)
            except httpx.HTTPError as exc:
                failures.append(f"{replica.name}: {exc}")
                continue
            if response.status_code == 200 and ("message_stop" in response.text or "content" in response.text):
                answered.append(i)
            else:
                failures.append(f"{replica.name}: {response.status_code} {response.text[:200]}")

    clients = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in clients:
        thread.start()
    try:
        time.sleep(1.0)
        before = len(answered)
        postgres_server.stop()  # down for ~3 s
        not_ready = [httpx.get(f"{r.url}/readyz") for r in replicas]
        time.sleep(3.0)
        during = len(answered)
        postgres_server.start()
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in clients:
            thread.join(60)
        if postgres_server.log() and "ready to accept" not in postgres_server.log()[-2000:]:
            postgres_server.start()
    assert not failures, failures[:5]
    assert during - before > 10  # requests kept being answered while the database was down
    assert [r.status_code for r in not_ready] == [503, 503] and "unreachable" in not_ready[0].text
    for replica in replicas:
        wait_for(lambda r=replica: _spooled(r) == 0.0, timeout=30)
        assert httpx.get(f"{replica.url}/readyz").status_code == 200
    rows = db_query(url, "SELECT COUNT(*), COUNT(DISTINCT uid) FROM requests WHERE key_name = 'erin' AND route = '/v1/messages'")
    assert rows == [(len(answered) + 2, len(answered) + 2)]  # every answer once (and the two warm-ups)
    spent = db_query(url, "SELECT SUM(cost_usd) FROM requests WHERE key_name = 'erin'")[0][0]
    counted = db_query(url, "SELECT usd, requests FROM spend WHERE scope = 'key:erin' AND period LIKE 'd:%%'")
    assert counted and abs(counted[0][0] - spent) < 1e-9 and counted[0][1] == len(answered) + 2
