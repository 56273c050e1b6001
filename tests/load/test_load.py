"""Many sessions at once: nothing lost, nothing counted twice, nothing left running.

Bounded in count and time, loopback only. Latency under load is measured by ``bench/load.py``; these
tests assert what must hold whatever the machine's speed.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import anthropic

from tests.conftest import FAKE_ANTHROPIC_KEY, base_env, ledger_rows, lynkr_command
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream
from tests.faults.conftest import start_proxy

CLIENTS = 16
PER_CLIENT = 6


def numbered_upstream():
    """Answers each request with its own number in the text and as the output token count, so a
    mixed-up stream or a row recorded against the wrong request shows."""

    def respond(request, body):
        n = int(body["messages"][-1]["content"].split()[-1])
        return reply_for(Turn(text=f"answer {n}", input_tokens=1000 + n, output_tokens=n), request)

    return FakeUpstream(messages_handler(respond))


def test_concurrent_streaming_sessions_through_one_proxy(tmp_path: Path):
    with numbered_upstream() as upstream, start_proxy(tmp_path, upstream.url) as proxy:
        baseline = proxy.task_count()
        failures: list[BaseException] = []

        def client(index: int) -> None:
            try:
                with anthropic.Anthropic(base_url=proxy.base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0) as sdk:
                    for turn in range(PER_CLIENT):
                        n = index * 100 + turn
                        with sdk.messages.stream(model="claude-opus-4-8", max_tokens=64,
                                                 messages=[{"role": "user", "content": f"request {n}"}]) as stream:
                            final = stream.get_final_message()
                        assert final.content[0].text == f"answer {n}" and final.usage.output_tokens == n
            except BaseException as exc:  # reported below, with the others
                failures.append(exc)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not failures, failures[:3]
        rows = proxy.rows()
        assert proxy.settle_tasks(baseline) <= baseline
    expected = {i * 100 + t for i in range(CLIENTS) for t in range(PER_CLIENT)}
    assert len(rows) == len(expected)
    assert {r["output_tokens"] for r in rows} == expected  # each row is its own request's, none twice
    assert all(r["input_tokens"] == 1000 + r["output_tokens"] and r["status"] == 200 and r["streamed"]
               for r in rows)


def test_concurrent_lynkr_runs_share_one_ledger(lynkr_home: Path, tmp_path: Path):
    agent = tmp_path / "agent.py"
    agent.write_text(
        "import sys, anthropic\n"
        "client = anthropic.Anthropic(max_retries=0)\n"
        f"for turn in range({PER_CLIENT}):\n"
        "    n = int(sys.argv[1]) * 100 + turn\n"
        "    text = client.messages.create(model='claude-opus-4-8', max_tokens=8,\n"
        "        messages=[{'role': 'user', 'content': f'request {n}'}]).content[0].text\n"
        "    assert text == f'answer {n}', text\n"
    )
    runs = 4
    with numbered_upstream() as upstream:
        env = base_env(lynkr_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        processes = [subprocess.Popen(lynkr_command("run", "--report", "none", "--", sys.executable, str(agent), str(i)),
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for i in range(runs)]
        results = [p.communicate(timeout=120) for p in processes]
    assert all(p.returncode == 0 for p in processes), results
    sessions, requests = ledger_rows(lynkr_home)
    assert len(sessions) == runs and all(s["status"] == "finished" and s["exit_code"] == 0 for s in sessions)
    assert Counter(r["session_id"] for r in requests) == {s["id"]: PER_CLIENT for s in sessions}
    by_session = {s["id"]: {r["output_tokens"] // 100 for r in requests if r["session_id"] == s["id"]}
                  for s in sessions}
    assert all(len(owners) == 1 for owners in by_session.values())  # no row landed in another session
    assert sorted(o for owners in by_session.values() for o in owners) == list(range(runs))


def test_memory_stays_bounded_over_many_requests(tmp_path: Path):
    """Hundreds of 80 KB requests through one proxy: resident memory grows by a bounded amount (a leak
    of the bodies would add ~80 KB per request)."""
    body_text = "x" * 80_000
    with numbered_upstream() as upstream, start_proxy(tmp_path, upstream.url) as proxy:
        with anthropic.Anthropic(base_url=proxy.base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0) as sdk:
            def batch(start: int, count: int) -> None:
                for n in range(start, start + count):
                    sdk.messages.create(model="claude-opus-4-8", max_tokens=8,
                                        messages=[{"role": "assistant", "content": body_text},
                                                  {"role": "user", "content": f"request {n}"}])
                    upstream.received.clear()  # the fake keeps what it receives; only lynkr is measured

            batch(0, 50)  # warm: caches, pools, allocator arenas
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            batch(50, 400)
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Counted after the proxy stopped: a row is recorded when its handler ends, which can be just after
    # the client has read the last byte; stopping waits for every handler.
    from lynkr_cli.ledger import LedgerReader

    reader = LedgerReader(proxy.ledger_path)
    try:
        assert len(reader.requests("test-session")) == 450
    finally:
        reader.close()
    assert (after - before) * 1024 < 400 * 80_000 / 4, f"grew {(after - before) / 1024:.1f} MB"


def test_concurrent_sessions_through_lynkr_serve(tmp_path: Path):
    """Editors and scripts sharing one ``lynkr serve``: each client's session gets exactly its rows."""
    from tests.cli.test_serve import Served

    home = tmp_path / "serve-home"
    with numbered_upstream() as upstream:
        served = Served(["--port", "0", "--upstream", upstream.url], base_env(home))
        failures: list[BaseException] = []

        def client(index: int) -> None:
            try:
                with anthropic.Anthropic(base_url=served.url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0,
                                         default_headers={"X-Claude-Code-Session-Id": f"editor-{index}"}) as sdk:
                    for turn in range(PER_CLIENT):
                        n = index * 100 + turn
                        with sdk.messages.stream(model="claude-opus-4-8", max_tokens=64,
                                                 messages=[{"role": "user", "content": f"request {n}"}]) as stream:
                            assert stream.get_final_message().content[0].text == f"answer {n}"
            except BaseException as exc:  # reported below
                failures.append(exc)

        try:
            threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
        finally:
            code, log = served.stop()
    assert not failures, failures[:3]
    assert code == 0, log
    sessions, requests = ledger_rows(home)
    assert len(sessions) == 8 and all(s["status"] == "finished" for s in sessions)
    per_session = {s["id"]: sorted(r["output_tokens"] for r in requests if r["session_id"] == s["id"])
                   for s in sessions}
    owners = [{n // 100 for n in rows} for rows in per_session.values()]
    assert all(len(rows) == PER_CLIENT for rows in per_session.values())
    assert all(len(o) == 1 for o in owners)  # one client's requests, all in its own session
    assert sorted(o.pop() for o in owners) == list(range(8))
