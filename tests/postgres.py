"""A throwaway PostgreSQL server for the team-storage tests (a pytest plugin, see ``tests/conftest.py``).

One cluster per test session, made with ``initdb`` and run with ``pg_ctl`` on a free loopback port in
a temporary directory (durability settings off: it is thrown away). Each test that asks for
``pg_url`` gets a database of its own in it. As root the server runs as ``nobody``: ``initdb``
refuses to run as root. PostgreSQL missing: the tests skip locally and fail in CI
(``scripts/install-test-deps`` installs it), like the agent binaries.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

SUPERUSER = "lynkr"


def bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One cluster: ``url(dbname)``, ``stop()``/``start()`` (same port, same data) for outage tests."""

    def __init__(self, bin_dir: Path, root: Path, durable: bool = False) -> None:
        """``durable``: PostgreSQL's own defaults (fsync, synchronous commit), for benchmarks; tests
        turn them off, the cluster being thrown away."""
        self.durable = durable
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self._user = None
        if os.geteuid() == 0:
            import pwd

            self._user = pwd.getpwnam("nobody")
            os.chown(root, self._user.pw_uid, self._user.pw_gid)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        return subprocess.run([str(self.bin_dir / args[0]), *args[1:]], capture_output=True, text=True,
                              check=check, cwd=self.root, timeout=120, **kwargs)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--no-sync",
                  "-E", "UTF8", "--locale=C")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.root}'\n"
                       "max_connections = 200\n")
            if not self.durable:
                conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = 32MB\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    found = bin_dir()
    if found is None:
        _missing("PostgreSQL is not installed: run scripts/install-test-deps")
    root = Path(tempfile.mkdtemp(prefix="lynkr-pg-"))
    server = PostgresServer(found, root)  # type: ignore[arg-type]
    try:
        server.init()
        server.start()
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start a PostgreSQL cluster: {exc.stderr or exc.stdout}\n{server.log()}")
    try:
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the session's server."""
    return postgres_server.url(postgres_server.create_database())


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")
