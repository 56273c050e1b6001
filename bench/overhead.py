"""Added latency of lynkr against calling the upstream directly, side by side with LiteLLM's proxy.

    python bench/overhead.py [--quick] [--requests N] [--seconds S] [--no-litellm] [--no-floor]
                             [--transport wire|httpx|aiohttp ...] [--record]

Everything runs in one invocation against the same instant fake upstream (``instant_upstream.py``,
its own process) with the same real ~85 KB Claude Code body (``data/claude_code_request.json``,
captured by ``capture_claude_body.py``):

- ``direct``: the client calls the fake upstream itself;
- ``lynkr``: ``lynkr run --report none -- <a child that waits>``, the product as users start it
  (token path, ledger writes on a real SQLite file in a temporary LYNKR_HOME), pass-through;
- ``litellm``: LiteLLM's proxy from ``bench/.venv-litellm`` (``pip install 'litellm[proxy]'``),
  its ``/anthropic`` pass-through route pointed at the same fake upstream;
- ``--transport``: lynkr's pass-through app served alone (``stack_floor.py --serve-lynkr``) on each
  upstream transport named, to compare transports in one run;
- two floors (``--no-floor`` leaves them out), bare relays from ``stack_floor.py`` with no
  accounting and no error handling: Hypercorn configured as lynkr configures it around a raw asyncio
  relay (the least any proxy on lynkr's server stack can add), and an asyncio byte relay with no HTTP
  server at all (the least any Python proxy can add).

The client is a minimal keep-alive HTTP/1.1 client on asyncio (no HTTP library in the measured path).
Sequential latency is measured with the targets interleaved request by request, so machine noise
hits all of them alike; "added" is the target's percentile minus direct's. Throughput runs each
target for ``--seconds`` at 1, 8 and 32 concurrent connections. RSS is the proxy's resident memory
(the whole process tree) after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BODY_FILE = BENCH / "data" / "claude_code_request.json"
LITELLM_BIN = BENCH / ".venv-litellm" / "bin" / "litellm"
API_KEY = "sk-ant-api03-BENCH-0123456789abcdefghij"
CONCURRENCY = (1, 8, 32)
LOAD_AT_START = 0.0  # the machine is shared: the 1-minute load average is printed with each result


# -- a minimal HTTP/1.1 client ------------------------------------------------------------------
class Connection:
    """One keep-alive connection; ``post`` returns (time to first body byte, total time, body size)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 22)

    async def post(self, path: str, body: bytes, headers: str = "") -> tuple[float, float, int]:
        if self.writer is None:
            await self._open()
        assert self.reader is not None and self.writer is not None
        head = (f"POST {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\ncontent-type: application/json\r\n"
                f"x-api-key: {API_KEY}\r\nanthropic-version: 2023-06-01\r\n{headers}content-length: {len(body)}\r\n\r\n")
        t0 = time.perf_counter()
        self.writer.write(head.encode() + body)
        reader = self.reader
        headers = await reader.readuntil(b"\r\n\r\n")
        status = int(headers[9:12])
        lower = headers.lower()
        size = 0
        ttfb = None
        if b"transfer-encoding: chunked" in lower:
            while True:
                line = await reader.readuntil(b"\r\n")
                n = int(line.split(b";")[0], 16)
                await reader.readexactly(n + 2)
                if ttfb is None:
                    ttfb = time.perf_counter() - t0
                if n == 0:
                    break
                size += n
        else:
            start = lower.find(b"content-length:")
            n = int(lower[start + 15:lower.find(b"\r\n", start)]) if start >= 0 else 0
            await reader.readexactly(n)
            ttfb = time.perf_counter() - t0
            size = n
            if start < 0:
                raise RuntimeError("response without content-length or chunked encoding")
        total = time.perf_counter() - t0
        if status != 200:
            raise RuntimeError(f"status {status} from {self.host}:{self.port}{path}")
        if b"connection: close" in lower:
            self.close()
        return ttfb or total, total, size

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# -- targets --------------------------------------------------------------------------------------
@dataclass
class Target:
    name: str
    url: str  # base URL; /v1/messages is appended
    pids: list[int] = field(default_factory=list)

    @property
    def host_port_path(self) -> tuple[str, int, str]:
        parts = urlsplit(self.url)
        return parts.hostname or "127.0.0.1", parts.port or 80, parts.path.rstrip("/") + "/v1/messages"


def _process_tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, from /proc (Linux)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
    return total


def _wait_line(proc: subprocess.Popen, what: str, timeout: float = 60) -> str:
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sel.select(0.5):
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if line:
                return line.decode().strip()
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
    raise RuntimeError(f"{what} did not start within {timeout} s")


