"""What a user reads on the terminal: every ``--help``, and text that names config sections in brackets."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from lynkr_cli.cli.app import app
from lynkr_cli.ledger import Ledger, SessionRecord
from tests.conftest import base_env, run_lynkr

# Typer's fallbacks when an option declares no metavar: ``<str>``, ``<int range>``, ``<list[str]>``.
TYPE_PLACEHOLDER = re.compile(r"<(str|int|float|path|bool|text|int range|float range|list\[\w+\])>")


def _commands() -> list[tuple[str, object]]:
    """Every command of the real app as (path, click command), groups included."""
    found: list[tuple[str, object]] = []

    def walk(command: object, path: str) -> None:
        found.append((path, command))
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(typer.main.get_command(app), "")
    return found


def test_every_option_has_help_and_a_named_value() -> None:
    root = typer.main.get_command(app)
    for path, command in _commands():
        ctx = root.make_context("lynkr", [], resilient_parsing=True)
        for param in command.params:  # type: ignore[attr-defined]
            if getattr(param, "param_type_name", "") != "option" or param.hidden:
                continue
            assert param.help, f"lynkr {path} {param.opts[0]} has no help text"
            shown = param.get_help_record(ctx)[0]
            assert not TYPE_PLACEHOLDER.search(shown), f"lynkr {path} --help shows a type, not a name: {shown}"


def test_run_dash_h_prints_the_help_of_run(tmp_path: Path) -> None:
    result = run_lynkr(["run", "-h"], base_env(tmp_path / "lh"))
    assert result.returncode == 0, result.stderr
    assert "Usage: lynkr run [OPTIONS] AGENT|-- COMMAND [ARGS]..." in result.stdout
    assert "--agent-bin" in result.stdout and "Traceback" not in result.stderr
    short = run_lynkr(["report", "-h"], base_env(tmp_path / "lh"))
    assert short.returncode == 0 and "--since" in short.stdout


def test_config_keys_and_doctor_keep_config_sections_in_brackets(tmp_path: Path) -> None:
    env = base_env(tmp_path / "lh", COLUMNS="200", LYNKR_PORT="0")
    keys = run_lynkr(["config", "keys"], env)
    assert keys.returncode == 0, keys.stderr
    assert "one [providers.<id>] table per provider" in keys.stdout
    assert "files: [section] key = …" in keys.stdout
    project = tmp_path / "proj"
    project.mkdir()
    (project / "lynkr.toml").write_text('[tiers]\nsimple = "nosuch:qwen"\n')
    doctor = run_lynkr(["doctor"], env, cwd=project, timeout=120)
    assert doctor.returncode == 1
    assert "check the provider id in [tiers] (lynkr config show)" in doctor.stdout


def test_an_ambiguous_session_prefix_names_the_candidates(tmp_path: Path) -> None:
    home = tmp_path / "lh"
    ledger = Ledger(home / "ledger.sqlite3")
    for n, sid in enumerate(("20261101-101010-aaaaaa", "20261101-101010-bbbbbb")):
        ledger.start_session(SessionRecord(id=sid, agent="claude", argv=["claude"], cwd="/w", started_at=1e9 + n,
                                           pid=1, lynkr_version="t"))
        ledger.finish_session(sid, 0)
    ledger.flush()
    ledger.close()
    env = base_env(home)
    both = run_lynkr(["report", "--session", "20261101"], env)
    assert both.returncode == 2
    assert "matches several sessions (20261101-101010-bbbbbb, 20261101-101010-aaaaaa)" in both.stderr
    one = run_lynkr(["report", "--session", "20261101-101010-a", "--json"], env)
    assert one.returncode == 0 and '"session_id": "20261101-101010-aaaaaa"' in one.stdout
    none = run_lynkr(["report", "--session", "1999"], env)
    assert none.returncode == 2 and "no session matches '1999'" in none.stderr


def test_command_lists_are_not_cut_at_80_columns(tmp_path: Path) -> None:
    env = base_env(tmp_path / "lh", COLUMNS="80")
    for args in (["--help"], ["config", "--help"], ["cache", "--help"]):
        listing = run_lynkr(args, env).stdout.split("Commands:", 1)[1]
        cut = [line.strip() for line in listing.splitlines() if line.rstrip().endswith("...")]
        assert not cut, f"lynkr {' '.join(args)} cuts: {cut}"
