"""``lynkr run``: proxy up, agent launched and supervised, ledger closed, report printed.

Start-up order is chosen for speed and safety: signals are blocked and the listening socket bound
first; the agent is spawned while lynkr still has one thread (fork-safe); only then do the ledger
writer and the proxy server threads start, the proxy importing its heavy modules while the agent
boots. Nothing lynkr does prints to the terminal while the agent runs.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lynkr_cli import __version__
from lynkr_cli.agents import agent_for
from lynkr_cli.agents.base import Launch, ProxyEndpoint, with_no_proxy
from lynkr_cli.errors import AgentNotFound, AgentNotRunnable, LynkrError, UsageError

if TYPE_CHECKING:
    from lynkr_cli.config.check import CheckedConfig
    from lynkr_cli.ledger import Ledger

REPORT_MODES = ("none", "short", "full")


@dataclass
class RunOptions:
    """What ``lynkr run`` was asked to do (from the command line; config is read by the proxy)."""

    command: list[str]
    generic: bool = False
    agent_bin: str | None = None
    report: str = "short"
    report_json: Path | None = None
    extra: dict[str, object] = field(default_factory=dict)
    config: "CheckedConfig | None" = None  # set by run(): the config checked before the agent started

    @classmethod
    def from_values(cls, values: dict[str, object], command: list[str], generic: bool) -> "RunOptions":
        """Build from parsed ``lynkr run`` options (``cli/run_options.py``): each option's ``dest`` is a
        field here, or lands in ``extra``."""
        names = {f.name for f in fields(cls)}
        known: dict[str, Any] = {k: v for k, v in values.items() if k in names}
        extra = {k: v for k, v in values.items() if k not in names}
        if known.get("report_json") is not None:
            known["report_json"] = Path(str(known["report_json"]))
        return cls(command=command, generic=generic, **known, extra=extra)


def new_session_id() -> str:
    import secrets

    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def resolve_binary(name: str, explicit: str | None, install_hint: str, generic: bool = False) -> str:
    """The agent's executable: ``--agent-bin`` if given, else found on PATH, else one line saying
    what to do: install a known agent, or (for a name lynkr does not know, often a typo such as
    ``lynkr run claud``) which agents it knows and how to run any other command."""
    if explicit:
        path = shutil.which(explicit) or (explicit if os.access(explicit, os.X_OK) else None)
        if path is None:
            raise AgentNotFound(f"--agent-bin {explicit!r} is not an executable file")
        return path
    path = shutil.which(name)
    if path is not None:
        return path
    if install_hint:  # claude or codex, not installed (or installed elsewhere)
        raise AgentNotFound(f"{name!r} was not found on PATH; install it with: {install_hint} "
                            "(or pass --agent-bin PATH)")
    if generic:  # lynkr run -- CMD: the command itself is missing, as a shell would say
        raise AgentNotFound(f"{name!r} was not found on PATH")
    import difflib

    from lynkr_cli.agents import KNOWN_AGENTS

    close = difflib.get_close_matches(os.path.basename(name), list(KNOWN_AGENTS), n=1, cutoff=0.6)
    guess = f"did you mean {close[0]!r}? " if close else ""
    agents = " and ".join(KNOWN_AGENTS)
    raise AgentNotFound(f"{name!r} was not found on PATH: {guess}lynkr knows the agents {agents} "
                        f"(lynkr run claude), and runs any other command after -- (lynkr run -- {name} ...)")


def run(options: RunOptions) -> int:
    """Run one agent session through the proxy; returns the exit code lynkr should exit with."""
    from lynkr_cli import supervise
    from lynkr_cli.agents.private import PrivateFiles
    from lynkr_cli.paths import data_home
    from lynkr_cli.preflight import preflight
    from lynkr_cli.proxy.auth import new_token
    from lynkr_cli.proxy.server import bind_socket

    if options.report not in REPORT_MODES:
        raise UsageError(f"--report must be one of {', '.join(REPORT_MODES)}, not {options.report!r}")
    if not options.command:
        raise UsageError("nothing to run: give an agent (lynkr run claude) or a command (lynkr run -- CMD)")
    if options.extra.get("stage"):
        from lynkr_cli.pipeline.switches import parse_stage_switch

        for switch in options.extra["stage"]:  # type: ignore[attr-defined]
            parse_stage_switch(str(switch))  # a typo fails here, before the agent starts
    if options.report_json is not None and not Path(options.report_json).parent.is_dir():
        # A mistyped directory must not cost the report of a whole session: say so before it starts.
        raise UsageError(f"--report-json {options.report_json}: directory {Path(options.report_json).parent} "
                         "does not exist")
    agent = agent_for(options.command[0], generic=options.generic)
    binary = resolve_binary(options.command[0], options.agent_bin, agent.install_hint, options.generic)
    # Config, routes, credentials: a run that cannot work fails here, before the agent starts.
    model = options.extra.get("model")
    checked = preflight(agent, options.command[1:], str(model) if model else None, data_home())
    options.config, model_ref = checked.config, checked.model_ref
    if checked.login.warning:
        print(f"lynkr: {checked.login.warning}", file=sys.stderr)

    # The upstream is whatever the user's environment pointed at before lynkr replaced it.
    upstream = os.environ.get("ANTHROPIC_BASE_URL") or None
    # lynkr's own HTTP client must never send loopback traffic through the user's proxy either.
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = with_no_proxy(
        ",".join(filter(None, [os.environ.get("NO_PROXY"), os.environ.get("no_proxy")]))
    )

    supervise.block_signals()
    sock = bind_socket()
    token = new_token()
    session_id = new_session_id()
    host, port = sock.getsockname()[:2]
    endpoint = ProxyEndpoint(base_url=f"http://{host}:{port}/s/{token}",
                             provider=model_ref.provider if model_ref else None,
                             model=model_ref.model if model_ref else None,
                             token=token, token_as_key=checked.login.token_as_key, session_id=session_id)
    agent_env = dict(os.environ)
    if options.extra.get("tool_search") and agent.name == "claude":
        agent_env["ENABLE_TOOL_SEARCH"] = "true"  # Claude Code's own deferred tool loading (issue 5)
    files = PrivateFiles.for_run(data_home())
    try:
        launch = agent.launch(binary, options.command[1:], endpoint, agent_env, files)
        return _supervise(options, agent.name, binary, launch, sock, session_id, token, upstream, model_ref)
    finally:
        files.close()  # the settings file holding the token: gone when the run ends, however it ends


def _supervise(options: RunOptions, agent_name: str, binary: str, launch: Launch, sock: socket.socket,
               session_id: str, token: str, upstream: str | None, model_ref: object) -> int:
    """Spawn the agent, serve it, wait for it, record the session and print the report."""
    from lynkr_cli import supervise
    from lynkr_cli.proxy.server import ProxyServer

    started_at = time.time()
    try:
        child = supervise.spawn(launch)
    except OSError as exc:  # found but not executable: a directory, a script whose interpreter is missing
        reason = exc.strerror or str(exc)
        if isinstance(exc, FileNotFoundError) and os.path.exists(binary):
            reason = "the interpreter on its #! line was not found"
        raise AgentNotRunnable(f"cannot run {binary}: {reason}") from None

    from lynkr_cli.ledger import Ledger, SessionRecord
    from lynkr_cli.redact import redact_argv

    from lynkr_cli.config.storage_hint import configured_storage

    checked_config = options.config
    # [storage] url: the team database, else the file (decided on the ledger's thread: no wait here)
    ledger = Ledger(resolve_storage=lambda: configured_storage(checked_config))
    ledger.start_session(
        SessionRecord(
            id=session_id,
            agent=agent_name,
            argv=redact_argv(options.command),
            cwd=os.getcwd(),
            started_at=started_at,
            pid=os.getpid(),
            lynkr_version=__version__,
            upstream=str(model_ref) if model_ref else upstream or "",
        )
    )
    skip_unused_imports()
    server = ProxyServer(
        sock,
        lambda: _build_app(session_id, token, ledger, upstream, options),
        on_failure=lambda _exc: child.terminate(),  # an agent without its proxy can only fail
        log_path=_log_path(ledger.path.parent),  # the agent owns the terminal (proxy/logs.py)
    )
    server.start()

    exit_code = supervise.wait(child)

    # Requests still in flight get a grace period; a server still importing has none to finish.
    if server.started:
        server.stop(timeout=10.0)
        from lynkr_cli.statusline.board import flush_all

        flush_all()  # the status line's state gets the last answer's figures too
    ledger.finish_session(session_id, exit_code)
    ledger.flush()
    ledger.close()
    try:
        _report(session_id, options, ledger, server.error or ledger.error)
    except (BrokenPipeError, SystemExit):
        # stderr's reader has gone (``2>&1 | head``; rich turns that into SystemExit(1)): the session
        # is recorded anyway, and lynkr still exits with the agent's code.
        pass
    except LynkrError as error:  # the ledger cannot be read back (a corrupt file): said once, code kept
        if str(error) != str(ledger.error):
            from lynkr_cli.printable import printable

            print(f"lynkr: {printable(error, newlines=True)}", file=sys.stderr)
    if isinstance(server.error, LynkrError):
        return server.error.exit_code  # e.g. an invalid config (2): the agent was stopped because of it
    return exit_code


def _log_path(home: Path) -> Path:
    """``$LYNKR_HOME/lynkr.log``; when that directory cannot be made (a file in the way, no permission),
    nowhere: the run goes on without a ledger (said once at the end), and a proxy that stopped for
    want of a log file would take the agent down with it."""
    try:
        from lynkr_cli.paths import ensure_private_dir

        ensure_private_dir(home)  # 0700: it holds the ledger and the settings files (a 0755 one leaked)
    except OSError:
        return Path(os.devnull)
    return home / "lynkr.log"


def skip_unused_imports() -> None:
    """Keep httpx from importing its command-line tool, which lynkr never runs.

    ``import httpx`` loads ``httpx._main`` (click, rich and pygments: ~65 ms of CPU on the 2-core VM)
    whenever those are installed, and Typer installs them. The proxy imports httpx on its thread while
    the agent boots, and every millisecond there is one the agent's first request may wait. A None
    entry in ``sys.modules`` makes that one import fail, which httpx handles (its ``main`` then
    explains that the CLI is unavailable).
    """
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def provider_overrides(providers) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    """``[providers.<id>]`` settings as the provider registry reads them (secrets unwrapped)."""
    out: dict[str, dict[str, object]] = {}
    for provider_id, entry in providers.items():
        values = {k: v for k, v in entry.model_dump().items() if v is not None and k != "model"}
        if entry.api_key is not None:
            values["api_key"] = entry.api_key.get_secret_value()
        out[provider_id] = values
    return out


def _build_app(session_id, token, ledger, upstream, options, team=None):  # type: ignore[no-untyped-def]
    """The proxy app; ``team`` (``lynkr_cli/team.py``, ``lynkr serve``): user keys, their limits, and
    the cache and routing turns shared with other replicas."""
    from lynkr_cli.proxy.app import create_app
    from lynkr_cli.proxy.context import DEFAULT_ANTHROPIC_UPSTREAM, ProxyContext
    from lynkr_cli.proxy.limits import BodyBudget
    from lynkr_cli.paths import data_home
    from lynkr_cli.pipeline.build import build_pipeline
    from lynkr_cli.pipeline.config import with_switches
    from lynkr_cli.config import load_settings

    # ``lynkr run`` checked its config before the agent started: build exactly that one.
    settings = options.config.settings() if options is not None and options.config is not None else load_settings()
    extra = options.extra if options is not None else {}  # ``lynkr serve`` passes no run options
    pipeline_config = with_switches(settings.pipeline, bool(extra.get("no_optimize")),
                                    list(extra.get("stage", ())))  # type: ignore[call-overload]
    ctx = ProxyContext(
        session_id=session_id,
        anthropic_upstream=upstream or settings.anthropic_base_url or DEFAULT_ANTHROPIC_UPSTREAM,
        ledger=ledger,
        token=token,
        max_body_bytes=settings.max_body_bytes,
        allowed_hosts=tuple(settings.serve.allowed_hosts) + tuple(extra.get("allowed_hosts", ())),  # type: ignore[arg-type]
        allowed_origins=tuple(settings.serve.allowed_origins),
        body_timeout=settings.serve.body_timeout_s,
        bodies=BodyBudget(settings.serve.body_budget_mb * 1024 * 1024),
        pipeline=build_pipeline(pipeline_config, decisions_dir=data_home() / "pipeline"),
    )
    ctx.providers, ctx.router = _providers_and_router(settings, ctx.anthropic_upstream, extra.get("model"))
    if (extra.get("cache") or settings.cache.mode) != "off":  # off: the context's NoCache, and no import
        # of the cache's modules (~70 ms of CPU compiling the guard's patterns while the agent boots)
        from lynkr_cli.cache.service import cache_from_settings

        ctx.cache = cache_from_settings(settings.cache, extra.get("cache"),  # type: ignore[arg-type]
                                        _cache_database(settings, team, extra.get("cache")))
    from lynkr_cli import housekeeping

    # Off the start-up path (a daemon thread, the agent already runs); ``lynkr serve`` (no command to
    # run, up for weeks) keeps re-checking.
    if options is None or not options.command:
        from lynkr_cli import background

        background.open_now()  # no agent boots next to ``lynkr serve``: warm up at once
    if team is None or not team.built:  # once per process, not again at each config reload
        housekeeping.start(data_home(), settings.retention_days, repeat=options is None or not options.command)
    if not extra.get("model"):  # --model: one model for everything, no tiers
        _use_tier_router(ctx, settings, ledger, team.turns() if team is not None else None)
    _watch(ctx, settings, session_id)
    if team is not None:
        team.equip(ctx)
    return create_app(ctx)


def _watch(ctx, settings, session_id: str) -> None:  # type: ignore[no-untyped-def]
    """Prices from the config, the loop guard, and the status line's live state (issue 18)."""
    from lynkr_cli.ledger.pricing import PriceBook
    from lynkr_cli.paths import data_home
    from lynkr_cli.proxy.loop_guard import LoopGuard
    from lynkr_cli.statusline.board import StatusBoard

    ctx.prices = PriceBook.from_config(settings.prices)
    # The catalogue (~150 ms of CPU) loads beside the proxy, not before it serves: the agent's first
    # request must not wait for it, and its loading never holds the interpreter lock for more than a
    # few ms (measured), so a request served meanwhile is slowed, not stopped.
    import threading

    threading.Thread(target=ctx.prices.warm, name="lynkr-prices", daemon=True).start()
    ctx.loop_guard = LoopGuard(settings.routing.loop_guard, settings.routing.loop_guard_repeats)
    board = StatusBoard(str(data_home()), settings.statusline.mode)
    if session_id != "serve":  # lynkr serve: one state per client session, started by its first request
        board.begin(session_id)
    ctx.listeners.append(board.observe)


