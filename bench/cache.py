"""Response cache cost and speed: a hit through the proxy, the overhead a miss adds to a normal
request, the embedding time per prompt, the embedding model's load time, and the semantic cache's
recall, wrong hits and lookup time on the labelled set (tests/cache/labelled.py) with 1,000 and
10,000 stored answers.

Same method as bench/translation.py: one keep-alive client, a local fake Anthropic upstream, requests
alternated between the two paths compared, p50/p95 of the wall time. The request is a real Claude Code
2.1.197 body (~78 KB, tests/data/claude_session/01.json); a miss gets a fresh question each time so
every request is looked up, relayed and stored.

    python bench/cache.py [--quick] [--requests N] [--record] [--semantic-only [--half tuning]]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from lynkr_cli.cache.service import ResponseCache  # noqa: E402
from tests.conftest import running_proxy  # noqa: E402
from tests.fakes.anthropic import Turn, messages_handler, reply_for  # noqa: E402
from tests.fakes.server import FakeUpstream  # noqa: E402

BODY_FILE = ROOT / "tests" / "data" / "claude_session" / "01.json"
TURN = Turn(text="Done. The tests pass now and the fix is in place.", input_tokens=20000, output_tokens=40,
            cache_read_tokens=18000)
HEADERS = {"content-type": "application/json", "x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01"}


def body(question: str, stream: bool) -> bytes:
    data = json.loads(BODY_FILE.read_text())
    data["stream"] = stream
    data["model"] = "claude-sonnet-4-6"
    data["messages"][0]["content"][-1]["text"] = question
    return json.dumps(data, separators=(",", ":")).encode()


def fast(fake: FakeUpstream) -> FakeUpstream:
    """Without TCP_NODELAY every fake answer waits for a delayed ACK (~40 ms)."""
    fake._server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
    return fake


def once(client: httpx.Client, url: str, content: bytes, expect: str | None = None) -> float:
    t0 = time.perf_counter()
    response = client.post(url, content=content, headers=HEADERS)
    response.read()
    elapsed = (time.perf_counter() - t0) * 1000
    assert response.status_code == 200, response.text[:300]
    if expect is not None:
        assert response.headers["x-lynkr-cache"] == expect, response.headers["x-lynkr-cache"]
    return elapsed


def stats(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]


SERVER: dict[str, list[float]] = {"cached": [], "plain": []}  # ms from request start to relay (or hit) start


def server_side(name: str):  # type: ignore[no-untyped-def]
    """A ledger listener: the proxy's own time before the upstream call (parse, pipeline, route, cache
    lookup), free of the client's and the fake's share of this one process's GIL."""
    def on_record(record) -> None:  # type: ignore[no-untyped-def]
        total = (time.time() - record.started_at) * 1000
        relay = record.latency_ms if record.details.get("cache", {}).get("decision", "").startswith("miss") or \
            record.details.get("cache", {}).get("reason") == "cache off" else 0.0
        SERVER[name].append(total - (relay or 0.0))
    return on_record


def proxy_rows(n: int) -> list[str]:
    rows = []
    with fast(FakeUpstream(messages_handler(lambda r, b: reply_for(TURN, r)))) as upstream, \
            tempfile.TemporaryDirectory() as tmp, httpx.Client(timeout=30) as client:
        cache = ResponseCache("exact", Path(tmp) / "cache.sqlite3")
        with running_proxy(upstream.url, Path(tmp) / "l1.db", cache=cache) as (cached, ctx, _), \
                running_proxy(upstream.url, Path(tmp) / "l2.db", token="t2") as (plain, plain_ctx, _l):
            ctx.listeners.append(server_side("cached"))
            plain_ctx.listeners.append(server_side("plain"))
            for stream in (False, True):
                kind = "stream" if stream else "json"
                warm = body("What does this project do?", stream)
                once(client, f"{cached}/v1/messages", warm)
                cache.flush()
                time.sleep(0.05)
                cache.flush()
                direct, hits = [], []
                SERVER["cached"].clear()
                for _ in range(n):
                    direct.append(once(client, f"{upstream.url}/v1/messages", warm))
                    hits.append(once(client, f"{cached}/v1/messages", warm, "hit-exact"))
                hit_server = list(SERVER["cached"])
                off, miss = [], []
                SERVER["cached"].clear(), SERVER["plain"].clear()
                for i in range(n + 5):
                    a = once(client, f"{plain}/v1/messages", body(f"question {kind} off {i}", stream), "skip")
                    b = once(client, f"{cached}/v1/messages", body(f"question {kind} miss {i}", stream), "miss")
                    if i >= 5:  # warm-up
                        off.append(a), miss.append(b)
                d50, d95 = stats(direct)
                h50, h95 = stats(hits)
                o50, o95 = stats(off)
                m50, m95 = stats(miss)
                size = len(warm) // 1024
                rows.append(f"| direct to the fake upstream, {kind} ({size} KB) | {n} | {d50:.2f} | {d95:.2f} | |")
                rows.append(f"| cache hit through lynkr, {kind} | {n} | {h50:.2f} | {h95:.2f} | {h50 - d50:+.2f} vs direct |")
                rows.append(f"| cache off through lynkr, {kind} | {n} | {o50:.2f} | {o95:.2f} | |")
                rows.append(f"| cache miss through lynkr (lookup + store), {kind} | {n} | {m50:.2f} | {m95:.2f} |"
                            f" {m50 - o50:+.2f} vs off |")
                s_hit = statistics.median(hit_server)
                s_off = statistics.median(SERVER["plain"][5:])
                s_miss = statistics.median(SERVER["cached"][5:])
                rows.append(f"| proxy's own time: hit {s_hit:.2f} ms in all; before the upstream call {s_off:.2f} ms"
                            f" with the cache off, {s_miss:.2f} ms with a miss ({s_miss - s_off:+.2f}), {kind} | | | | |")
        cache.close()
    return rows


