"""``lynkr serve`` as a real process, and raw-socket requests, for the security tests."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import httpx

from tests.conftest import lynkr_command

TOKEN = "Zq8vN3kP0wXr5sT7uY2aB4cD6eF9gH1jK_-LmNoPqRs"  # 43 characters, as `lynkr serve` generates


class Served:
    """``lynkr serve ARGS`` until it says where it listens; ``stop()`` gives (exit code, all stderr)."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(lynkr_command("serve", *args), env=env, cwd=cwd, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: list[str] = []
        assert self.proc.stderr is not None
        self.base = ""
        for line in self.proc.stderr:
            self.lines.append(line)
            if "listening on" in line:
                self.url = line.split("listening on", 1)[1].split()[0].strip()
            elif "Anthropic clients: base URL" in line:
                self.base = line.rsplit(" ", 1)[1].strip()  # with the token in its path
            elif "Ctrl-C stops" in line:
                break
        else:
            raise AssertionError("".join(self.lines))
        self.host = httpx.URL(self.url).host
        self.port = httpx.URL(self.url).port

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        rest = self.proc.stderr.read() if self.proc.stderr else ""
        return self.proc.wait(30), "".join(self.lines) + rest

    def __enter__(self) -> "Served":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc.stderr:
            self.proc.stderr.close()


def raw_request(host: str, port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send bytes as they are (no client library to clean them up); the whole answer until close."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def http_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """An HTTP/1.1 request as bytes, ``connection: close`` added."""
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"content-length: {len(body)}")
    lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])