def _cache_database(settings, team, mode: object):  # type: ignore[no-untyped-def]
    """Where the response cache lives: the team database (``lynkr serve``'s team, or ``[storage] url``
    for ``lynkr run``), else None for the SQLite file. A database that cannot be reached when a run
    starts leaves that run on the file (the cache fails open; the reason goes to lynkr.log)."""
    if team is not None:
        return team.cache_database()
    if settings.storage.url is None or (mode or settings.cache.mode) == "off":
        return None
    from lynkr_cli.storage import CACHE, DatabaseUnavailable, Storage

    try:
        return Storage.from_settings(settings).database(CACHE)
    except DatabaseUnavailable as exc:
        import logging

        logging.getLogger("lynkr.cache").warning("response cache on the local file: %s", exc)
        return None


def _providers_and_router(settings, anthropic_upstream: str, model: object):  # type: ignore[no-untyped-def]
    """The providers (environment + ``[providers.*]``; ``anthropic`` defaults to the session's upstream)
    and the router: ``--model`` for everything, else Lynkr's ``MODEL_PROVIDER``, else the client's own."""
    from lynkr_cli.providers.base import ProviderSet, parse_model_ref
    from lynkr_cli.routing.static import StaticRouter

    overrides = provider_overrides(settings.providers)
    from lynkr_cli.proxy.context import DEFAULT_ANTHROPIC_UPSTREAM

    anthropic = overrides.setdefault("anthropic", {})
    if anthropic_upstream != DEFAULT_ANTHROPIC_UPSTREAM or not anthropic.get("base_url"):
        anthropic["base_url"] = anthropic_upstream  # ANTHROPIC_BASE_URL / --upstream win over the file
    providers = ProviderSet(os.environ, overrides)
    if model:
        ref = parse_model_ref(str(model))
        return providers, StaticRouter(ref.provider, ref.model)
    default = settings.model_provider
    default_model = settings.providers[default].model if default and default in settings.providers else None
    return providers, StaticRouter(default_provider=default, default_model=default_model)