def embedding_rows(n: int) -> list[str]:
    from lynkr_cli.cache.embed import embed, load_model
    from tests.cache.labelled import load

    load_model()
    prompts = [question for pair in load() for question in (pair.stored, pair.asked)]
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        embed(prompts[i % len(prompts)] + f" {i}")
        samples.append((time.perf_counter() - t0) * 1e6)
    p50, p95 = stats(samples)
    loads = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c",
                              "import time; t=time.perf_counter(); from lynkr_cli.cache.embed import load_model;"
                              " load_model(); print((time.perf_counter()-t)*1000)"],
                             capture_output=True, text=True, cwd=ROOT, check=True)
        loads.append(float(out.stdout.strip()))
    return [f"embedding one prompt (model loaded): p50 {p50:.0f} µs, p95 {p95:.0f} µs over {n} prompts",
            f"model load in a fresh process (import model2vec + numpy, read 3.8 MB): median {statistics.median(loads):.0f} ms"
            f" of {', '.join(f'{x:.0f}' for x in loads)} ms"]


FILLER_VERBS = ("install", "configure", "debug", "profile", "deploy", "test", "document", "package", "lint", "format")
FILLER_THINGS = ("a web server", "a cron job", "the logger", "a CSV parser", "the database pool", "a REST client",
                 "the build", "a message queue", "the auth middleware", "a websocket", "the cache layer", "a CLI")
FILLER_WHERE = ("in Python", "in Go", "in Rust", "in Node", "on Ubuntu", "with Docker", "in Java", "in Ruby",
                "for a monorepo", "behind nginx")


