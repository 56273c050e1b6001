"""Hostile clients against ``lynkr serve``: how much they cost everyone else.

    python bench/abuse.py [--quick] [--root PATH] [--only huge|parallel|crowd]

``--root`` runs the lynkr found in another checkout (``PYTHONPATH``), so one invocation per tree
measures before and after on the same machine. Three scenarios, each against a fresh ``lynkr serve``
(token, ``--quiet``) in front of ``instant_upstream.py``:

- ``huge``: a client sends small requests one after another while another sends one 36 MB body of
  10^6 tiny messages; reported: the small requests' p50, p99 and worst latency during the huge one
  (the event loop's stall), and the huge one's answer.
- ``parallel``: eight clients send such a body at once; reported: the server's peak resident memory
  growth (``VmHWM``) and the statuses.
- ``crowd``: under ``prlimit --nofile=1024:1024``, 1,100 connections stall (half mid-header, half
  mid-body), then one normal request; reported: whether and when it is answered, and the server's
  stderr bytes per second meanwhile (accept-error logging).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
TOKEN = "Zq8vN3kP0wXr5sT7uY2aB4cD6eF9gH1jK_-LmNoPqRs"
SMALL = json.dumps({"model": "claude-haiku-4-5", "max_tokens": 5,
                    "messages": [{"role": "user", "content": "ping"}]}).encode()


def huge_body(messages: int) -> bytes:
    parts = ",".join('{"role":"user","content":"x"}' for _ in range(messages))
    return ('{"model":"claude-haiku-4-5","max_tokens":5,"messages":[' + parts + "]}").encode()


class Server:
    """``lynkr serve`` from ``root`` (optionally under prlimit), its URL and pid."""

    def __init__(self, root: Path, upstream: str, prefix: tuple[str, ...] = ()) -> None:
        self.home = tempfile.mkdtemp(prefix="lynkr-abuse-")
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME", "TMPDIR")}
        env.update(PYTHONPATH=str(root), LYNKR_HOME=self.home, LYNKR_CONFIG_HOME=f"{self.home}/config",
                   ANTHROPIC_API_KEY="sk-ant-bench")
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([*prefix, sys.executable, "-m", "lynkr_cli", "serve", "--port", "0", "--token",
                                      TOKEN, "--upstream", upstream, "--quiet"], env=env, stderr=subprocess.PIPE,
                                     cwd=root)  # ``-m`` puts the working directory first on the path
        assert self.proc.stderr is not None
        for line in iter(self.proc.stderr.readline, b""):
            if b"listening on" in line:
                self.port = int(line.split(b"listening on", 1)[1].split()[0].rsplit(b":", 1)[1])
                break
        else:
            raise SystemExit("lynkr serve did not start")
        self.bytes_err = 0
        threading.Thread(target=self._drain, daemon=True).start()
        pids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        self.pid = int(pids[0]) if prefix and pids else self.proc.pid

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        while data := self.proc.stderr.read1(65536):  # type: ignore[attr-defined]
            self.bytes_err += len(data)

    def rss(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
        return 0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def post(port: int, body: bytes, timeout: float = 120) -> tuple[int, float]:
    """(status, seconds) of one request on its own connection; status 0 when the connection broke."""
    head = (f"POST /s/{TOKEN}/v1/messages HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
            f"x-api-key: sk-ant-bench\r\nanthropic-version: 2023-06-01\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n").encode()
    t0 = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(head + body)
            answer = b""
            while data := sock.recv(65536):
                answer += data
        return int(answer.split(b" ", 2)[1]), time.perf_counter() - t0
    except (OSError, IndexError, ValueError):
        return 0, time.perf_counter() - t0


def scenario_huge(root: Path, upstream: str, messages: int) -> dict[str, object]:
    server = Server(root, upstream)
    body = huge_body(messages)
    latencies: list[float] = []
    done = threading.Event()
    outcome: list[tuple[int, float]] = []
    try:
        for _ in range(20):
            post(server.port, SMALL)  # warm
        worker = threading.Thread(target=lambda: (outcome.append(post(server.port, body)), done.set()))
        worker.start()
        while not done.is_set():
            latencies.append(post(server.port, SMALL)[1] * 1000)
        worker.join()
    finally:
        server.stop()
    latencies.sort()
    return {"body MB": round(len(body) / 1e6, 1), "huge status": outcome[0][0], "huge s": round(outcome[0][1], 2),
            "small requests": len(latencies), "small p50 ms": round(statistics.median(latencies), 1),
            "small p99 ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
            "small max ms": round(latencies[-1], 1)}


def scenario_parallel(root: Path, upstream: str, messages: int, clients: int = 8) -> dict[str, object]:
    server = Server(root, upstream)
    body = huge_body(messages)
    try:
        post(server.port, SMALL)
        before = server.rss("VmHWM")
        results: list[tuple[int, float]] = []
        threads = [threading.Thread(target=lambda: results.append(post(server.port, body))) for _ in range(clients)]
        t0 = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - t0
        peak = server.rss("VmHWM")
        still = post(server.port, SMALL)[0]
    finally:
        server.stop()
    return {"clients": clients, "body MB": round(len(body) / 1e6, 1), "statuses": sorted(s for s, _ in results),
            "all answered s": round(elapsed, 1), "peak RSS growth MB": peak - before, "then a small request": still}


def scenario_crowd(root: Path, upstream: str, crowd: int = 1100) -> dict[str, object]:
    server = Server(root, upstream, prefix=("prlimit", "--nofile=1024:1024"))
    sockets: list[socket.socket] = []
    try:
        for i in range(crowd):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            if i % 2:
                sock.sendall(f"POST /s/{TOKEN}/v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: "
                             "application/json\r\ncontent-length: 100000\r\n\r\n{\"messages\": [".encode())
            else:
                sock.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\n")
            sockets.append(sock)
        err0 = server.bytes_err
        status, seconds = post(server.port, SMALL, timeout=30)
        time.sleep(3)
        rate = (server.bytes_err - err0) / (seconds + 3)
    finally:
        for sock in sockets:
            sock.close()
        server.stop()
    return {"stalled connections": crowd, "normal request status": status or "no answer",
            "normal request s": round(seconds, 2), "stderr bytes/s": round(rate)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10^5 messages instead of 10^6 (a smoke run)")
    parser.add_argument("--root", type=Path, default=BENCH.parent, help="the lynkr checkout to run")
    parser.add_argument("--only", choices=("huge", "parallel", "crowd"))
    args = parser.parse_args()
    messages = 100_000 if args.quick else 1_000_000
    upstream = subprocess.Popen([sys.executable, str(BENCH / "instant_upstream.py")], stdout=subprocess.PIPE)
    assert upstream.stdout is not None
    port = upstream.stdout.readline().decode().strip().split()[-1]
    url = f"http://127.0.0.1:{port}"
    commit = subprocess.run(["git", "-C", str(args.root), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"lynkr at {args.root} ({commit}); load {open('/proc/loadavg').read().split()[:3]}")
    try:
        for name, run in (("huge", lambda: scenario_huge(args.root, url, messages)),
                          ("parallel", lambda: scenario_parallel(args.root, url, messages)),
                          ("crowd", lambda: scenario_crowd(args.root, url))):
            if args.only in (None, name):
                print(name, json.dumps(run()), flush=True)
    finally:
        upstream.terminate()


if __name__ == "__main__":
    main()