def _wait_http(url: str, timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:  # noqa: BLE001 - still starting
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def start_upstream():
    proc = subprocess.Popen([sys.executable, str(BENCH / "instant_upstream.py")], stdout=subprocess.PIPE)
    try:
        port = _wait_line(proc, "fake upstream")
        yield Target("direct", f"http://127.0.0.1:{port}", [proc.pid])
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def start_lynkr(upstream: str, name: str, run_flags: tuple[str, ...] = ()):
    """``lynkr run`` wrapping a child that prints the proxy URL it was given and waits on stdin."""
    home = tempfile.mkdtemp(prefix="lynkr-bench-")
    env = dict(os.environ, ANTHROPIC_BASE_URL=upstream, LYNKR_HOME=home, LYNKR_CONFIG_HOME=f"{home}/config",
               PYTHONPATH=str(ROOT))
    child = "import os,sys; print(os.environ['ANTHROPIC_BASE_URL'], flush=True); sys.stdin.read()"
    proc = subprocess.Popen([sys.executable, "-m", "lynkr_cli", "run", "--report", "none", *run_flags, "--",
                             sys.executable,
                             "-c", child], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        url = _wait_line(proc, "lynkr run")
        _wait_http(url + "/")
        yield Target(name, url, [proc.pid])
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(home, ignore_errors=True)


TRANSPORTS = {"wire": "lynkr app, wire transport", "httpx": "lynkr app, httpx transport",
              "aiohttp": "lynkr app, httpx-aiohttp transport"}


@contextlib.contextmanager
def start_lynkr_app(upstream: str, transport: str):
    """lynkr's pass-through app served by ``stack_floor.py --serve-lynkr`` (``ProxyServer``, as ``lynkr
    run`` serves it) with ``transport`` carrying its upstream calls: the transports compared alone."""
    proc = subprocess.Popen([sys.executable, str(BENCH / "stack_floor.py"), "--serve-lynkr", upstream,
                             "--transport", transport], stdout=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        url = _wait_line(proc, f"lynkr app ({transport})")
        _wait_http(url + "/")
        yield Target(TRANSPORTS[transport], url, [proc.pid])
    finally:
        proc.terminate()
        proc.wait(10)


FLOORS = {
    "hypercorn": "floor: hypercorn + raw relay",  # the floor of any proxy on lynkr's server stack
    "asyncio": "floor: asyncio byte relay",  # the floor of any Python proxy: no HTTP server or client
}


@contextlib.contextmanager
def start_floor(upstream: str, server: str):
    """A bare relay from ``stack_floor.py`` (no accounting, no error handling, not a usable proxy):
    Hypercorn configured as lynkr configures it serving a raw asyncio relay, or no HTTP server at all."""
    proc = subprocess.Popen([sys.executable, str(BENCH / "stack_floor.py"), "--serve-floor", upstream,
                             "--server", server], stdout=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        port = _wait_line(proc, "floor relay")
        yield Target(FLOORS[server], f"http://127.0.0.1:{port}", [proc.pid])
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def start_litellm(upstream: str):
    """LiteLLM's proxy, one worker, its Anthropic pass-through route aimed at the fake upstream."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="litellm-bench-")
    config = Path(workdir) / "config.yaml"
    config.write_text("model_list: []\ngeneral_settings: {}\nlitellm_settings:\n  telemetry: false\n")
    env = dict(os.environ, ANTHROPIC_API_BASE=upstream, ANTHROPIC_API_KEY=API_KEY, LITELLM_MASTER_KEY=API_KEY, LITELLM_LOG="ERROR",
               LITELLM_LOCAL_MODEL_COST_MAP="True",
               LITELLM_TELEMETRY="False", NO_DOCS="True", DISABLE_ADMIN_UI="True")
    proc = subprocess.Popen([str(LITELLM_BIN), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
                             "--num_workers", "1"], env=env, cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=open(Path(workdir) / "stderr.log", "wb"), start_new_session=True)
    try:
        try:
            _wait_http(f"http://127.0.0.1:{port}/health/liveliness", timeout=300)
        except RuntimeError:
            sys.stderr.write((Path(workdir) / "stderr.log").read_text()[-3000:])
            raise
        yield Target("litellm pass-through", f"http://127.0.0.1:{port}/anthropic", [proc.pid])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)


# -- measurements -------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def latency(targets: list[Target], body: bytes, n: int, warmup: int) -> dict[str, dict[str, list[float]]]:
    """Sequential requests, interleaved across targets; per target the lists of ttfb and total (ms)."""
    conns = {t.name: Connection(*t.host_port_path[:2]) for t in targets}
    out: dict[str, dict[str, list[float]]] = {t.name: {"ttfb": [], "total": []} for t in targets}
    for i in range(warmup + n):
        for t in targets:
            ttfb, total, _ = await conns[t.name].post(t.host_port_path[2], body)
            if i >= warmup:
                out[t.name]["ttfb"].append(ttfb * 1000)
                out[t.name]["total"].append(total * 1000)
    for c in conns.values():
        c.close()
    return out


async def throughput(target: Target, body: bytes, concurrency: int, seconds: float) -> float:
    host, port, path = target.host_port_path
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        conn = Connection(host, port)
        await conn.post(path, body)  # connect + warm
        while time.perf_counter() < stop:
            await conn.post(path, body)
            done += 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - t0)


def run(args: argparse.Namespace) -> str:
    if not args.body.exists():
        sys.exit(f"{args.body} missing: run python bench/capture_claude_body.py")
    payload = json.loads(args.body.read_bytes())
    bodies = {
        "streaming": json.dumps(dict(payload, stream=True), separators=(",", ":")).encode(),
        "non-streaming": json.dumps(dict(payload, stream=False), separators=(",", ":")).encode(),
    }
    with contextlib.ExitStack() as stack:
        direct = stack.enter_context(start_upstream())
        targets = [direct, stack.enter_context(start_lynkr(direct.url, "lynkr pass-through", ("--no-optimize",))),
                   stack.enter_context(start_lynkr(direct.url, "lynkr full pipeline"))]
        targets += [stack.enter_context(start_lynkr_app(direct.url, kind)) for kind in args.transports]
        if args.floor:
            targets += [stack.enter_context(start_floor(direct.url, server)) for server in FLOORS]
        if args.litellm:
            if LITELLM_BIN.exists():
                targets.append(stack.enter_context(start_litellm(direct.url)))
            else:
                print(f"skipping LiteLLM: {LITELLM_BIN} missing", file=sys.stderr)
        lat = {mode: asyncio.run(latency(targets, body, args.requests, args.warmup)) for mode, body in bodies.items()}
        rps = {t.name: {c: asyncio.run(throughput(t, bodies["streaming"], c, args.seconds)) for c in CONCURRENCY}
               for t in targets}
        rss = {t.name: _process_tree_rss_kb(t.pids[0]) / 1024 for t in targets}
    return render(targets, lat, rps, rss, len(bodies["streaming"]), args)


def render(targets, lat, rps, rss, body_size, args) -> str:  # type: ignore[no-untyped-def]
    lines = [f"body: {body_size} bytes (real Claude Code request, {args.body.relative_to(ROOT)}); "
             f"{args.requests} sequential requests per target and mode, interleaved; "
             f"throughput {args.seconds:g} s per cell (streaming)", ""]
    lines.append("| target | mode | p50 ms | p99 ms | added p50 ms | added p99 ms | TTFB p50 ms | added TTFB p50 ms |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for mode, per in lat.items():
        d = per["direct"]
        for t in targets:
            m = per[t.name]
            added = "" if t.name == "direct" else f"{pct(m['total'], 50) - pct(d['total'], 50):+.2f}"
            added99 = "" if t.name == "direct" else f"{pct(m['total'], 99) - pct(d['total'], 99):+.2f}"
            addttfb = "" if t.name == "direct" else f"{pct(m['ttfb'], 50) - pct(d['ttfb'], 50):+.2f}"
            lines.append(f"| {t.name} | {mode} | {pct(m['total'], 50):.2f} | {pct(m['total'], 99):.2f} | {added} | "
                         f"{added99} | {pct(m['ttfb'], 50):.2f} | {addttfb} |")
    lines += ["", "| target | " + " | ".join(f"req/s @{c}" for c in CONCURRENCY) + " | RSS MB after load |",
              "|---|" + "---:|" * (len(CONCURRENCY) + 1)]
    for t in targets:
        lines.append(f"| {t.name} | " + " | ".join(f"{rps[t.name][c]:.0f}" for c in CONCURRENCY)
                     + f" | {rss[t.name]:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter load (a smoke run)")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--body", type=Path, default=BODY_FILE, help="the request body (a Claude Code capture)")
    parser.add_argument("--no-litellm", dest="litellm", action="store_false")
    parser.add_argument("--no-floor", dest="floor", action="store_false",
                        help="leave out the two floor targets (bare relays, with and without Hypercorn)")
    parser.add_argument("--record", action="store_true", help="append the table to bench/RESULTS.md")
    parser.add_argument("--transport", dest="transports", action="append", default=[], choices=list(TRANSPORTS),
                        help="also serve lynkr's pass-through app on this upstream transport (repeatable; "
                             "aiohttp needs pip install httpx-aiohttp==0.2.0)")
    args = parser.parse_args()
    global LOAD_AT_START
    LOAD_AT_START = os.getloadavg()[0]
    if args.quick:
        args.requests, args.warmup, args.seconds = 60, 10, 1.0
    table = run(args)
    print(table)
    if args.record:
        record(table)


def record(table: str, section: str = "Overhead", script: str = "overhead.py") -> None:
    """Add this run to the ``## <section>`` section of bench/RESULTS.md (created at the end if missing)."""
    run = (f"### {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
           f"`python bench/{script} {' '.join(sys.argv[1:])}` on {platform.machine()}, {os.cpu_count()} cores, "
           f"Python {platform.python_version()}, {platform.system()} {platform.release()}, "
           f"load average {LOAD_AT_START:.1f} at the start\n\n{table}\n\n")
    path = BENCH / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    heading = f"\n## {section}\n"
    if heading not in text:
        text = text.rstrip("\n") + "\n" + heading + "\n"
    start = text.index(heading) + len(heading)
    end = text.find("\n## ", start)
    end = len(text) if end < 0 else end + 1
    text = text[:end].rstrip("\n") + "\n\n" + run + text[end:]
    path.write_text(text.rstrip("\n") + "\n")

if __name__ == "__main__":
    main()
