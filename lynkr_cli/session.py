"""``lynkr run``: proxy up, agent launched and supervised, ledger closed, report printed.

Start-up order is chosen for speed and safety: signals are blocked and the listening socket bound
first; the agent is spawned while lynkr still has one thread (fork-safe); only then do the ledger
writer and the proxy server threads start, the proxy importing its heavy modules while the agent
boots. Nothing lynkr does prints to the terminal while the agent runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Mapping

from lynkr_cli import __version__
from lynkr_cli.agents import agent_for
from lynkr_cli.agents.base import Launch, ProxyEndpoint, with_no_proxy
from lynkr_cli.errors import AgentNotFound, AgentNotRunnable, LynkrError, UsageError

if TYPE_CHECKING:
    from lynkr_cli.assemble import ProxyOptions, ProxySetup
    from lynkr_cli.proxy.front import ProxyFront
    from lynkr_cli.config.check import CheckedConfig
    from lynkr_cli.ledger import Ledger

REPORT_MODES = ("none", "short", "full")


@dataclass
class RunOptions:
    """What ``lynkr run`` was asked to do: one field per option of ``cli/run_options.py`` (its ``dest``);
    the configuration itself is checked by ``preflight`` and handed to the proxy as ``config``."""

    command: list[str]
    generic: bool = False
    agent_bin: str | None = None
    report: str = "short"
    report_json: Path | None = None
    model: str | None = None
    no_optimize: bool = False
    tool_search: bool = False
    profile: str | None = None
    stage: tuple[str, ...] = ()
    cache: str | None = None
    config: CheckedConfig | None = None  # set by run(): the config checked before the agent started

    @classmethod
    def from_values(cls, values: Mapping[str, Any], command: list[str], generic: bool) -> RunOptions:
        """Build from parsed ``lynkr run`` options (``cli/run_options.py``); an option without a field
        here is a ``TypeError``, found by the tests, not a value silently dropped."""
        known = dict(values)
        if known.get("report_json") is not None:
            known["report_json"] = Path(str(known["report_json"]))
        known["stage"] = tuple(str(s) for s in known.get("stage") or ())
        return cls(command=command, generic=generic, **known)

    def proxy_options(self) -> ProxyOptions:
        """What this run asks of its proxy (``assemble.py``)."""
        from lynkr_cli.assemble import ProxyOptions

        return ProxyOptions(model=self.model, no_optimize=self.no_optimize, stages=self.stage, cache=self.cache)


# How the command prints the session's report once the agent exited: (session id, options, ledger,
# the proxy's or the ledger's failure). The command layer passes its own (``cli/exit_report.py``).
Reporter = Callable[[str, RunOptions, "Ledger", "BaseException | None"], None]


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


def run(options: RunOptions, report: Reporter) -> int:
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
    if options.stage:
        from lynkr_cli.pipeline.switches import parse_stage_switch

        for switch in options.stage:
            parse_stage_switch(switch)  # a typo fails here, before the agent starts
    if options.report_json is not None and not Path(options.report_json).parent.is_dir():
        # A mistyped directory must not cost the report of a whole session: say so before it starts.
        raise UsageError(f"--report-json {options.report_json}: directory {Path(options.report_json).parent} "
                         "does not exist")
    agent = agent_for(options.command[0], generic=options.generic)
    binary = resolve_binary(options.command[0], options.agent_bin, agent.install_hint, options.generic)
    # Config, routes, credentials: a run that cannot work fails here, before the agent starts.
    checked = preflight(agent, options.command[1:], options.model, data_home())
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
    if options.tool_search and agent.name == "claude":
        agent_env["ENABLE_TOOL_SEARCH"] = "true"  # Claude Code's own deferred tool loading (issue 5)
    files = PrivateFiles.for_run(data_home())
    try:
        launch = agent.launch(binary, options.command[1:], endpoint, agent_env, files)
        return _supervise(options, report, agent.name, binary, launch, sock, session_id, token, upstream, model_ref)
    finally:
        files.close()  # the settings file holding the token: gone when the run ends, however it ends


def _supervise(options: RunOptions, report: Reporter, agent_name: str, binary: str, launch: Launch,
               sock: socket.socket, session_id: str, token: str, upstream: str | None, model_ref: object) -> int:
    """Spawn the agent, serve it, wait for it, record the session and print the report."""
    from lynkr_cli import supervise
    from lynkr_cli.assemble import ProxySetup
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
        lambda: _build_app(options, ProxySetup(session_id, token, ledger, upstream)),
        on_failure=lambda _exc: child.terminate(),  # an agent without its proxy can only fail
        log_path=_log_path(ledger.path.parent),  # the agent owns the terminal (proxy/logs.py)
    )
    server.start()

    exit_code = supervise.wait(child)
    from lynkr_cli import background

    background.closing()  # deferred CPU work not started yet is skipped (lynkr_cli/background.py)

    # Requests still in flight get a grace period; a server still importing has none to finish.
    if server.started:
        server.stop(timeout=10.0)
        from lynkr_cli.statusline.board import flush_all

        flush_all()  # the status line's state gets the last answer's figures too
    ledger.finish_session(session_id, exit_code)
    ledger.flush()
    ledger.close()
    try:
        report(session_id, options, ledger, server.error or ledger.error)
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
    the agent boots, and every millisecond there is one the agent's first request may wait. An empty
    module registered under that name makes httpx's ``from ._main import main`` raise ImportError,
    which httpx handles (its ``main`` then explains that the CLI is unavailable). An empty module,
    rather than the ``None`` that ``sys.modules`` also accepts at run time, keeps the entry the type
    ``sys.modules`` declares, so no type-ignore hides anything here.
    """
    sys.modules.setdefault("httpx._main", ModuleType("httpx._main"))


def _build_app(options: RunOptions, setup: ProxySetup) -> ProxyFront:
    """The run's proxy, on the proxy's thread: from exactly the config checked before the agent
    started (its typed settings are built here, not on the agent's start path)."""
    from lynkr_cli.assemble import build_app
    from lynkr_cli.config import load_settings

    settings = options.config.settings() if options.config is not None else load_settings()
    return build_app(settings, options.proxy_options(), setup)
