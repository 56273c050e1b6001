"""``lynkr serve``: run the proxy standalone until SIGINT/SIGTERM, with a live status line on a TTY."""

from __future__ import annotations

import sys
from typing import Optional

import typer


def serve(
    host: Optional[str] = typer.Option(
        None, "--host", metavar="HOST", help="Address to bind [default: 127.0.0.1, config serve.host, LYNKR_HOST]."
    ),
    port: Optional[int] = typer.Option(
        None, "--port", metavar="PORT",
        help="Port to bind; 0 picks a free one [default: 8081, config serve.port, LYNKR_PORT]."
    ),
    token: Optional[str] = typer.Option(
        None, "--token", metavar="TOKEN",
        help="Access token clients must send ('auto' generates one; or LYNKR_SERVE_TOKEN). Required beyond loopback."
    ),
    profile: Optional[str] = typer.Option(
        None, "--profile", "-p", metavar="NAME", help="Apply a config profile (see `lynkr profiles`)."
    ),
    upstream: Optional[str] = typer.Option(
        None, "--upstream", metavar="URL",
        help="Anthropic upstream [default: ANTHROPIC_BASE_URL, config anthropic_base_url, else api.anthropic.com].",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No status line or per-request log."),
    cache: Optional[str] = typer.Option(
        None, "--cache", metavar="off|exact|semantic",
        help="Response cache mode [default: cache.mode in the config or LYNKR_CACHE, else off].",
    ),
    model: Optional[str] = typer.Option(
        None, "--model", metavar="PROVIDER:MODEL", help="Send every request to one model (e.g. ollama:qwen2.5-coder)."
    ),
) -> None:
    """Serve the lynkr proxy for Cursor, Cline, Continue, SDKs: Anthropic and OpenAI routes under /v1."""
    import os
    import signal
    import threading

    from lynkr_cli.errors import UsageError
    from lynkr_cli.proxy.auth import new_token
    from lynkr_cli.proxy.server import ProxyServer, bind_socket
    from lynkr_cli.serve import ClientMiddleware, ServeLedger, is_loopback
    from lynkr_cli.settings import load_settings

    if profile:
        os.environ["LYNKR_PROFILE"] = profile  # the proxy's own settings read it too
    if cache is not None:
        if cache not in ("off", "exact", "semantic"):
            raise UsageError(f"--cache must be one of off, exact, semantic, not {cache!r}")
        os.environ["LYNKR_CACHE"] = cache  # read by the proxy's settings, like the profile
    if model:
        from lynkr_cli.providers.base import parse_model_ref

        parse_model_ref(model)  # unknown provider or malformed ref: exit 2 now, not on the first request
    settings = load_settings(flags={"serve.host": host, "serve.port": port})
    host, port = settings.serve.host, settings.serve.port
    secret = token or (settings.serve.token.get_secret_value() if settings.serve.token else None)
    generated = secret == "auto"
    if generated:
        secret = new_token()
    if not secret and not is_loopback(host):
        raise UsageError(
            f"binding {host} exposes the proxy beyond this machine: give --token TOKEN (or --token auto), "
            "or set LYNKR_SERVE_TOKEN"
        )
    upstream_url = upstream or os.environ.get("ANTHROPIC_BASE_URL") or None
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        import errno

        # A port taken or reserved wants another port; anything else (a name that does not resolve, an
        # address this machine does not have) is about the host.
        hint = "try --port 0 or another port" if exc.errno in (errno.EADDRINUSE, errno.EACCES) else "check --host"
        raise UsageError(f"cannot bind {host}:{port}: {exc.strerror} ({hint})") from None

    status = _StatusLine(quiet)
    ledger = ServeLedger(upstream=upstream_url or "", on_record=status.on_record)
    status.stats = ledger.stats

    def build():  # type: ignore[no-untyped-def]
        from lynkr_cli.session import RunOptions, _build_app

        options = RunOptions(command=[], extra={"model": model}) if model else None
        return ClientMiddleware(_build_app("serve", secret, ledger, upstream_url, options))

    server = ProxyServer(sock, build)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    if not server.wait_serving(60):
        raise UsageError(f"the proxy did not start: {server.error}")
    base = f"{server.url}/s/{secret}" if secret else server.url
    print(f"lynkr serve: listening on {server.url}", file=sys.stderr, flush=True)
    print(f"  Anthropic clients: base URL {base}", file=sys.stderr)
    print(f"  OpenAI clients:    base URL {base}/v1", file=sys.stderr)
    if generated:
        print(f"  token: {secret}  (or send it as X-Lynkr-Token)", file=sys.stderr)
    print("  Ctrl-C stops; sessions are recorded in the ledger (lynkr report)", file=sys.stderr, flush=True)
    status.run_until(stop, server.url)
    server.stop(timeout=15.0)
    ledger.finish_all()
    ledger.flush()
    ledger.close()
    s = ledger.stats
    print(
        f"lynkr serve: stopped · {ledger.session_count} session(s) · {s.requests} request(s) "
        f"({s.errors} error(s)) · cost ${s.cost_usd:.4f}",
        file=sys.stderr,
    )
    if server.error is not None:
        raise UsageError(f"the proxy failed: {server.error}")


class _StatusLine:
    """A live one-line status with rich on a TTY; one log line per request otherwise (unless quiet)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.stats = None  # set once the ledger exists

    def on_record(self, record) -> None:  # type: ignore[no-untyped-def]
        if self.quiet or self.tty:
            return
        from lynkr_cli.printable import printable

        model = record.model_used or record.model_requested or "-"  # the client's words: escaped
        print(f"lynkr serve: {printable(record.route)} {printable(model)} {record.status} "
              f"{record.latency_ms or 0:.0f}ms", file=sys.stderr, flush=True)

    def text(self, url: str) -> str:
        s = self.stats
        if s is None:
            return url
        from lynkr_cli.cli.render import fmt_tokens

        return (f"{url} · {s.requests} req · {s.errors} err · in {fmt_tokens(s.input_tokens)} · "
                f"out {fmt_tokens(s.output_tokens)} · ${s.cost_usd:.4f}" + (f" · last {s.last}" if s.last else ""))

    def run_until(self, stop, url: str) -> None:  # type: ignore[no-untyped-def]
        if self.quiet or not self.tty:
            while not stop.wait(0.5):
                pass
            return
        from rich.console import Console
        from rich.live import Live

        with Live("", console=Console(stderr=True, markup=False), refresh_per_second=4, transient=True) as live:
            while not stop.wait(0.25):
                live.update(self.text(url))
