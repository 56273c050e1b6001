"""Session-stable tool pruning: decided once, never drops a used or chosen tool, leaves tool search alone."""

from __future__ import annotations

import json

from lynkr_cli import tokens
from lynkr_cli.canonical import ModelRequest
from lynkr_cli.pipeline.build import build_pipeline
from lynkr_cli.pipeline.config import PipelineConfig, PruneConfig
from lynkr_cli.pipeline.prune import PruneTools
from lynkr_cli.pipeline.state import SessionState
from tests.conftest import REPO_ROOT

SCENARIOS = REPO_ROOT / "bench" / "scenarios"


def scenario(name: str) -> ModelRequest:
    raw = (SCENARIOS / f"{name}.json").read_bytes()
    return ModelRequest(json.loads(raw), raw=raw)


def names(request: ModelRequest) -> list[str]:
    return [t["name"] for t in request.tools]


def test_auto_prunes_tools_the_first_request_gives_no_reason_to_need() -> None:
    request = scenario("T1")
    out, report = PruneTools(PruneConfig()).apply(request, SessionState("s"))
    assert names(out) == ["Read", "Write", "Edit", "Bash", "Glob", "Grep", "TodoWrite", "TodoRead", "Task"]
    dropped = [t for t in request.tools if t["name"] not in names(out)]
    assert report.tokens_before == sum(tokens.count_json(t) for t in dropped) and report.tokens_after == 0
    assert {i["name"] for i in report.items} == {"WebSearch", "WebFetch", "NotebookRead", "NotebookEdit",
                                                 "mcp__github__create_pull_request"}
    assert out.tools == [t for t in request.tools if t["name"] in names(out)]  # schemas untouched


def test_hints_in_the_first_request_keep_the_tools() -> None:
    body = dict(scenario("T1").body, messages=[{"role": "user", "content":
                "Fetch https://example.com/docs and update analysis.ipynb, then open a github pull request"}])
    out, _ = PruneTools(PruneConfig()).apply(ModelRequest(body), SessionState("s"))
    assert {"WebFetch", "NotebookEdit", "mcp__github__create_pull_request"} <= set(names(out))


def test_the_decision_is_kept_for_the_whole_session() -> None:
    stage, state = PruneTools(PruneConfig()), SessionState("s")
    first, _ = stage.apply(scenario("T1"), state)
    later_body = dict(scenario("T1").body, messages=[{"role": "user", "content": "now edit the notebook cell 3"}])
    later, report = stage.apply(ModelRequest(later_body), state)
    assert names(later) == names(first)  # same tool bytes every turn: the cached prefix holds
    assert "kept from the session's first request" in report.decision
    fresh, _ = stage.apply(ModelRequest(later_body), SessionState("other"))
    assert "NotebookEdit" in names(fresh)  # another session decides for itself


