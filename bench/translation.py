"""Translation overhead: an Anthropic client (a real Claude Code body, ~85 KB) through lynkr to an
OpenAI-format upstream, against the same exchange sent directly; the Anthropic pass-through for
reference. Same method for every row: one keep-alive client, a local fake upstream, N sequential
requests after a warm-up, p50/p95 of the wall time; "added" = p50 via lynkr - p50 direct.

Also the CPU cost of the translation alone (request decode + encode, response stream re-encode),
measured in process without any network.

    python bench/translation.py [--quick] [--requests N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from lynkr_cli.formats import codec  # noqa: E402
from lynkr_cli.providers.base import ProviderSet, resolve_provider  # noqa: E402
from lynkr_cli.routing.static import StaticRouter  # noqa: E402
from lynkr_cli.proxy.translate import ResponseTranslator  # noqa: E402
from tests.conftest import running_proxy  # noqa: E402
from tests.fakes.anthropic import Turn, messages_handler, reply_for  # noqa: E402
from tests.fakes.openai import chat_stream, openai_handler  # noqa: E402
from tests.fakes.server import FakeUpstream  # noqa: E402

BODY_FILE = ROOT / "tests" / "data" / "claude_session" / "02.json"
TURN = Turn(text="Done. The tests pass now and the fix is in place.", input_tokens=20000, output_tokens=40,
            cache_read_tokens=18000)


def fast(fake: FakeUpstream) -> FakeUpstream:
    """The test fake writes headers and body separately; without TCP_NODELAY every answer waits for a
    delayed ACK (~40 ms), which would swamp what is measured here."""
    fake._server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
    return fake


def load_body(stream: bool) -> bytes:
    body = json.loads(BODY_FILE.read_text())
    body["stream"] = stream
    body["model"] = "bench-model"
    return json.dumps(body, separators=(",", ":")).encode()


CPU: dict[str, list[float]] = {}  # process CPU ms per request (client, proxy and fake share the process)


def timed_pair(client: httpx.Client, a: tuple[str, bytes, dict[str, str]], b: tuple[str, bytes, dict[str, str]],
               n: int) -> tuple[list[float], list[float]]:
    """Alternate the two paths request by request, so load from other processes hits both alike."""
    def once(url: str, body: bytes, headers: dict[str, str]) -> float:
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.post(url, content=body, headers=headers)
        response.read()
        assert response.status_code == 200, response.text[:300]
        CPU.setdefault(url, []).append((time.process_time() - c0) * 1000)
        return (time.perf_counter() - t0) * 1000

    for _ in range(max(5, n // 10)):
        once(*a), once(*b)
    CPU.clear()
    first, second = [], []
    for _ in range(n):
        first.append(once(*a))
        second.append(once(*b))
    cpu_a, cpu_b = statistics.median(CPU[a[0]]), statistics.median(CPU[b[0]])
    ROW_CPU[id(second)] = (cpu_b, cpu_b - cpu_a)
    ROW_CPU[id(first)] = (cpu_a, None)
    return first, second


ROW_CPU: dict[int, tuple[float, float | None]] = {}


def cpu_translation(body: bytes, n: int) -> list[float]:
    provider = resolve_provider("openai-compatible", {}, {"openai-compatible": {"base_url": "http://x/v1"}})
    chunks = chat_stream(TURN, "bench-model")
    samples = []
    for _ in range(n):
        t0 = time.thread_time()  # CPU time of this thread: not inflated by other processes' load
        request = codec("anthropic").decode_request(json.loads(body), body)
        provider.build_call(request, "bench-model", {})
        translator = ResponseTranslator(provider, "openai-chat", request)
        translator.begin(200, "text/event-stream")
        for chunk in chunks:
            translator.translate(chunk)
        translator.end()
        samples.append((time.thread_time() - t0) * 1000)
    return samples


def cpu_pass_through(body: bytes, n: int) -> list[float]:
    """lynkr's own work for a same-format request: parse, route, build the call, scan the answer."""
    from lynkr_cli.formats.jsonio import loads
    from lynkr_cli.proxy.usage import AnthropicResponseScanner
    from tests.fakes.anthropic import stream_events

    provider = resolve_provider("anthropic", {}, {"anthropic": {"base_url": "http://x"}})
    router = StaticRouter()
    headers = {"x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01", "content-type": "application/json"}
    events = stream_events(TURN, "bench-model")
    samples = []
    for _ in range(n):
        t0 = time.thread_time()
        request = codec("anthropic").decode_request(loads(body), body)
        call = provider.build_call(request, router.route(request, "s").model, headers, "beta=true")
        assert call.body is body
        scanner = AnthropicResponseScanner()
        scanner.begin(200, "text/event-stream")
        for chunk in events:
            scanner.feed(chunk)
        scanner.finish()
        samples.append((time.thread_time() - t0) * 1000)
    return samples


