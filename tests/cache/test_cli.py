"""The cache from the command line: ``lynkr run --cache``, the exit report, ``lynkr cache stats|clear``,
and two sessions sharing one cache file at the same time."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.cache.conftest import Answers
from tests.conftest import FAKE_ANTHROPIC_KEY, base_env, ledger_rows, lynkr_command, run_lynkr
from tests.fakes.anthropic import messages_handler
from tests.fakes.server import FakeUpstream

# A "tool" run under lynkr: asks the given questions through ANTHROPIC_BASE_URL, prints each answer
# and the cache header.
ASKER = textwrap.dedent("""
    import json, os, sys, httpx
    base = os.environ["ANTHROPIC_BASE_URL"]
    for question in sys.argv[1:]:
        r = httpx.post(base + "/v1/messages", timeout=30, headers={"x-api-key": os.environ["ANTHROPIC_API_KEY"],
                       "anthropic-version": "2023-06-01"},
                       json={"model": "claude-sonnet-4-6", "max_tokens": 50,
                             "messages": [{"role": "user", "content": question}]})
        print(json.dumps([question, r.headers["x-lynkr-cache"], r.json()["content"][0]["text"]]))
""")


def ask(env, *questions: str, cache: str = "exact"):  # type: ignore[no-untyped-def]
    return run_lynkr(["run", "--cache", cache, "--", sys.executable, "-c", ASKER, *questions], env)


def test_run_report_stats_and_clear(lynkr_home, tmp_path):
    answers = Answers()
    with FakeUpstream(messages_handler(answers)) as upstream:
        env = base_env(lynkr_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        first = ask(env, "What is a monad?")
        second = ask(env, "What is a monad?", "What is a functor?")
        off = ask(env, "What is a monad?", cache="off")
    assert first.returncode == second.returncode == off.returncode == 0, second.stderr
    lines = [json.loads(line) for line in second.stdout.splitlines()]
    assert lines == [["What is a monad?", "hit-exact", "answer number 1"],
                     ["What is a functor?", "miss", "answer number 2"]]
    assert json.loads(off.stdout)[1] == "skip" and answers.calls == 3
    # The exit report says what the cache did and saved (1000 in + 5000 cache read + 300 write, 200 out).
    # (wrapped at 80 columns between figures: cli/layout.py)
    assert "cache: 1 hit (1 exact, 0 semantic) · 1 miss · 0 skipped\n    saved 6,300 in + 200 out tokens" in second.stderr
    assert "cache:" not in off.stderr
    stats = run_lynkr(["cache", "stats", "--json"], env)
    data = json.loads(stats.stdout)
    assert (data["entries"], data["hits"], data["saved_output_tokens"]) == (2, 1, 200)
    assert data["saved_usd"] > 0
    cleared = run_lynkr(["cache", "clear"], env)
    assert cleared.returncode == 0 and "removed 2 answers" in cleared.stdout
    assert json.loads(run_lynkr(["cache", "stats", "--json"], env).stdout)["entries"] == 0


def test_two_sessions_use_one_cache_at_once(lynkr_home):
    answers = Answers()
    shared = [f"Shared question {i}?" for i in range(8)]
    with FakeUpstream(messages_handler(answers)) as upstream:
        env = base_env(lynkr_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        sessions = [
            subprocess.Popen(lynkr_command("run", "--cache", "exact", "--", sys.executable, "-c", ASKER,
                                           *[f"Own question {n}-{i}?" for i in range(8)], *shared),
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for n in (1, 2)
        ]
        outputs = [s.communicate(timeout=120) for s in sessions]
        calls_during = answers.calls
        after = ask(env, *shared, "Own question 1-3?", "Own question 2-7?")
    assert [s.returncode for s in sessions] == [0, 0], outputs
    assert after.returncode == 0, after.stderr
    assert {json.loads(line)[1] for line in after.stdout.splitlines()} == {"hit-exact"}
    assert answers.calls == calls_during  # everything either session stored is readable by a third
    _, rows = ledger_rows(lynkr_home)
    assert not [r for r in rows if r["error"]]


def test_serve_with_cache_answers_a_repeat_from_the_cache(lynkr_home):
    import signal

    answers = Answers()
    with FakeUpstream(messages_handler(answers)) as upstream:
        env = base_env(lynkr_home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        proc = subprocess.Popen(lynkr_command("serve", "--port", "0", "--quiet", "--cache", "exact", "--upstream",
                                              upstream.url), env=env, stderr=subprocess.PIPE, text=True)
        try:
            url = ""
            for line in proc.stderr:  # type: ignore[union-attr]
                if "Anthropic clients: base URL" in line:
                    url = line.rsplit(" ", 1)[1].strip()  # with the token generated on first start
                    break
            headers = {"x-api-key": FAKE_ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
            body = {"model": "claude-sonnet-4-6", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
            import httpx

            seen = []
            for _ in range(2):
                response = httpx.post(f"{url}/v1/messages", json=body, headers=headers, timeout=30)
                seen.append((response.headers["x-lynkr-cache"], response.json()["content"][0]["text"]))
                if seen[-1][0] == "miss":  # the answer is stored right after it was sent: wait for the file
                    for _ in range(100):
                        if json.loads(run_lynkr(["cache", "stats", "--json"], env).stdout)["entries"]:
                            break
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
    assert seen == [("miss", "answer number 1"), ("hit-exact", "answer number 1")]
    assert answers.calls == 1


def test_semantic_hits_show_their_similarity_in_the_report_and_stats(lynkr_home):
    answers = Answers()
    with FakeUpstream(messages_handler(answers)) as upstream:
        env = base_env(lynkr_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        run = ask(env, "How do I merge two dicts in Python?", "python: combine two dictionaries",
                  "How do I merge two lists in Python?", cache="semantic")
        stats = run_lynkr(["cache", "stats"], env)
        data = json.loads(run_lynkr(["cache", "stats", "--json"], env).stdout)
    assert run.returncode == 0, run.stderr
    assert [json.loads(line)[1] for line in run.stdout.splitlines()] == ["miss", "hit-semantic", "miss"]
    similarity = data["semantic_similarities"][0]
    assert data["semantic_hits"] == 1 and 0.7 <= similarity < 1.0
    assert f"cache: 1 hit (0 exact, 1 semantic at similarity {similarity:.2f}) · 2 misses" in run.stderr
    assert f"1 of them semantic (a reworded question) at similarity {similarity:.2f}" in stats.stdout