def test_a_tool_used_in_the_history_or_named_by_tool_choice_is_never_removed() -> None:
    body = dict(scenario("T1").body)
    body["messages"] = [
        {"role": "user", "content": "What does the README say about installation?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "WebSearch", "input": {"query": "x"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "results"}]},
    ]
    body["tool_choice"] = {"type": "tool", "name": "NotebookRead"}
    out, _ = PruneTools(PruneConfig()).apply(ModelRequest(body), SessionState("s"))
    assert {"WebSearch", "NotebookRead"} <= set(names(out))
    assert "WebFetch" not in names(out)


def test_explicit_drop_patterns_without_auto() -> None:
    out, _ = PruneTools(PruneConfig(auto=False, drop=["Notebook*", "Todo*"])).apply(scenario("T2"), SessionState("s"))
    assert not any(n.startswith(("Notebook", "Todo")) for n in names(out))
    assert "WebSearch" in names(out)


def test_client_tool_search_is_left_alone_and_reported() -> None:
    tools = [{"name": "Bash", "input_schema": {"type": "object"}},
             {"name": "ToolSearch", "input_schema": {"type": "object"}},
             {"name": "NotebookEdit", "input_schema": {"type": "object"}}]
    request = ModelRequest({"model": "m", "tools": tools, "messages": [{"role": "user", "content": "hi"}]})
    out, report = PruneTools(PruneConfig()).apply(request, SessionState("s"))
    assert out is request and "client tool search" in report.decision


def test_off_by_default_and_on_with_a_switch() -> None:
    request = scenario("T1")
    default = build_pipeline()
    assert default.run(request, default.session("s"))[0] is request
    on = build_pipeline(PipelineConfig(stages={"compress": True, "prune": True}))
    out, reports = on.run(request, on.session("s"))
    assert [r.stage for r in reports][:3] == ["prune", "terminal", "compress"] and len(out.tools) == 9


def test_pruning_keeps_the_captured_claude_code_session_prefix_stable() -> None:
    from tests.pipeline.test_prefix_stability import SESSION, assert_prefix_stable, load

    pipeline = build_pipeline(PipelineConfig(stages={"compress": True, "prune": True}))
    state = pipeline.session("s")
    forwarded = [json.loads(pipeline.run(load(p), state)[0].wire_bytes()) for p in SESSION]
    assert_prefix_stable(forwarded)
    assert len(forwarded[0]["tools"]) < len(load(SESSION[0]).tools)


def test_a_restarted_proxy_keeps_the_sessions_decision(tmp_path) -> None:
    """``claude --resume`` under a new lynkr run: the tool list stays what the session started with."""
    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.pipeline.hook import run_pipeline

    config = PipelineConfig(stages={"compress": True, "prune": True})
    headers = {"x-claude-code-session-id": "cc-42"}
    later_body = dict(scenario("T1").body, messages=[{"role": "user", "content": "now edit the notebook cell 3"}])

    def forward(request: ModelRequest) -> list[str]:
        pipeline = build_pipeline(config, decisions_dir=tmp_path)
        out = run_pipeline(pipeline, request, headers, RequestRecord(session_id="lynkr-run", started_at=0, route="/"),
                           "lynkr-run")
        return names(out)

    first = forward(scenario("T1"))
    assert "NotebookEdit" not in first and list(tmp_path.glob("*.json"))
    assert forward(ModelRequest(later_body)) == first  # a fresh proxy, same session: same tools
    other = build_pipeline(config)  # without the saved decision it would decide differently
    assert "NotebookEdit" in names(other.run(ModelRequest(later_body), other.session("cc-42"))[0])


def claude_code_first_request() -> ModelRequest:
    """The first request the pinned Claude Code sent: a ``<system-reminder>`` block, then the user's words."""
    raw = (REPO_ROOT / "tests" / "data" / "claude_session" / "01.json").read_bytes()
    return ModelRequest(json.loads(raw), raw=raw)


def test_claude_codes_own_markup_is_not_read_as_the_users_words() -> None:
    """Claude Code wraps the context it adds in ``<system-reminder>`` tags: "reminder" is not the user
    asking to be reminded, so the scheduling tools go like the other unneeded ones."""
    request = claude_code_first_request()
    first = request.messages[0]["content"]
    assert first[0]["text"].startswith("<system-reminder>") and "remind" not in first[1]["text"].lower()
    out, report = PruneTools(PruneConfig()).apply(request, SessionState("s"))
    dropped = set(names(request)) - set(names(out))
    assert {"CronCreate", "CronDelete", "CronList", "ScheduleWakeup"} <= dropped
    assert {"NotebookEdit", "WebFetch", "WebSearch", "EnterWorktree", "ExitWorktree"} <= dropped
    assert {"Bash", "Read", "Edit", "Write", "Agent"} <= set(names(out))


def test_what_the_markup_encloses_still_counts() -> None:
    """A CLAUDE.md that sends the agent to a web page or asks for a daily check keeps those tools."""
    request = claude_code_first_request()
    messages = json.loads(json.dumps(request.messages))
    messages[0]["content"][0]["text"] = messages[0]["content"][0]["text"].replace(
        "# currentDate", "# claudeMd\nRead the API docs at https://example.com/api before changing the client.\n"
        "Schedule a recurring check of the deploy.\n# currentDate")
    out, _ = PruneTools(PruneConfig()).apply(ModelRequest({**request.body, "messages": messages}), SessionState("s"))
    assert {"WebFetch", "WebSearch", "CronCreate", "ScheduleWakeup"} <= set(names(out))