def filler(count: int) -> list[str]:
    """``count`` distinct coding questions unrelated to the labelled ones (stored around them)."""
    out = []
    for i in range(count):
        verb = FILLER_VERBS[i % len(FILLER_VERBS)]
        thing = FILLER_THINGS[(i // len(FILLER_VERBS)) % len(FILLER_THINGS)]
        where = FILLER_WHERE[(i // (len(FILLER_VERBS) * len(FILLER_THINGS))) % len(FILLER_WHERE)]
        out.append(f"How do I {verb} {thing} {where} (case {i})?")
    return out


async def _lookups(cache, pairs, context, request, target) -> list[tuple[Any, dict, float]]:  # type: ignore[no-untyped-def]
    """Each pair's asked question looked up: (pair, decision details with the answered question, ms)."""
    from lynkr_cli.ledger import RequestRecord

    out = []
    for pair in pairs:
        record = RequestRecord(session_id="s", started_at=0.0, route="/v1/messages")
        t0 = time.perf_counter()
        found = await cache.lookup(request(pair.asked, context[pair.id]), target, record)
        elapsed = (time.perf_counter() - t0) * 1000
        details = dict(record.details["cache"])
        if found is not None:
            details["answered_with"] = found["content"][0]["text"].removeprefix("answer: ")
        out.append((pair, details, elapsed))
    return out


def semantic_rows(sizes: tuple[int, ...], halves: tuple[str, ...] = ("tuning", "test")) -> list[str]:
    """Recall, wrong hits and lookup time on both halves of the labelled set with N answers stored.

    ``own contexts``: each pair is asked in a conversation of its own (as in tests/cache) and the other
    N answers sit in 50 other conversations (a store shared by many sessions). ``one context``: the N
    answers are all earlier questions of the SAME conversation and the pairs' questions are stored last
    (every stored answer is a candidate, read up to the newest 256: the worst case for the lookup); there
    a hit that returns another pair's answer is counted apart (asked "compare two branches", answered
    with "see the difference between two branches" is right). Time: ``ResponseCache.lookup`` per hit
    (key, split, candidate read, similarity, guard rails), what a semantic hit adds to the proxy's own
    time of an exact hit."""
    import asyncio

    from lynkr_cli.cache.key import Target
    from lynkr_cli.canonical import ModelRequest
    from tests.cache import labelled

    target = Target(provider="anthropic", upstream="https://api.anthropic.com", model="claude-sonnet-4-6")

    def request(question: str, context: str) -> ModelRequest:
        return ModelRequest(body={"model": "claude-sonnet-4-6", "max_tokens": 500, "system": context,
                                  "messages": [{"role": "user", "content": question}]})

    def answer(question: str) -> dict:
        return {"type": "message", "model": "claude-sonnet-4-6", "stop_reason": "end_turn",
                "content": [{"type": "text", "text": f"answer: {question}"}], "usage": {"input_tokens": 9, "output_tokens": 9}}

    rows = ["| stored answers | layout | half | rewordings answered | near misses answered with their own"
            " stored answer (wrong) | answered with another pair's | lookup p50 ms (hits) | p95 ms |",
            "|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        for layout in ("own contexts", "one context"):
            for half in halves:
                pairs = labelled.half(half)
                own = layout == "own contexts"
                shared = "You are a coding assistant. One long conversation."
                context = {p.id: f"You are a coding assistant. Conversation {p.id}." if own else shared for p in pairs}
                stored = {p.stored for p in pairs}
                with tempfile.TemporaryDirectory() as tmp:
                    cache = ResponseCache("semantic", Path(tmp) / "cache.sqlite3", max_bytes=1 << 30)
                    for i, question in enumerate(filler(size - len(stored))):
                        cache.store(request(question, f"Conversation {i % 50}." if own else shared), target, answer(question))
                    for pair in pairs:
                        cache.store(request(pair.stored, context[pair.id]), target, answer(pair.stored))
                    cache.flush()

                    results = asyncio.run(_lookups(cache, pairs, context, request, target))
                    cache.close()
                own_answer = [(p, d) for p, d, _ in results if d.get("answered_with") == p.stored]
                other = [(p, d) for p, d, _ in results if d["decision"] == "hit-semantic" and d.get("answered_with") != p.stored]
                answered = sum(1 for p, _ in own_answer if p.label == "paraphrase")
                wrong = sum(1 for p, _ in own_answer if p.label == "near_miss")
                for p, d in other:
                    print(f"  ({size}, {layout}, {half}) {p.id} asked {p.asked!r}: answer to {d['answered_with']!r}")
                paraphrases = sum(1 for p in pairs if p.label == "paraphrase")
                hit_times = [ms for _, d, ms in results if d["decision"] == "hit-semantic"] or [float("nan")]
                p50, p95 = stats(hit_times)
                rows.append(f"| {size:,} | {layout} | {half} | {answered} of {paraphrases} ({answered / paraphrases:.0%}) |"
                            f" {wrong} of {len(pairs) - paraphrases} | {len(other)} | {p50:.2f} | {p95:.2f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 requests per row instead of 200")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--record", action="store_true", help="append the result to bench/RESULTS.md")
    parser.add_argument("--semantic-only", action="store_true", help="only the labelled-set rows (1k and 10k entries)")
    parser.add_argument("--half", choices=("tuning", "test"), default=None,
                        help="one half of the labelled set only (while changing rules: --half tuning)")
    args = parser.parse_args()
    n = args.requests or (30 if args.quick else 200)
    halves = (args.half,) if args.half else ("tuning", "test")
    semantic = "\n".join(semantic_rows((1_000,) if args.quick else (1_000, 10_000), halves)) + "\n"
    if args.semantic_only:
        text = semantic
    else:
        table = ["| path | requests | p50 ms | p95 ms | difference (p50) |", "|---|---|---|---|---|", *proxy_rows(n)]
        text = ("\n".join(table) + "\n\n" + "\n".join(f"- {line}" for line in embedding_rows(max(n, 200))) + "\n\n"
                + semantic)
    print(text)
    if args.record:
        command = "python bench/cache.py" + (" --quick" if args.quick else "") + (
            f" --requests {args.requests}" if args.requests else "") + (" --semantic-only" if args.semantic_only else "") + (
            f" --half {args.half}" if args.half else "")
        head = (f"\n## Response cache\n\n`{command}`, {time.strftime('%Y-%m-%d')}, {platform.machine()}, 2 cores shared"
                f" with other engineers' test runs (timings are noisy), Python {platform.python_version()}\n\n")
        with open(ROOT / "bench" / "RESULTS.md", "a") as results:
            results.write(head + text)


if __name__ == "__main__":
    main()
