"""``lynkr replay`` as a user runs it: a separate process, a HOME that never logged in, 80 columns."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import base_env, run_lynkr
from tests.replay.transcripts import SECRET, claude_lines, codex_lines, write

FIELDS = ("path", "agent", "requests", "input_tokens_direct", "input_tokens_lynkr", "bill_direct_usd",
          "bill_lynkr_usd", "prefix_breaks", "lossless_failures", "last_request_input_tokens_lynkr", "by_stage")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return base_env(tmp_path / "lynkr-home", home, COLUMNS="80")


@pytest.fixture
def transcripts(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    claude = write(home / ".claude" / "projects" / "-w" / "claude-one.jsonl", claude_lines())
    codex = write(home / ".codex" / "sessions" / "2026" / "11" / "21" / "rollout-codex-one.jsonl", codex_lines())
    os.utime(claude, (1_700_000_000, 1_700_000_000))  # the Claude session is the older one
    return claude, codex


def test_json_has_every_field_and_totals_add_up(env: dict[str, str], transcripts: tuple[Path, Path]) -> None:
    done = run_lynkr(["replay", "--json"], env)  # no path: the agents' default folders under HOME
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    sessions = data["sessions"]
    assert [s["agent"] for s in sessions] == ["claude", "codex"]
    assert [s["path"] for s in sessions] == [str(p) for p in transcripts]
    for session in sessions:
        assert set(FIELDS) <= set(session)
        assert session["input_tokens_lynkr"] < session["input_tokens_direct"]  # the JSON results were minified
        assert session["by_stage"]["compress"] > 0
        assert 0 < session["bill_lynkr_usd"] < session["bill_direct_usd"]
        assert session["prefix_breaks"] == 0 and session["lossless_failures"] == 0
        assert 0 < session["last_request_input_tokens_lynkr"] <= session["input_tokens_lynkr"]
    assert [s["requests"] for s in sessions] == [4, 2]
    total = data["total"]
    for name in FIELDS[2:-1]:
        assert total[name] == pytest.approx(sum(s[name] for s in sessions)), name
    assert total["by_stage"]["compress"] == sum(s["by_stage"]["compress"] for s in sessions)
    # A transcript line cut short: one warning naming the file and line; the rest was replayed.
    assert done.stderr.count("warning") == 1
    assert f"{transcripts[0]}:9: not valid JSON" in done.stderr
    assert SECRET not in done.stdout + done.stderr


def test_table_fits_80_columns_and_names_what_is_approximated(env: dict[str, str],
                                                              transcripts: tuple[Path, Path]) -> None:
    done = run_lynkr(["replay", *map(str, transcripts)], env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    rows = [line for line in lines if line.startswith(("claude-one", "rollout-codex", "total"))]
    assert len(rows) == 3
    assert all(len(line) <= 80 for line in lines[:6])
    assert "tokens saved by stage: compress" in done.stdout
    assert "approximated: system prompt and tools: Claude Code" in done.stdout
    assert "prefix breaks caused by lynkr: 0; lossless-check failures: 0" in done.stdout


def test_last_and_since_pick_sessions(env: dict[str, str], transcripts: tuple[Path, Path]) -> None:
    newest = json.loads(run_lynkr(["replay", "--json", "--last", "1"], env).stdout)
    assert [s["agent"] for s in newest["sessions"]] == ["codex"]
    recent = json.loads(run_lynkr(["replay", "--json", "--since", "30d"], env).stdout)
    assert [s["agent"] for s in recent["sessions"]] == ["codex"]  # the Claude file is from 2023


def test_emit_last_writes_the_forwarded_request_without_credentials(env: dict[str, str], tmp_path: Path,
                                                                     transcripts: tuple[Path, Path]) -> None:
    out = tmp_path / "last"
    done = run_lynkr(["replay", "--json", "--emit-last", str(out), *map(str, transcripts)], env)
    assert done.returncode == 0, done.stderr
    claude = json.loads((out / "claude-one.json").read_text())
    codex = json.loads((out / "rollout-codex-one.json").read_text())
    assert claude["messages"][-1]["content"][0]["tool_use_id"] == "toolu_3"
    assert "ANTHROPIC_API_KEY=[redacted]" in claude["messages"][-1]["content"][0]["content"]
    assert [i["type"] for i in codex["input"]][-1] == "function_call_output"
    assert codex["input"][-2]["output"].startswith("[40]{path,line,text}:")  # the grep rows, as TOON
    data = json.loads(done.stdout)
    assert data["sessions"][0]["last_request_input_tokens_lynkr"] > 0
    for file in out.iterdir():
        assert SECRET not in file.read_text()
    # Two transcripts with one name (session.jsonl in two folders): the second is session-2.json.
    twice = [write(tmp_path / d / "session.jsonl", claude_lines()) for d in ("a", "b")]
    again = run_lynkr(["replay", "--emit-last", str(tmp_path / "twice"), *map(str, twice)], env)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (tmp_path / "twice").iterdir()) == ["session-2.json", "session.json"]


def test_bad_arguments_are_one_line(env: dict[str, str], tmp_path: Path) -> None:
    done = run_lynkr(["replay", str(tmp_path / "nowhere")], env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no such transcript or folder" in done.stderr
    empty = run_lynkr(["replay"], env)  # a HOME where neither agent ever ran
    assert empty.returncode == 2 and "no transcripts found" in empty.stderr
    since = run_lynkr(["replay", "--since", "yesterday", str(tmp_path)], env)
    assert since.returncode == 2 and "--since expects" in since.stderr


def test_routing_counterfactual_is_labelled(env: dict[str, str], transcripts: tuple[Path, Path]) -> None:
    done = run_lynkr(["replay", "--json", "--profile", "anthropic-direct", *map(str, transcripts)], env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    claude = data["sessions"][0]["if_quality_held"]
    assert sum(claude["turns_by_tier"].values()) == 2  # the two prompts the user typed
    assert claude["bill_usd"] > 0
    table = run_lynkr(["replay", "--profile", "anthropic-direct", *map(str, transcripts)], env)
    assert "routing, if quality held (anthropic-direct): user turns" in table.stdout


def test_worker_processes_give_the_same_figures(env: dict[str, str], transcripts: tuple[Path, Path]) -> None:
    one = run_lynkr(["replay", "--json", "--jobs", "1", *map(str, transcripts)], env)
    two = run_lynkr(["replay", "--json", "--jobs", "2", *map(str, transcripts)], env)
    assert one.returncode == two.returncode == 0, two.stderr
    assert json.loads(one.stdout) == json.loads(two.stdout)
    assert one.stderr == two.stderr  # the same one warning, once


def test_control_characters_from_transcripts_never_reach_the_terminal(env: dict[str, str], tmp_path: Path) -> None:
    from tests.replay.transcripts import claude_lines

    lines = [line.replace("claude-sonnet-4-5", "claude-sonnet-4-5\\u001b]52;c;aGk=\\u0007") for line in claude_lines()]
    path = write(tmp_path / "evil\x1b[2J.jsonl", lines)
    done = run_lynkr(["replay", str(path)], env)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr and "\x07" not in done.stdout + done.stderr
    assert "evil\\x1b[2J" in done.stdout and "evil\\x1b[2J" in done.stderr


def test_agent_homes_set_in_the_environment_are_the_defaults(env: dict[str, str], tmp_path: Path) -> None:
    from tests.replay.transcripts import codex_lines

    codex_home = tmp_path / "elsewhere" / "codex"
    write(codex_home / "sessions" / "2026" / "11" / "21" / "rollout-x.jsonl", codex_lines())
    done = run_lynkr(["replay", "--json"], {**env, "CODEX_HOME": str(codex_home)})
    assert done.returncode == 0, done.stderr
    assert [s["path"] for s in json.loads(done.stdout)["sessions"]] == [
        str(codex_home / "sessions" / "2026" / "11" / "21" / "rollout-x.jsonl")]


def test_the_configured_prices_are_the_replays_prices(env: dict[str, str], tmp_path: Path) -> None:
    from tests.replay.transcripts import claude_lines

    lines = [line.replace("claude-sonnet-4-5", "my-finetune-1") for line in claude_lines()]
    path = write(tmp_path / "s.jsonl", lines)
    unpriced = json.loads(run_lynkr(["replay", "--json", str(path)], env, cwd=tmp_path).stdout)["sessions"][0]
    assert unpriced["unpriced_requests"] == 4 and unpriced["bill_direct_usd"] == 0
    (tmp_path / "lynkr.toml").write_text('[prices.models."my-finetune*"]\ninput = 2.0\noutput = 8.0\n')
    priced = json.loads(run_lynkr(["replay", "--json", str(path)], env, cwd=tmp_path).stdout)["sessions"][0]
    assert priced["unpriced_requests"] == 0
    # No cache prices configured: reads and writes at the input price, so the bill is every token at $2/M.
    assert priced["bill_direct_usd"] == pytest.approx(priced["input_tokens_direct"] * 2.0 / 1e6)
