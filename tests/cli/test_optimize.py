"""``lynkr optimize``: the optimized body on stdout, the report on stderr and in --report-json."""

from __future__ import annotations

import json

import toon_format

from bench.scenarios.data import grep_result
from lynkr_cli.cli.optimize import detect_format
from tests.conftest import REPO_ROOT, base_env, run_lynkr

SCENARIOS = REPO_ROOT / "bench" / "scenarios"


def test_optimize_prints_the_optimized_body_and_the_report(lynkr_home, tmp_path):
    report_file = tmp_path / "report.json"
    result = run_lynkr(["optimize", str(SCENARIOS / "L2.json"), "--report-json", str(report_file)],
                       base_env(lynkr_home))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    original = json.loads((SCENARIOS / "L2.json").read_text())
    assert body["tools"] == original["tools"] and body["messages"][0] == original["messages"][0]
    assert toon_format.decode(body["messages"][2]["content"][0]["content"]) == grep_result()
    report = json.loads(report_file.read_text())
    assert report["format"] == "anthropic" and report["changed"] is True
    assert report["request_tokens_after"] < report["request_tokens_before"]
    (compress,) = [stage for stage in report["stages"] if stage["stage"] == "compress"]
    assert compress["items"][0]["representation"] == "toon"
    assert "tr_002: toon" in result.stderr and "o200k estimate" in result.stderr


def test_unchanged_requests_come_back_byte_for_byte_and_no_optimize_runs_nothing(lynkr_home, tmp_path):
    path = SCENARIOS / "T1.json"
    result = run_lynkr(["optimize", str(path)], base_env(lynkr_home))
    assert result.returncode == 0, result.stderr
    assert result.stdout.encode() == path.read_bytes()
    off = run_lynkr(["optimize", "--no-optimize", str(SCENARIOS / "L2.json")], base_env(lynkr_home))
    assert off.stdout.encode() == (SCENARIOS / "L2.json").read_bytes()
    assert "no stage ran" in off.stderr


def test_bad_input_gets_one_clear_line(lynkr_home, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for args, message in (
        ([str(bad)], "not valid JSON"),
        ([str(tmp_path / "missing.json")], "cannot read"),
        ([str(SCENARIOS / "S1.json"), "--format", "grpc"], "--format must be one of"),
        ([str(SCENARIOS / "S1.json"), "--stage", "nope=off"], "--stage expects"),
        (["--show-elided", "zz"], "not an elision reference"),
    ):
        result = run_lynkr(["optimize", *args], base_env(lynkr_home))
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr


def test_lossy_elision_is_retrievable_with_show_elided(lynkr_home, tmp_path):
    log = "\n".join(f"[{i:05d}] fetched chunk {i} of 6000, checksum {i * 7919 % 65536:04x}" for i in range(6000))
    body = {"model": "claude-x", "max_tokens": 10, "messages": [
        {"role": "user", "content": "download it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]}]}
    path = tmp_path / "req.json"
    path.write_text(json.dumps(body))
    report_file = tmp_path / "r.json"
    env = base_env(lynkr_home)
    result = run_lynkr(["optimize", "--lossy", str(path), "--report-json", str(report_file)], env)
    assert result.returncode == 0, result.stderr
    sent = json.loads(result.stdout)["messages"][2]["content"][0]["content"]
    assert "[lynkr elided lines 81-5960 of 6000" in sent
    (compress,) = [s for s in json.loads(report_file.read_text())["stages"] if s["stage"] == "compress"]
    ref = compress["items"][0]["elided_ref"]
    shown = run_lynkr(["optimize", "--show-elided", ref], env)
    assert shown.returncode == 0 and shown.stdout == log


def test_format_detection():
    assert detect_format({"model": "gpt-4o", "input": "hi"}) == "openai-responses"
    assert detect_format({"messages": [{"role": "tool", "tool_call_id": "c", "content": "x"}]}) == "openai-chat"
    assert detect_format({"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}]}) \
        == "openai-chat"
    claude_code = json.loads((REPO_ROOT / "tests" / "data" / "claude_session" / "05.json").read_bytes())
    assert any(m["role"] == "system" for m in claude_code["messages"])
    assert detect_format(claude_code) == "anthropic"
    assert detect_format(json.loads((SCENARIOS / "L1.json").read_text())) == "anthropic"


def test_an_openai_chat_body_comes_back_in_its_own_format(lynkr_home, tmp_path):
    body = {"model": "gpt-4o", "stream": True, "user": "u-7", "messages": [
        {"role": "user", "content": "find todos"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "grep", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(grep_result(), indent=2)}]}
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(body))
    result = run_lynkr(["optimize", str(path)], base_env(lynkr_home))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["messages"][:2] == body["messages"][:2] and out["user"] == "u-7"
    assert toon_format.decode(out["messages"][2]["content"]) == grep_result()
    assert "openai-chat request" in result.stderr and "call_1: toon" in result.stderr
