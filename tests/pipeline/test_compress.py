"""Tool-result compression on real payloads: lossless, deterministic, idempotent, smaller."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import toon_format

from bench.scenarios.data import grep_result, package_json
from lynkr_cli import tokens
from lynkr_cli.canonical import ModelRequest
from lynkr_cli.pipeline.compress import CompressToolResults, compress_text, parse_json
from lynkr_cli.pipeline.config import CompressConfig
from lynkr_cli.pipeline.state import SessionState
from lynkr_cli.pipeline.textclean import clean_text
from tests.conftest import REPO_ROOT

PAYLOADS = REPO_ROOT / "tests" / "data" / "payloads"


def pretty(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def test_grep_json_becomes_toon_and_decodes_to_the_same_data() -> None:
    text = pretty(grep_result())
    outcome = compress_text(text, CompressConfig())
    assert outcome.representation == "toon"
    assert toon_format.decode(outcome.text) == grep_result()
    assert outcome.tokens_after == tokens.count_text(outcome.text)
    assert outcome.tokens_before == tokens.count_text(text)
    assert outcome.tokens_after < 0.7 * outcome.tokens_before


def test_package_json_takes_the_smaller_representation_by_token_count() -> None:
    text = pretty(package_json())
    outcome = compress_text(text, CompressConfig())
    minified = json.dumps(package_json(), separators=(",", ":"), ensure_ascii=False)
    toon = toon_format.encode(package_json())
    best = min(tokens.count_text(minified), tokens.count_text(toon))
    assert outcome.tokens_after == best < outcome.tokens_before
    decoded = json.loads(outcome.text) if outcome.representation == "json-min" else toon_format.decode(outcome.text)
    assert decoded == package_json()


def test_deep_irregular_json_stays_json_when_toon_would_cost_more() -> None:
    value = {"a": {"b": {"c": [{"x": 1, "y": {"z": [1, {"w": 2}]}}, {"q": [[1, 2], [3, {"r": None}]]}]}},
             "meta": [{"k": i, "nested": {"deep": [i, {"deeper": str(i)}]}} for i in range(12)]}
    outcome = compress_text(pretty(value), CompressConfig())
    toon = toon_format.encode(value)
    assert outcome.representation == "json-min"
    assert tokens.count_text(toon) > outcome.tokens_after
    assert json.loads(outcome.text) == value


def test_already_minified_json_is_left_alone() -> None:
    text = json.dumps(package_json(), separators=(",", ":"))
    outcome = compress_text(text, CompressConfig())
    if outcome.text is not None:  # TOON may still win; then it must be strictly smaller
        assert outcome.tokens_after < outcome.tokens_before
    else:
        assert outcome.representation == "as-is"


def test_json_below_the_size_floor_is_not_touched() -> None:
    assert compress_text('{\n  "ok": true\n}', CompressConfig()).text is None


@pytest.mark.parametrize("text", [
    '{"a": 1, "a": 2}' + " " * 500,          # duplicate keys: parsing would drop one
    '{"n": 1e999}' + " " * 500,              # overflows a float
    '{"n": NaN}' + " " * 500,                # not JSON
    '[1, 2' + " " * 500,                     # truncated
])
def test_json_that_cannot_round_trip_exactly_is_never_rewritten_as_json(text: str) -> None:
    assert parse_json(text) is None
    outcome = compress_text(text, CompressConfig())
    assert outcome.representation in ("as-is", "text-clean")
    if outcome.text is not None:
        assert outcome.text == clean_text(text)


def test_pytest_output_loses_only_colour_trailing_blanks_and_repeats() -> None:
    text = (PAYLOADS / "pytest_color.txt").read_text()
    outcome = compress_text(text, CompressConfig())
    assert outcome.representation == "text-clean"
    out = outcome.text
    assert "\x1b" not in out
    assert all(line == line.rstrip(" ") for line in out.splitlines())
    warning = "  /work/app/.venv/lib/python3.11/site-packages/sqlalchemy/orm/session.py:412: " \
              "SADeprecationWarning: The Session.autocommit parameter is deprecated"
    assert f"{warning}\n[previous line repeated 24 more times]" in out
    # Every distinct line that mattered is still there, in order.
    for needle in ("E       assert 429 == 200", "1 failed, 47 passed, 25 warnings in 3.21s",
                   "test_roundtrip[case19] PASSED", ">       assert r.status_code == 200"):
        assert needle in out
    assert outcome.tokens_after < outcome.tokens_before


def test_expanding_the_repeat_marks_gives_back_the_uncoloured_text() -> None:
    from lynkr_cli.pipeline.textclean import strip_ansi, strip_trailing_blanks

    text = (PAYLOADS / "pytest_color.txt").read_text()
    out = compress_text(text, CompressConfig()).text
    expanded: list[str] = []
    for line in out.split("\n"):
        if line.startswith("[previous line repeated ") and line.endswith(" more times]"):
            expanded.extend([expanded[-1]] * int(line.split()[3]))
        else:
            expanded.append(line)
    assert "\n".join(expanded) == strip_trailing_blanks(strip_ansi(text))


def test_git_log_keeps_every_commit_line_and_drops_only_colour() -> None:
    text = (PAYLOADS / "git_log_color.txt").read_text()
    outcome = compress_text(text, CompressConfig())
    assert outcome.representation == "text-clean"
    from lynkr_cli.pipeline.textclean import strip_ansi, strip_trailing_blanks

    assert outcome.text == strip_trailing_blanks(strip_ansi(text))


def test_a_source_file_passes_untouched() -> None:
    source = (REPO_ROOT / "lynkr_cli" / "canonical.py").read_text()
    numbered = "\n".join(f"{i}\t{line}" for i, line in enumerate(source.split("\n"), 1))  # Claude Code's Read
    assert compress_text(source, CompressConfig()).text is None
    assert compress_text(numbered, CompressConfig()).text is None


@pytest.mark.parametrize("name", ["grep", "package", "pytest", "git", "deep"])
def test_compression_is_idempotent_and_deterministic(name: str) -> None:
    texts = {
        "grep": pretty(grep_result()),
        "package": pretty(package_json()),
        "pytest": (PAYLOADS / "pytest_color.txt").read_text(),
        "git": (PAYLOADS / "git_log_color.txt").read_text(),
        "deep": pretty({"a": [{"b": {"c": [i, {"d": i}]}} for i in range(30)]}),
    }
    once = compress_text(texts[name], CompressConfig())
    again = compress_text(texts[name], CompressConfig())
    assert once == again
    assert once.text is not None
    assert compress_text(once.text, CompressConfig()).text is None  # nothing left to do


def test_toon_rows_that_repeat_do_not_get_collapsed_later() -> None:
    """Identical rows in a TOON table would be changed by the repeat collapser on a second pass, so
    such data is given as minified JSON instead: the stage stays idempotent and TOON stays valid."""
    rows = [{"level": "warn", "msg": "disk almost full", "host": "db-1"}] * 30
    outcome = compress_text(pretty(rows), CompressConfig())
    assert outcome.representation == "json-min"
    assert compress_text(outcome.text, CompressConfig()).text is None


def tool_request(*results: object, extra_blocks: list | None = None) -> ModelRequest:
    messages: list[dict] = [{"role": "user", "content": "look"}]
    for i, content in enumerate(results):
        messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Bash",
                                                           "input": {"command": "x"}}]})
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}",
                                                      "content": content}, *(extra_blocks or [])]})
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": messages}
    raw = json.dumps(body).encode()
    return ModelRequest(body, raw=raw)


def test_stage_rewrites_string_and_block_list_results_and_reports_each_representation() -> None:
    grep = pretty(grep_result())
    log = (PAYLOADS / "pytest_color.txt").read_text()
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    request = tool_request(grep, [{"type": "text", "text": log}, image], extra_blocks=[{"type": "text", "text": "go"}])
    stage = CompressToolResults()
    out, report = stage.apply(request, SessionState("s"))
    assert report.changed and out.raw is None
    first = out.body["messages"][2]["content"][0]
    second = out.body["messages"][4]["content"][0]
    assert toon_format.decode(first["content"]) == grep_result()
    assert second["content"][1] == image  # images untouched
    assert "\x1b" not in second["content"][0]["text"]
    assert out.body["messages"][4]["content"][1] == {"type": "text", "text": "go"}  # user text untouched
    assert report.items == [{"tool_use_id": "t1", "representation": "text-clean",
                             "tokens_before": tokens.count_text(log),
                             "tokens_after": tokens.count_text(second["content"][0]["text"])}]
    assert report.metrics["history_tokens_saved"] == tokens.count_text(grep) - tokens.count_text(first["content"])
    assert report.saved == report.tokens_before - report.tokens_after > 0
    assert "1 toon" in report.decision and "1 text-clean" in report.decision
    # The input request is not modified in place.
    assert request.body["messages"][2]["content"][0]["content"] == grep


def test_openai_tool_messages_in_canonical_form_are_compressed() -> None:
    """An OpenAI ``role: tool`` message reaches the pipeline as a tool_result block (inbound adapter)."""
    body = {"model": "gpt-4o", "messages": [
        {"role": "user", "content": "find todos"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "grep", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1",
                                      "content": [{"type": "text", "text": pretty(grep_result())}]}]},
    ]}
    request = ModelRequest(body, inbound="openai-chat", extras={"openai": True})
    out, report = CompressToolResults().apply(request, SessionState("s"))
    assert report.changed and out.inbound == "openai-chat" and out.extras == {"openai": True}
    text = out.body["messages"][2]["content"][0]["content"][0]["text"]
    assert toon_format.decode(text) == grep_result()


def test_a_request_with_nothing_to_compress_is_returned_as_is() -> None:
    request = tool_request('{"ok": true}', "ok\n")
    out, report = CompressToolResults().apply(request, SessionState("s"))
    assert out is request and out.raw is not None and not report.changed
    assert report.decision == "2 as-is"


def test_lossy_mode_elides_the_middle_says_so_and_keeps_the_full_text() -> None:
    lines = [f"line {i}: value={i * i} status={'ok' if i % 7 else 'retry'}" for i in range(3000)]
    text = "\n".join(lines)
    lossless = compress_text(text, CompressConfig())
    assert lossless.text is None  # off by default
    config = CompressConfig(lossy=True, lossy_threshold_tokens=2000, lossy_head_lines=50, lossy_tail_lines=20)
    outcome = compress_text(text, config)
    assert outcome.representation == "text-elided"
    assert outcome.elided_text == text
    out_lines = outcome.text.split("\n")
    assert out_lines[:50] == lines[:50] and out_lines[-20:] == lines[-20:]
    assert out_lines[50].startswith("[lynkr elided lines 51-2980 of 3000 (2930 lines, ~")
    assert f"lynkr optimize --show-elided {outcome.elided_ref}]" in out_lines[50]
    assert compress_text(outcome.text, config).text is None  # idempotent
    request = tool_request(text)
    out, report = CompressToolResults(config).apply(request, SessionState("s"))
    assert report.artifacts == {outcome.elided_ref: text}
    assert report.items[0]["elided_ref"] == outcome.elided_ref


def test_memo_does_not_change_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second request of a session is served from the stage's cache (no result compressed again),
    so is another session of the same proxy (the cache is by exact text), and the bytes are those of
    a restarted proxy with an empty cache."""
    from lynkr_cli.pipeline import compress

    computed: list[str] = []

    def counting(text: str, config: CompressConfig) -> compress.Outcome:
        computed.append(text)
        return compress_text(text, config)

    monkeypatch.setattr(compress, "compress_text", counting)
    request = tool_request(pretty(grep_result()), (PAYLOADS / "pytest_color.txt").read_text())
    stage = CompressToolResults()
    state = SessionState("s")
    first, _ = stage.apply(request, state)
    assert len(computed) == 2  # both tool results, once each
    second, _ = stage.apply(request, state)
    assert len(computed) == 2  # the memo answered
    other, _ = stage.apply(request, SessionState("other"))
    assert len(computed) == 2  # another session, same texts: the cache answered
    fresh, _ = CompressToolResults().apply(request, SessionState("s"))
    assert len(computed) == 4  # a restarted proxy: computed again
    assert first.wire_bytes() == second.wire_bytes() == other.wire_bytes() == fresh.wire_bytes()