def row(name: str, samples: list[float], base: list[float] | None = None) -> str:
    p50 = statistics.median(samples)
    p95 = sorted(samples)[int(len(samples) * 0.95) - 1]
    added = f"{p50 - statistics.median(base):+.2f}" if base else ""
    cpu, cpu_added = ROW_CPU.get(id(samples), (None, None))
    cpu_text = f"{cpu:.2f}" if cpu is not None else ""
    cpu_added_text = f"{cpu_added:+.2f}" if cpu_added is not None else ""
    return f"| {name} | {len(samples)} | {p50:.2f} | {p95:.2f} | {added} | {cpu_text} | {cpu_added_text} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 requests per row instead of 200")
    parser.add_argument("--requests", type=int, default=None)
    args = parser.parse_args()
    n = args.requests or (30 if args.quick else 200)
    anthropic_headers = {"content-type": "application/json", "x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01"}
    lines = ["| path | requests | p50 ms | p95 ms | added p50 ms | CPU ms/req (p50) | added CPU ms |",
             "|---|---|---|---|---|---|---|"]
    oai_fake = fast(FakeUpstream(openai_handler(lambda r, b: TURN)))
    ant_fake = fast(FakeUpstream(messages_handler(lambda r, b: reply_for(TURN, r))))
    with oai_fake as oai, ant_fake as ant, tempfile.TemporaryDirectory() as tmp:
        providers = ProviderSet({}, {"openai-compatible": {"base_url": f"{oai.url}/v1"}, "anthropic": {"base_url": ant.url}})
        with running_proxy(ant.url, Path(tmp) / "l.db", providers=providers,
                           router=StaticRouter("openai-compatible", "bench-model")) as (base, ctx, _), \
                httpx.Client(timeout=30) as client:
            for stream in (False, True):
                body = load_body(stream)
                kind = "stream" if stream else "json"
                # The direct baseline sends what lynkr would send: the translated Chat body.
                request = codec("anthropic").decode_request(json.loads(body), body)
                translated = resolve_provider("openai-compatible", {}, {"openai-compatible": {
                    "base_url": f"{oai.url}/v1"}}).build_call(request, "bench-model", {}).body
                ctx.router = StaticRouter("openai-compatible", "bench-model")
                direct, via = timed_pair(client, (f"{oai.url}/v1/chat/completions", translated,
                                                  {"content-type": "application/json"}),
                                         (f"{base}/v1/messages", body, anthropic_headers), n)
                lines.append(row(f"direct OpenAI Chat upstream, {kind} ({len(translated) // 1024} KB)", direct))
                lines.append(row(f"Anthropic client -> lynkr -> OpenAI Chat, {kind} ({len(body) // 1024} KB)", via,
                                 direct))
                ctx.router = StaticRouter("anthropic", "bench-model")
                direct_a, via_a = timed_pair(client, (f"{ant.url}/v1/messages", body, anthropic_headers),
                                             (f"{base}/v1/messages", body, anthropic_headers), n)
                lines.append(row(f"direct Anthropic upstream, {kind}", direct_a))
                lines.append(row(f"Anthropic client -> lynkr -> Anthropic (pass-through), {kind}", via_a, direct_a))
    cpu = cpu_translation(load_body(True), n)
    lines.append(row("translation CPU only (request + streamed answer), thread CPU time", cpu))
    own = cpu_pass_through(load_body(True), n)
    lines.append(row("pass-through: lynkr's own request-path CPU (parse, route, build call, scan answer)", own))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
