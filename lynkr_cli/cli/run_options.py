"""The options of ``lynkr run``, declared once, used twice.

``lynkr run`` wraps every agent start, so it must not pay for Typer (about 0.1 s to import). The
console entry point parses ``run`` with :func:`parse_run_args`, a small parser driven by
:data:`RUN_OPTIONS`; ``lynkr run --help``, shell completion and anything this parser cannot decide go
to the Typer command, whose parameters are generated from the same table
(``lynkr_cli.cli.run.typer_parameters``). To add an option to ``lynkr run``, add a ``RunOption`` here
and a field of the same ``dest`` to ``lynkr_cli.session.RunOptions`` (``RunOptions.from_values`` refuses
an option without one).

Only the standard library and light lynkr modules (no Typer, pydantic, asyncio…) may be imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lynkr_cli.errors import UsageError
from lynkr_cli.pipeline.switches import STAGE_NAMES
from lynkr_cli.session import REPORT_MODES


@dataclass(frozen=True)
class RunOption:
    """One option of ``lynkr run``. ``metavar`` None means a flag (no value)."""

    flags: tuple[str, ...]
    dest: str
    help: str
    metavar: str | None = None
    default: Any = None
    repeat: bool = False
    choices: tuple[str, ...] | None = None

    @property
    def is_flag(self) -> bool:
        return self.metavar is None


RUN_OPTIONS: tuple[RunOption, ...] = (
    RunOption(("--agent-bin",), "agent_bin", "The agent executable to run instead of the one on PATH.", "PATH"),
    RunOption(
        ("--report",),
        "report",
        "Session report printed on stderr at exit.",
        "|".join(REPORT_MODES),
        default="short",
        choices=REPORT_MODES,
    ),
    RunOption(("--report-json",), "report_json", "Also write the session report as JSON to FILE.", "FILE"),
    RunOption(("--model",), "model", "Send every request of this run to one model (e.g. ollama:qwen2.5-coder).",
              "PROVIDER:MODEL"),
    RunOption(("--no-optimize",), "no_optimize", "Forward every request unchanged (no optimization stages).",
              default=False),
    RunOption(("--tool-search",), "tool_search",
              "Claude Code: let it defer tools behind its own tool search (ENABLE_TOOL_SEARCH=true).", default=False),
    RunOption(("--profile",), "profile", "Apply a config profile for this run (see `lynkr profiles`).", "NAME"),
    RunOption(("--stage",), "stage", f"Switch one optimization stage on or off ({', '.join(STAGE_NAMES)}); repeatable.",
              "NAME=on|off", repeat=True),
    RunOption(("--cache",), "cache",
              "Response cache mode [default: cache.mode in the config or LYNKR_CACHE, else off].",
              "off|exact|semantic", choices=("off", "exact", "semantic")),
)


@dataclass(frozen=True)
class ParsedRun:
    """``lynkr run``'s own options, the command after them, and whether ``--`` preceded it."""

    values: dict[str, Any]
    command: list[str]
    generic: bool


class NeedsFullParser(Exception):
    """``--help``: let Typer print the command's help."""


def defaults() -> dict[str, Any]:
    return {o.dest: ([] if o.repeat else o.default) for o in RUN_OPTIONS}


def _lookup() -> dict[str, RunOption]:
    return {flag: option for option in RUN_OPTIONS for flag in option.flags}


def parse_run_args(args: list[str]) -> ParsedRun:
    """Parse the arguments after ``run``: lynkr's options stop at the first non-option (the agent) or
    at ``--`` (a generic command follows). Raises ``NeedsFullParser`` for ``--help`` and
    ``UsageError`` for an unknown option or a missing value."""
    table = _lookup()
    values = defaults()
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            return ParsedRun(values, args[i + 1 :], generic=True)
        if not token.startswith("-") or token == "-":
            return ParsedRun(values, args[i:], generic=False)
        name, has_inline, inline = token.partition("=")
        if name in ("--help", "-h"):
            raise NeedsFullParser(token)
        option = table.get(name)
        if option is None:
            raise UsageError(
                f"unknown option {name!r} for lynkr run (lynkr's options go before the agent name; "
                "see lynkr run --help)"
            )
        if option.is_flag:
            if has_inline:
                raise UsageError(f"{name} takes no value")
            value: Any = True
        elif has_inline:
            value = inline
        elif i + 1 < len(args):
            i += 1
            value = args[i]
        else:
            raise UsageError(f"{name} needs a value ({option.metavar})")
        if option.choices is not None and value not in option.choices:
            raise UsageError(f"{name} must be one of {', '.join(option.choices)}, not {value!r}")
        if option.repeat:
            values[option.dest].append(value)
        else:
            values[option.dest] = value
        i += 1
    return ParsedRun(values, [], generic=False)


def start(parsed: ParsedRun) -> int:
    """Run the session described by parsed ``lynkr run`` arguments; returns the exit code."""
    from lynkr_cli.cli.exit_report import print_exit_report
    from lynkr_cli.session import RunOptions, run

    profile = parsed.values.get("profile")
    if profile:
        import os

        from lynkr_cli.config.profiles import find_profile

        find_profile(str(profile))  # an unknown name is exit 2 here, before the agent starts
        os.environ["LYNKR_PROFILE"] = str(profile)  # read by the proxy's settings
    return run(RunOptions.from_values(parsed.values, parsed.command, parsed.generic), print_exit_report)