def test_json_after_a_short_header_is_compressed_and_the_header_kept() -> None:
    """Codex wraps command output in a header (``Chunk ID: …\\nOutput:\\n``) before the JSON."""
    header = "Chunk ID: b0570a\nWall time: 0.0000 seconds\nProcess exited with code 0\nOutput:\n"
    text = header + pretty(grep_result())
    outcome = compress_text(text, CompressConfig())
    assert outcome.representation == "toon"
    assert outcome.text.startswith(header)
    assert toon_format.decode(outcome.text[len(header):]) == grep_result()
    assert compress_text(outcome.text, CompressConfig()).text is None
    # A long prose preamble is not a header: nothing is guessed.
    prose = ("word " * 200 + "\n") + pretty(grep_result())
    assert compress_text(prose, CompressConfig()).representation in ("as-is", "text-clean")


def test_json_wrapped_in_colour_codes_is_cleaned_then_compressed() -> None:
    text = "\x1b[0m" + pretty(grep_result()) + "   "
    outcome = compress_text(text, CompressConfig())
    assert outcome.representation == "toon" and toon_format.decode(outcome.text) == grep_result()
    assert outcome.tokens_before == tokens.count_text(text)
    assert compress_text(outcome.text, CompressConfig()).text is None


def test_trailing_blanks_go_but_line_endings_and_the_tab_after_a_bare_line_number_stay() -> None:
    from lynkr_cli.pipeline.textclean import collapse_repeats, strip_trailing_blanks

    text = "a  \r\nb\t \n7\t  \n  \n8\t\nc \t"
    assert strip_trailing_blanks(text) == "a\r\nb\n7\t\n\n8\t\nc"
    assert strip_trailing_blanks("no blanks\r\nat the ends\n") == "no blanks\r\nat the ends\n"
    assert collapse_repeats("x\nx\nx\ny\n\n\n\nz") == "x\n[previous line repeated 2 more times]\ny\n\n\n\nz"
    assert collapse_repeats("x\nx\ny\ny") == "x\nx\ny\ny"
    assert collapse_repeats("x\nx\ny", min_run=2) == "x\n[previous line repeated 1 more times]\ny"
