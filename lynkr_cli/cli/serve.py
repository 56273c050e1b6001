"""``lynkr serve``: run the proxy standalone until SIGINT/SIGTERM, with a live status line on a TTY."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, List, Optional

import typer

if TYPE_CHECKING:
    from lynkr_cli.proxy.front import ProxyFront
    from lynkr_cli.serve import ServeStats


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
        help="Access token clients must send, 32+ random characters ('auto': a new one for this run) "
             "[default: LYNKR_SERVE_TOKEN, config serve.token, else one kept in $LYNKR_HOME/serve-token].",
    ),
    no_token: bool = typer.Option(
        False, "--no-token",
        help="Loopback only: no token; each request must bring its own provider key (keys lynkr holds are not used).",
    ),
    allow_host: Optional[List[str]] = typer.Option(
        None, "--allow-host", metavar="NAME",
        help="A host name clients may use besides IP addresses and localhost (repeatable; config serve.allowed_hosts).",
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
    storage: Optional[str] = typer.Option(
        None, "--storage", metavar="URL",
        help="postgresql:// URL shared by replicas [default: [storage] url, LYNKR_STORAGE__URL, else SQLite].",
    ),
    log_format: str = typer.Option("text", "--log-format", metavar="text|json", help="Request log lines as text or JSON."),
) -> None:
    """Serve the lynkr proxy for Cursor, Cline, Continue, SDKs: Anthropic and OpenAI routes under /v1."""
    import os
    import signal
    import threading

    from lynkr_cli.errors import UsageError
    from lynkr_cli.proxy.server import ProxyServer, bind_socket
    from lynkr_cli.serve import ServeLedger, is_loopback, name_client
    from lynkr_cli.config import load_settings

    if profile:
        os.environ["LYNKR_PROFILE"] = profile  # the proxy's own settings read it too
    if cache is not None:
        if cache not in ("off", "exact", "semantic"):
            raise UsageError(f"--cache must be one of off, exact, semantic, not {cache!r}")
        os.environ["LYNKR_CACHE"] = cache  # read by the proxy's settings, like the profile
    if model:
        from lynkr_cli.providers.base import parse_model_ref

        parse_model_ref(model)  # unknown provider or malformed ref: exit 2 now, not on the first request
    if storage is not None:
        from lynkr_cli.cli.storage_option import warn_password_in_argv

        warn_password_in_argv(storage)
    if log_format not in ("text", "json"):
        raise UsageError(f"--log-format must be text or json, not {log_format!r}")
    settings = load_settings(flags={"serve.host": host, "serve.port": port, "storage.url": storage})
    host, port = settings.serve.host, settings.serve.port
    secret, token_note = _access_token(token, no_token, settings, host)
    hosts = list(allow_host or [])
    if not is_loopback(host):  # clients on the network may use this machine's name
        import socket

        hosts += [host, socket.gethostname(), socket.gethostname().split(".", 1)[0]]
    upstream_url = upstream or os.environ.get("ANTHROPIC_BASE_URL") or None
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        import errno

        # A port taken or reserved wants another port; anything else (a name that does not resolve, an
        # address this machine does not have) is about the host.
        hint = "try --port 0 or another port" if exc.errno in (errno.EADDRINUSE, errno.EACCES) else "check --host"
        raise UsageError(f"cannot bind {host}:{port}: {exc.strerror} ({hint})") from None

    from lynkr_cli.assemble import ProxyOptions, ProxySetup
    from lynkr_cli.ops.gateway import Gateway

    if log_format == "json":
        from lynkr_cli.ops.logs import use_json_logs

        use_json_logs()
    else:
        from lynkr_cli.proxy.logs import log_to_stderr

        log_to_stderr()  # the proxy's warnings, redacted and escaped (proxy/logs.py)
    gateway = Gateway.open(settings)  # team storage, keys, metrics (lynkr_cli/ops/gateway.py)
    status = _StatusLine(quiet, log_format)
    ledger = ServeLedger(upstream=upstream_url or "", on_record=status.on_record, storage=gateway.storage)
    status.stats = ledger.stats
    gateway.watch(ledger)

    options = ProxyOptions(model=model, allowed_hosts=tuple(hosts), serving=True)
    setup = ProxySetup("serve", secret, ledger, upstream_url, gateway.team)

    def build() -> ProxyFront:
        """The proxy from the config as it is now (SIGHUP builds a new one the same way)."""
        from lynkr_cli.assemble import build_app

        front = build_app(load_settings(), options, setup)
        front.observe = name_client  # each request's client names its ledger session
        return front

    server = ProxyServer(sock, lambda: gateway.app(build, secret, tuple(settings.serve.allowed_hosts) + tuple(hosts),
                                                   tuple(settings.serve.allowed_origins)),
                         max_connections=settings.serve.max_connections)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: _reload(gateway, status))
    server.start()
    if not server.wait_serving(60):
        raise UsageError(f"the proxy did not start: {server.error}")
    base = f"{server.url}/s/{secret}" if secret else server.url
    status.say(f"lynkr serve: listening on {server.url}", "listening", url=server.url,
               storage=gateway.storage.label, pid=os.getpid(), **({"token": secret} if token == "auto" else {}))
    status.say(f"  Anthropic clients: base URL {base}")
    status.say(f"  OpenAI clients:    base URL {base}/v1")
    status.say(f"  {token_note}")
    status.say(f"  storage: {gateway.storage.label}; user keys: lynkr keys create NAME; /metrics, /healthz, /readyz")
    status.say("  Ctrl-C stops, SIGHUP reloads the config; sessions are recorded in the ledger (lynkr report)")
    if ledger.flush(10) and ledger.error is not None:  # a corrupt or unusable ledger: said once, still serving
        from lynkr_cli.printable import printable

        status.say(f"lynkr serve: requests are served but not recorded: {printable(ledger.error)}")
    status.run_until(stop, server.url)
    gateway.stopping = True  # /readyz says so while requests drain
    server.stop(timeout=15.0)
    ledger.finish_all()
    ledger.flush()
    ledger.close()
    gateway.close()
    s = ledger.stats
    status.say(f"lynkr serve: stopped · {ledger.session_count} session(s) · {s.requests} request(s) "
               f"({s.errors} error(s)) · cost ${s.cost_usd:.4f}", "stopped", requests=s.requests, errors=s.errors,
               spooled=ledger.spooled)
    if server.error is not None:
        raise UsageError(f"the proxy failed: {server.error}")


def _access_token(token: str | None, no_token: bool, settings, host: str) -> tuple[str | None, str]:  # type: ignore[no-untyped-def]
    """The token clients must send (None with ``--no-token``) and the line that tells the user where it is."""
    from lynkr_cli.errors import UsageError
    from lynkr_cli.serve import is_loopback

    if no_token:
        if token:
            raise UsageError("give --token or --no-token, not both")
        if not is_loopback(host):
            raise UsageError(f"--no-token is for loopback only: binding {host} lets other machines in (leave "
                             "--no-token out; clients then need the token)")
        return None, ("warning: --no-token: any process on this machine can call this proxy; each request must "
                      "bring its own provider key, which goes only to that key's provider (keys lynkr holds are "
                      "not used), and a request without one gets 401")
    from lynkr_cli.proxy.auth import new_token
    from lynkr_cli.serve_token import checked_token, stored_token

    if token == "auto":
        return new_token(), "token: a new one for this run, in the URLs above (or send it as X-Lynkr-Token or as the API key)"
    if token:
        return checked_token(token, "--token"), "token: --token (in the path above, as X-Lynkr-Token or as the API key)"
    if settings.serve.token is not None:
        return (checked_token(settings.serve.token.get_secret_value(), "LYNKR_SERVE_TOKEN / serve.token"),
                "token: LYNKR_SERVE_TOKEN / serve.token (in the path above, as X-Lynkr-Token or as the API key)")
    secret, created = stored_token()
    from lynkr_cli.serve_token import token_file

    made = "new, " if created else ""
    return secret, f"token: {made}kept in {token_file()} (in the path above, as X-Lynkr-Token or as the API key)"


def _reload(gateway, status) -> None:  # type: ignore[no-untyped-def]
    """SIGHUP: rebuild the proxy from the config as it is now (``ops/reload.py``); said when done."""
    try:
        future = gateway.reload()
    except Exception as exc:  # not serving yet
        status.say(f"lynkr serve: cannot reload yet: {exc}", "reload", ok=False)
        return
    future.add_done_callback(lambda f: status.say(f"lynkr serve: {f.result()}", "reload",
                                                  ok=not f.result().startswith("reload failed")))


class _StatusLine:
    """A live one-line status with rich on a TTY; one log line per request otherwise (unless quiet)."""

    def __init__(self, quiet: bool, log_format: str = "text") -> None:
        self.quiet = quiet
        self.json = log_format == "json"
        self.tty = sys.stderr.isatty() and not self.json
        self.stats: ServeStats | None = None  # set once the ledger exists

    def say(self, text: str, event: str | None = None, **fields) -> None:  # type: ignore[no-untyped-def]
        """A note from the server: the text line, or in JSON one ``serve`` event (lines without an
        event are part of the text banner only)."""
        if self.json:
            if event is not None:
                from lynkr_cli.ops.logs import line

                print(line("serve", action=event, **fields), file=sys.stderr, flush=True)
            return
        print(text, file=sys.stderr, flush=True)

    def on_record(self, record) -> None:  # type: ignore[no-untyped-def]
        if self.quiet:
            return
        if self.json:
            from lynkr_cli.ops.logs import request_line

            print(request_line(record), file=sys.stderr, flush=True)
            return
        if self.tty:
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
