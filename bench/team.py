"""A team gateway on one machine: 3 ``lynkr serve`` replicas on one PostgreSQL against 1 on SQLite.

    python bench/team.py [--clients 64] [--seconds 60] [--replicas 3] [--quick] [--record]

Three runs of the same load, one after the other, each against the instant fake upstream
(``instant_upstream.py``): the upstream directly (the floor), one ``lynkr serve`` on SQLite, and
``--replicas`` ``lynkr serve`` processes sharing a PostgreSQL database (a throwaway cluster with
PostgreSQL's own durability settings: fsync and synchronous commit on). ``--clients`` keep-alive
connections (one client process) stream the real ~77 KB Claude Code body back to back for
``--seconds``, spread over the replicas; every client uses a user key, so every request goes through
key admission, the key's limits (one budget read per request in the database) and a ledger row.

One key in eight has a small daily budget that the load reaches within seconds: its clients pause
for a second after each refusal (429), and the run records how far its spend went past the budget
(the bound: the requests in flight when it was reached). Afterwards the ledger must hold exactly one
row per answered request (200 or 429), the spool must be empty, and each replica's RSS is read from
/proc. Added latency is each run's p50/p99 minus the direct run's under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import overhead  # noqa: E402  (the HTTP client, the upstream launcher, the RESULTS.md writer)

TOKEN = "bench-serve-token-0123456789abcdefghijklmnop"
CAPPED_BUDGET = 10.0  # dollars: ~144 requests of the canned answer ($0.0694 each)


# -- the client process -----------------------------------------------------------------------------
def client_main(spec: str) -> None:
    """``spec``: JSON {"targets": [[url, key, capped], ...], "seconds": S}; prints JSON figures."""
    config = json.loads(spec)
    body = json.dumps(dict(json.loads(overhead.BODY_FILE.read_bytes()), stream=True), separators=(",", ":")).encode()
    latencies: list[float] = []
    counts = {"ok": 0, "refused": 0, "errors": 0}
    refused_after_first: list[float] = []

    async def session(url: str, key: str | None, capped: bool) -> None:
        target = overhead.Target("t", url)
        host, port, path = target.host_port_path
        conn = overhead.Connection(host, port)
        headers = f"x-lynkr-token: {key}\r\n" if key else ""
        stop = time.perf_counter() + config["seconds"]
        while time.perf_counter() < stop:
            try:
                _, total, _ = await conn.post(path, body, headers)
                latencies.append(total * 1000)
                counts["ok"] += 1
            except RuntimeError as exc:
                if "status 429" in str(exc) and capped:
                    counts["refused"] += 1
                    refused_after_first.append(time.perf_counter())
                    await asyncio.sleep(1.0)
                    continue
                counts["errors"] += 1
                conn.close()
            except Exception:  # noqa: BLE001 - counted and reported
                counts["errors"] += 1
                conn.close()
        conn.close()

    async def run() -> None:
        await asyncio.gather(*(session(url, key, capped) for url, key, capped in config["targets"]))

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    print(json.dumps({**counts, "elapsed": elapsed, "p50": overhead.pct(latencies, 50) if latencies else None,
                      "p99": overhead.pct(latencies, 99) if latencies else None}))


def load(targets: list[tuple[str, str | None, bool]], seconds: float) -> dict:
    spec = json.dumps({"targets": targets, "seconds": seconds})
    out = subprocess.run([sys.executable, __file__, "--client", spec], capture_output=True, text=True,
                         timeout=seconds * 4 + 120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout)


# -- the servers --------------------------------------------------------------------------------------
class Serve:
    """One ``lynkr serve`` process with a LYNKR_HOME of its own."""

    def __init__(self, root: Path, name: str, upstream: str, storage: str | None) -> None:
        self.home = root / name
        self.env = dict(os.environ, LYNKR_HOME=str(self.home), LYNKR_CONFIG_HOME=str(self.home / "config"),
                        PYTHONPATH=str(ROOT), ANTHROPIC_API_KEY=overhead.API_KEY)
        self.env.pop("LYNKR_STORAGE__URL", None)
        args = ["serve", "--port", "0", "--token", TOKEN, "--upstream", upstream, "--quiet"]
        if storage:
            args += ["--storage", storage]
        self.proc = subprocess.Popen([sys.executable, "-m", "lynkr_cli", *args], env=self.env,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if "listening on" in line:
                self.url = line.rsplit(" ", 1)[1].strip()
                break
        else:
            raise RuntimeError(f"lynkr serve did not start: {self.proc.wait()}")

    def rss_mb(self) -> tuple[float, float]:
        """(current, peak) resident memory of the process."""
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines()
                      if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def cpu_s(self) -> float:
        return _cpu_seconds(self.proc.pid)

    def spooled(self) -> float:
        import urllib.request

        request = urllib.request.Request(f"{self.url}/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        text = urllib.request.urlopen(request, timeout=10).read().decode()
        return float(next(l.split()[-1] for l in text.splitlines() if l.startswith("lynkr_ledger_spooled_rows")))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s(data_dir: Path) -> float:
    """CPU time of the PostgreSQL server: the postmaster and every backend it forked."""
    pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()
    total = 0.0
    for p in [pid, *map(int, children)]:
        try:
            total += _cpu_seconds(p)
        except OSError:  # a backend that exited meanwhile
            pass
    return total


def lynkr(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "lynkr_cli", *args], env=env, capture_output=True, text=True,
                         timeout=60)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return out.stdout


def make_keys(env: dict[str, str], storage: str | None, count: int) -> list[tuple[str, bool]]:
    """``count`` keys (token, capped): one in eight with the small daily budget, the rest $1M."""
    extra = ["--storage", storage] if storage else []
    keys = []
    for i in range(count):
        capped = i % 8 == 7
        budget = str(CAPPED_BUDGET if capped else 1_000_000)
        token = json.loads(lynkr(env, "keys", "create", f"k{i}", "--budget-daily", budget, "--json", *extra))["token"]
        keys.append((token, capped))
    return keys


def ledger_figures(query) -> dict:  # type: ignore[no-untyped-def]
    rows = query("SELECT COUNT(*), COUNT(DISTINCT uid), COALESCE(SUM(CASE WHEN status = 429 THEN 1 ELSE 0 END), 0)"
                 " FROM requests WHERE route = '/v1/messages'")[0]
    capped = query("SELECT COALESCE(SUM(cost_usd), 0), COUNT(*) FROM requests WHERE key_name = 'k7' AND status = 200")[0]
    counted = query("SELECT COALESCE(SUM(usd), 0) FROM spend WHERE scope = 'key:k7' AND period LIKE 'd:%'")[0][0]
    return {"rows": int(rows[0]), "distinct": int(rows[1]), "refused_rows": int(rows[2]),
            "capped_spend": float(capped[0]), "capped_requests": int(capped[1]), "capped_counted": float(counted)}


def run_config(name: str, root: Path, upstream: str, storage: str | None, replicas: int, clients: int,
               seconds: float, pg_data: Path | None = None) -> dict:
    servers = [Serve(root, f"{name}-{i}", upstream, storage) for i in range(replicas)]
    try:
        keys = make_keys(servers[0].env, storage, 8)
        time.sleep(2.5)  # every replica reads the new keys
        targets = [(servers[i % replicas].url, keys[i % 8][0], keys[i % 8][1]) for i in range(clients)]
        cpu_before = sum(s.cpu_s() for s in servers)
        pg_before = postgres_cpu_s(pg_data) if pg_data else 0.0
        figures = load(targets, seconds)
        cpu = sum(s.cpu_s() for s in servers) - cpu_before
        pg_cpu = postgres_cpu_s(pg_data) - pg_before if pg_data else 0.0
        deadline = time.monotonic() + 60
        while any(s.spooled() for s in servers) and time.monotonic() < deadline:
            time.sleep(0.5)
        rss = [s.rss_mb() for s in servers]
    finally:
        for server in servers:
            server.stop()
    if storage:
        import psycopg

        def query(sql: str):  # type: ignore[no-untyped-def]
            with psycopg.connect(storage) as conn:
                return conn.execute(sql.replace("%", "%%")).fetchall()
    else:
        import sqlite3

        def query(sql: str):  # type: ignore[no-untyped-def]
            with sqlite3.connect(servers[0].home / "ledger.sqlite3") as conn:
                return conn.execute(sql).fetchall()
    return {**figures, **ledger_figures(query), "rss": rss, "cpu_s": cpu, "pg_cpu_s": pg_cpu}


def run(args: argparse.Namespace) -> str:
    from tests.postgres import PostgresServer, bin_dir

    found = bin_dir()
    if found is None:
        raise SystemExit("PostgreSQL is not installed: run scripts/install-test-deps")
    root = Path(tempfile.mkdtemp(prefix="lynkr-team-bench-"))
    pg = PostgresServer(found, Path(tempfile.mkdtemp(prefix="lynkr-team-bench-pg-")), durable=True)
    pg.init()
    pg.start()
    results: dict[str, dict] = {}
    try:
        with overhead.start_upstream() as upstream:
            results["direct"] = load([(upstream.url, None, False)] * args.clients, args.seconds)
            results["sqlite"] = run_config("sqlite", root, upstream.url, None, 1, args.clients, args.seconds)
            url = pg.url(pg.create_database())
            results["postgresql"] = run_config("pg", root, upstream.url, url, args.replicas, args.clients, args.seconds,
                                               pg.data)
    finally:
        pg.stop("fast")
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(pg.root, ignore_errors=True)
    return table(results, args)


def table(results: dict[str, dict], args: argparse.Namespace) -> str:
    direct = results["direct"]
    lines = [f"{args.clients} streaming clients (one client process, keep-alive, the ~77 KB Claude Code body), "
             f"{args.seconds:g} s per run, each client on one of 8 user keys; answers cost $0.0694 at list prices; "
             f"key k7 has a ${CAPPED_BUDGET:g} daily budget", "",
             "| run | answered | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | refused (429) | errors "
             "| ledger rows = requests | budget overshoot | RSS MB per replica (peak) | CPU ms per request: lynkr, PostgreSQL |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|"]
    lines.append(f"| upstream direct | {direct['ok']} | {direct['ok'] / direct['elapsed']:.0f} | {direct['p50']:.1f} | "
                 f"{direct['p99']:.1f} | | | | {direct['errors']} | | | | |")
    for name, label in (("sqlite", "1 replica, SQLite"), ("postgresql", f"{args.replicas} replicas, 1 PostgreSQL")):
        r = results[name]
        answered = r["ok"] + r["refused"]
        rows_ok = r["rows"] == r["distinct"] == answered
        over = r["capped_spend"] - CAPPED_BUDGET
        overshoot = (f"${over:.2f} ({r['capped_requests']} req, {over / 0.06936:.1f} past the budget; counted "
                     f"${r['capped_counted']:.2f})")
        rss = ", ".join(f"{now:.0f} ({peak:.0f})" for now, peak in r["rss"])
        lines.append(f"| {label} | {r['ok']} | {r['ok'] / r['elapsed']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                     f"{r['p50'] - direct['p50']:+.1f} | {r['p99'] - direct['p99']:+.1f} | {r['refused']} | "
                     f"{r['errors']} | {'yes' if rows_ok else 'NO'} ({r['rows']} rows, {answered} answered) | "
                     f"{overshoot} | {rss} | {r['cpu_s'] * 1000 / answered:.2f}, {r['pg_cpu_s'] * 1000 / answered:.2f} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--record", action="store_true", help="add the table to bench/RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds = 16, 8.0
    overhead.LOAD_AT_START = os.getloadavg()[0]
    table_text = run(args)
    print(table_text)
    if args.record:
        overhead.record(table_text, "Team gateway", "team.py")


if __name__ == "__main__":
    main()
