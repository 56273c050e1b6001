"""Session coherence: one model per user turn, no switch down that costs more than the lost cache."""

from __future__ import annotations

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.ledger import RequestRecord
from lynkr_cli.routing.budget import Budget, BudgetExceeded
from lynkr_cli.routing.coherence import switch_down_cost
from lynkr_cli.routing.config import RoutingConfig
from lynkr_cli.routing.router import Router
from lynkr_cli.routing.tiers import Target, Tier, TierMap

HARD = "Analyse the security trade-offs of our session handling step by step and redesign it."
EASY = "what does git stash do?"
SONNET, HAIKU, LOCAL = "anthropic:claude-sonnet-4-5", "anthropic:claude-haiku-4-5", "ollama:qwen2.5-coder"
OPUS = "anthropic:claude-opus-4-5"


def req(*messages: dict) -> ModelRequest:
    return ModelRequest({"model": "claude-sonnet-4-5", "max_tokens": 32000, "tools": [{"name": "Bash"}],
                         "messages": list(messages)})


def u(text: str) -> dict:
    return {"role": "user", "content": text}


def tool_call(i: int) -> dict:
    return {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Bash", "input": {"command": "ls"}}]}


def tool_result(i: int, text: str) -> dict:
    return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": text}]}


def test_the_tool_loop_keeps_the_model_chosen_at_the_start_of_the_turn() -> None:
    router = Router(TierMap.from_strings({"simple": LOCAL, "reasoning": SONNET}))
    first = router.route(req(u(HARD)), "s1")
    assert first.target == Target.parse(SONNET) and first.turn_start
    history = [u(HARD)]
    for i in range(3):  # tool results that, alone, would look trivial
        history += [tool_call(i), tool_result(i, "ok")]
        step = router.route(req(*history), "s1")
        assert step.target == first.target and step.sticky and "kept for the tool loop" in step.reason


def test_a_new_turn_may_switch_down_to_a_free_local_model() -> None:
    router = Router(TierMap.from_strings({"simple": LOCAL, "reasoning": SONNET}))
    history = [u(HARD), tool_call(0), tool_result(0, "done"), {"role": "assistant", "content": "fixed"}]
    router.route(req(*history[:1]), "s1")
    easy = router.route(req(*history, u(EASY)), "s1")
    assert easy.target == Target.parse(LOCAL) and "switched down" in easy.reason


def test_a_switch_down_that_loses_a_large_prompt_cache_is_refused() -> None:
    # opus -> sonnet with ~50k cached tokens: re-writing the cache on sonnet costs more than it saves.
    router = Router(TierMap.from_strings({"simple": SONNET, "reasoning": OPUS}))
    big = "x" * 200_000
    history = [u(HARD + big), {"role": "assistant", "content": "done"}]
    router.route(req(history[0]), "s1")
    easy = router.route(req(*history, u(EASY)), "s1")
    assert easy.target == Target.parse(OPUS) and easy.sticky and "prompt cache" in easy.reason


def test_switch_down_cost_follows_the_documented_formula() -> None:
    cost = switch_down_cost(Target.parse(SONNET), Target.parse(HAIKU), prefix_tokens=100_000, turn_requests=4,
                            output_tokens=600)
    stay = 4 * (100_000 * 0.30 + 600 * 15.0) / 1e6
    switch = (100_000 * 1.25 + 3 * 100_000 * 0.10 + 4 * 600 * 5.0) / 1e6
    assert round(cost.stay_usd, 6) == round(stay, 6) and round(cost.switch_usd, 6) == round(switch, 6)


def test_switching_up_is_always_allowed_and_subagents_are_separate_conversations() -> None:
    router = Router(TierMap.from_strings({"simple": LOCAL, "reasoning": SONNET}))
    router.route(req(u(EASY)), "s1")
    hard = router.route(req(u(EASY), {"role": "assistant", "content": "it stashes"}, u(HARD)), "s1")
    assert hard.target == Target.parse(SONNET)
    sub = router.route(req(u("list the files in src/")), "s1")  # a subagent's first message
    assert sub.target == Target.parse(LOCAL)


def test_no_tiers_means_no_routing_but_the_tier_is_still_explained() -> None:
    decision = Router().route(req(u(HARD)), "s1")
    assert decision.target is None and decision.tier is Tier.REASONING
    assert decision.details()["routed"] is False and decision.headers() == [("x-lynkr-tier", "REASONING")]


def test_budget_downgrades_then_stops_with_a_clear_message() -> None:
    tiers = TierMap.from_strings({"simple": LOCAL, "reasoning": SONNET})
    budget = Budget(session_usd=0.50)
    router = Router(tiers, RoutingConfig(), budget)
    assert router.route(req(u(HARD)), "s1").target == Target.parse(SONNET)
    budget.observe(RequestRecord(session_id="s", started_at=0, route="/v1/messages", cost_usd=0.6))
    down = router.route(req(u(HARD + " again")), "s2")
    assert down.target == Target.parse(LOCAL) and "session budget of $0.50 reached" in down.reason
    budget.action = "stop"  # routing.budget_action = "stop"
    stopping = router.route(req(u(HARD)), "s3")
    assert isinstance(stopping.stop, BudgetExceeded) and "session budget" in str(stopping.stop)


def test_codex_conversations_with_the_same_opening_are_kept_apart() -> None:
    """Codex opens every conversation with the same <environment_context>; its prompt_cache_key differs."""
    from lynkr_cli.routing.proxy import TierRouter

    router = TierRouter(Router(TierMap.from_strings({"simple": LOCAL, "reasoning": SONNET})))
    opening = u("<environment_context><cwd>/p</cwd></environment_context>")

    def codex(text_or_result: dict, conversation: str) -> ModelRequest:
        body = {"model": "gpt-5-codex", "tools": [{"name": "exec_command"}],
                "messages": [opening, text_or_result] if text_or_result["role"] == "user" and isinstance(
                    text_or_result["content"], str) else [opening, u(HARD), tool_call(0), text_or_result]}
        return ModelRequest(body, inbound="openai-responses", extras={"prompt_cache_key": conversation})

    assert router.route(codex(u(HARD), "c1"), "serve").model == "claude-sonnet-4-5"
    assert router.route(codex(u(EASY), "c2"), "serve").model == "qwen2.5-coder"
    # c1's tool loop keeps its own turn's model, not c2's
    assert router.route(codex(tool_result(0, "ok"), "c1"), "serve").model == "claude-sonnet-4-5"


def test_the_daily_budget_counts_what_other_sessions_spent_today(tmp_path) -> None:
    import time as _time

    from lynkr_cli.ledger import Ledger, SessionRecord
    from lynkr_cli.routing.budget import day_start
    from lynkr_cli.routing.setup import build_router
    from lynkr_cli.config import load_settings

    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger(path)
    ledger.start_session(SessionRecord(id="earlier", agent="claude", argv=[], cwd=".", started_at=_time.time(),
                                       pid=1, lynkr_version="t"))
    today, yesterday = _time.time(), day_start() - 3600
    for when, cost in ((today, 1.25), (today, 0.75), (yesterday, 50.0)):
        ledger.record_request(RequestRecord(session_id="earlier", started_at=when, route="/v1/messages", cost_usd=cost))
    ledger.flush()
    ledger.close()
    env = {"LYNKR_TIERS__SIMPLE": LOCAL, "LYNKR_TIERS__REASONING": SONNET, "LYNKR_BUDGET__DAILY_USD": "2.5",
           "LYNKR_CONFIG_HOME": str(tmp_path / "cfg"), "HOME": str(tmp_path)}
    router = build_router(load_settings(env=env, cwd=tmp_path), ledger_path=path)
    assert router.budget is not None and round(router.budget.spent_today, 2) == 2.0
    assert router.route(req(u(HARD)), "s").target == Target.parse(SONNET)  # $2.00 of $2.50
    router.budget.add(0.6)
    down = router.route(req(u(HARD + " now")), "s2")
    assert down.target == Target.parse(LOCAL) and "daily budget of $2.50 reached ($2.60 spent today)" in down.reason
