"""Force rules and slot rules: the decisions users configure or expect regardless of the score."""

from __future__ import annotations

from lynkr_cli.routing.config import RoutingConfig
from lynkr_cli.routing.router import Router
from lynkr_cli.routing.tiers import Target, Tier, TierMap

TIERS = TierMap.from_strings({"simple": "ollama:qwen2.5-coder", "medium": "anthropic:claude-haiku-4-5",
                              "complex": "anthropic:claude-sonnet-4-5", "reasoning": "anthropic:claude-opus-4-5"})


def user(text: str, **body: object) -> dict:
    return {"model": "claude-sonnet-4-5", "max_tokens": 32000, "messages": [{"role": "user", "content": text}], **body}


def test_claude_code_think_keywords_force_reasoning() -> None:
    c = Router(TIERS).classify(user("ultrathink about this"))
    assert (c.tier, c.rule) == (Tier.REASONING, "think-keyword")


def test_security_is_never_below_complex() -> None:
    c = Router(TIERS).classify(user("is this a security problem?"))
    assert c.tier >= Tier.COMPLEX and c.rule == "security"


def test_user_force_rules_come_first_and_floor_rules_only_raise() -> None:
    config = RoutingConfig.model_validate({"rules": [
        {"pattern": "(?i)terraform", "tier": "complex"},
        {"pattern": "(?i)kubectl", "tier": "medium", "floor": True},
    ]})
    router = Router(TIERS, config)
    assert router.classify(user("what does terraform plan do?")).tier is Tier.COMPLEX
    assert router.classify(user("what does kubectl get pods print?")).tier is Tier.MEDIUM
    hard = "Design the architecture for kubectl plugins; analyse the trade-offs step by step."
    assert router.classify(user(hard)).tier is Tier.REASONING


def test_title_generation_side_request_goes_to_the_background_slot() -> None:
    body = {"model": "claude-haiku-4-5", "max_tokens": 512,
            "system": [{"type": "text", "text": "Generate a concise, sentence-case title (3-7 words) for this coding session."}],
            "messages": [{"role": "user", "content": "Design the architecture of a distributed payment system step by step"}]}
    from lynkr_cli.canonical import ModelRequest

    c = Router(TIERS).classify(body)
    assert (c.tier, c.rule, c.side) == (Tier.SIMPLE, "slot:background", True)
    assert Router(TIERS).route(ModelRequest(body), "s").target == Target("ollama", "qwen2.5-coder")


def test_slots_long_context_image_and_thinking_budget() -> None:
    config = RoutingConfig.model_validate({"slots": {"long_context": "gemini:gemini-2.5-pro", "long_context_tokens": 1000}})
    router = Router(TIERS, config)
    long = router.classify(user("what does git stash do? " + "x" * 8000))
    assert long.target == Target("gemini", "gemini-2.5-pro") and long.rule == "slot:long_context"
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}
    pic = router.classify({"messages": [{"role": "user", "content": [image, {"type": "text", "text": "what is this?"}]}]})
    assert pic.tier >= Tier.MEDIUM and pic.rule == "slot:image"
    think = router.classify(user("what does git stash do?", thinking={"type": "enabled", "budget_tokens": 16000}))
    assert think.tier is Tier.REASONING and think.rule == "slot:think"


def test_claude_code_adaptive_thinking_and_default_effort_are_no_signal() -> None:
    body = user("what does git stash do?", thinking={"type": "adaptive"}, output_config={"effort": "high"})
    assert Router(TIERS).classify(body).tier is Tier.SIMPLE


def test_a_client_can_name_a_tier_as_its_model() -> None:
    c = Router(TIERS).classify({"model": "lynkr-reasoning", "messages": [{"role": "user", "content": "hi"}]})
    assert (c.tier, c.rule) == (Tier.REASONING, "model-name")


def test_unmapped_tier_borrows_the_next_stronger_one() -> None:
    tiers = TierMap.from_strings({"simple": "ollama:qwen", "complex": "anthropic:claude-sonnet-4-5"})
    assert tiers.target_for(Tier.MEDIUM) == Target("anthropic", "claude-sonnet-4-5")
    assert tiers.target_for(Tier.REASONING) == Target("anthropic", "claude-sonnet-4-5")
    assert tiers.target_for(Tier.SIMPLE) == Target("ollama", "qwen")
    assert Target.parse("ollama:qwen2.5-coder:7b") == Target("ollama", "qwen2.5-coder:7b")


def test_model_names_map_to_tiers_or_models_for_claude_code_and_codex() -> None:
    config = RoutingConfig.model_validate({"models": {"claude-opus*": "reasoning", "gpt-5-codex": "ollama:qwen3-coder"}})
    router = Router(TIERS, config)
    opus = router.classify({"model": "claude-opus-4-8", "messages": [{"role": "user", "content": "hi"}]})
    assert (opus.tier, opus.rule) == (Tier.REASONING, "model-map")
    codex = router.classify({"model": "gpt-5-codex", "messages": [{"role": "user", "content": "refactor everything"}]})
    assert codex.target == Target("ollama", "qwen3-coder")
    sonnet = router.classify({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]})
    assert sonnet.rule != "model-map"  # unmapped names are scored as usual


def test_fallback_chain_goes_up_the_tiers_then_the_configured_list() -> None:
    config = RoutingConfig.model_validate({"fallback": ["openrouter:anthropic/claude-sonnet-4-5", "anthropic:claude-opus-4-5"]})
    router = Router(TIERS, config)
    chain = router.chain(Target("ollama", "qwen2.5-coder"), Tier.SIMPLE)
    assert [str(t) for t in chain] == ["anthropic:claude-haiku-4-5", "anthropic:claude-sonnet-4-5",
                                       "anthropic:claude-opus-4-5", "openrouter:anthropic/claude-sonnet-4-5"]
    assert [str(t) for t in Router(TIERS, RoutingConfig(fallback_up=False)).chain(None, Tier.SIMPLE)] == []


def test_web_search_requests_stay_with_the_agents_own_provider_by_default() -> None:
    """Anthropic's web search is a server tool: a local tier could not run it."""
    from lynkr_cli.canonical import ModelRequest

    body = user("what is new in python 3.14?", tools=[{"type": "web_search_20250305", "name": "web_search"}])
    decision = Router(TIERS).route(ModelRequest(body), "s")
    assert decision.target is None and decision.rule == "slot:web_search" and "own upstream" in decision.reason
    routed = Router(TIERS, RoutingConfig.model_validate({"slots": {"web_search": "complex"}})).route(ModelRequest(body), "s")
    assert routed.target == Target("anthropic", "claude-sonnet-4-5")