def _use_tier_router(ctx, settings, ledger, turns=None) -> None:  # type: ignore[no-untyped-def]
    """Tiers or a fallback chain configured: the tier router wraps the default route (issue 7)."""
    from lynkr_cli.routing.proxy import build_tier_router

    router = build_tier_router(settings, getattr(ledger, "path", None), default=ctx.router, turns=turns)
    if router.router.enabled or router.router.config.fallback:
        ctx.router = router
        ctx.listeners.append(router.observe)


def _report(session_id: str, options: RunOptions, ledger: "Ledger", failure: BaseException | None) -> None:
    if failure is not None:
        from lynkr_cli.printable import printable

        print(f"lynkr: error: {printable(failure, newlines=True)}", file=sys.stderr)
    if options.report == "none" and options.report_json is None:
        return
    from lynkr_cli.ledger.report import summarize

    reader = ledger.reader()
    try:
        session = reader.session(session_id)
        if session is None:
            return
        summary = summarize(session, reader.requests(session_id))
    finally:
        reader.close()
    if options.report_json is not None:
        try:
            options.report_json.write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
        except OSError as exc:  # the session is recorded (lynkr report --json has it) and the exit code kept
            print(f"lynkr: cannot write --report-json {options.report_json}: {exc.strerror or exc}", file=sys.stderr)
    if options.report == "short":
        from lynkr_cli.cli.render import short_report

        print(short_report(summary), file=sys.stderr)
    elif options.report == "full":
        from lynkr_cli.cli.render import print_full_report

        print_full_report(summary)
