"""Bedrock overhead: an Anthropic client (a real Claude Code body, ~80 KB) through lynkr to Bedrock's
Converse API (a fake on loopback that speaks the binary event stream), against sending the already
translated, signed Converse request directly. Same method as ``bench/translation.py`` (interleaved
pairs, p50/p95 wall time, process CPU), plus the CPU of the Bedrock work alone: Converse encoding,
SigV4 signing, and decoding the event stream into Anthropic SSE, measured in process.

    python bench/bedrock.py [--quick] [--requests N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.translation import fast, load_body, row, timed_pair  # noqa: E402
from lynkr_cli.formats import codec  # noqa: E402
from lynkr_cli.formats.jsonio import loads  # noqa: E402
from lynkr_cli.providers.base import ProviderSet, resolve_provider  # noqa: E402
from lynkr_cli.routing.static import StaticRouter  # noqa: E402
from lynkr_cli.proxy.translate import ResponseTranslator  # noqa: E402
from tests.conftest import running_proxy  # noqa: E402
from tests.fakes import bedrock as fake_bedrock  # noqa: E402
from tests.fakes.anthropic import Turn  # noqa: E402
from tests.fakes.server import FakeUpstream  # noqa: E402

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
TURN = Turn(text="Done. The tests pass now and the fix is in place.", input_tokens=20000, output_tokens=40,
            cache_read_tokens=18000)
AWS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
       "AWS_REGION": "us-east-1", "HOME": "/nonexistent"}


def cpu_bedrock(body: bytes, n: int) -> dict[str, list[float]]:
    """Thread CPU ms per request for each part of the Bedrock path (no network)."""
    provider = resolve_provider("bedrock", dict(AWS, AWS_ENDPOINT_URL_BEDROCK_RUNTIME="http://127.0.0.1:9"))
    provider._clock = lambda: datetime(2026, 11, 23, tzinfo=timezone.utc)  # type: ignore[attr-defined]
    frames = fake_bedrock.stream_frames(TURN)
    parts: dict[str, list[float]] = {"request: Anthropic body -> signed Converse call": [],
                                     "answer: event stream -> Anthropic SSE": []}
    for _ in range(n):
        t0 = time.thread_time()
        request = codec("anthropic").decode_request(loads(body), body)
        provider.build_call(request, MODEL, {})
        t1 = time.thread_time()
        translator = ResponseTranslator(provider, "bedrock", request)
        translator.begin(200, fake_bedrock.EVENTSTREAM)
        for frame in frames:
            translator.translate(frame)
        translator.end()
        t2 = time.thread_time()
        parts["request: Anthropic body -> signed Converse call"].append((t1 - t0) * 1000)
        parts["answer: event stream -> Anthropic SSE"].append((t2 - t1) * 1000)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 requests per row instead of 200")
    parser.add_argument("--requests", type=int, default=None)
    args = parser.parse_args()
    n = args.requests or (30 if args.quick else 200)
    headers = {"content-type": "application/json", "x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01"}
    lines = ["| path | requests | p50 ms | p95 ms | added p50 ms | CPU ms/req (p50) | added CPU ms |",
             "|---|---|---|---|---|---|---|"]
    bedrock_fake = fast(FakeUpstream(fake_bedrock.bedrock_handler(lambda r, b: fake_bedrock.reply_for(TURN, r))))
    with bedrock_fake as upstream, tempfile.TemporaryDirectory() as tmp:
        env = dict(AWS, AWS_ENDPOINT_URL_BEDROCK_RUNTIME=upstream.url)
        providers = ProviderSet(env)
        with running_proxy(upstream.url, Path(tmp) / "l.db", providers=providers,
                           router=StaticRouter("bedrock", MODEL)) as (base, _ctx, _), \
                httpx.Client(timeout=30) as client:
            for stream in (False, True):
                body = load_body(stream)
                kind = "stream" if stream else "json"
                # The direct baseline sends what lynkr sends: the Converse body, signed.
                request = codec("anthropic").decode_request(loads(body), body)
                call = resolve_provider("bedrock", env).build_call(request, MODEL, {})
                direct, via = timed_pair(client, (call.url, call.body, dict(call.headers)),
                                         (f"{base}/v1/messages", body, headers), n)
                lines.append(row(f"direct Bedrock Converse, {kind} ({len(call.body) // 1024} KB)", direct))
                lines.append(row(f"Anthropic client -> lynkr -> Bedrock, {kind} ({len(body) // 1024} KB)", via, direct))
    for name, samples in cpu_bedrock(load_body(True), n).items():
        lines.append(row(f"CPU only, {name} (thread CPU time)", samples))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
