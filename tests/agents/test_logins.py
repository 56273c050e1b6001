"""When lynkr gives the agent the session token as its key, and when it says a login is missing."""

from __future__ import annotations

from lynkr_cli.agents.logins import RouteAuth, plan_login

OPENROUTER = RouteAuth("openrouter", "tiers.simple", passes_through=False, lynkr_has_key=True)
ANTHROPIC = RouteAuth("anthropic", "default", passes_through=True, lynkr_has_key=False)
ANTHROPIC_HELD = RouteAuth("anthropic", "tiers.complex", passes_through=True, lynkr_has_key=True)


def plan(routes, own):  # type: ignore[no-untyped-def]
    asked = []

    def own_login() -> bool:
        asked.append(True)
        return own

    return plan_login(routes, own_login, "Claude Code", "log in"), bool(asked)


def test_every_route_held_by_lynkr_gives_the_token_without_looking_at_logins():
    (result, asked) = plan([OPENROUTER], own=True)
    assert result.token_as_key and result.warning is None and not asked


def test_a_route_through_the_users_own_login_keeps_that_login():
    (result, _) = plan([OPENROUTER, ANTHROPIC], own=True)
    assert not result.token_as_key and result.warning is None


def test_no_login_and_a_route_that_needs_one_warns_but_the_held_routes_still_work():
    (result, _) = plan([OPENROUTER, ANTHROPIC], own=False)
    assert result.token_as_key
    assert result.warning == ("Claude Code has no login or key of its own, and this run's requests go to anthropic "
                              "with it: log in, or send them elsewhere (lynkr run --model PROVIDER:MODEL, or [tiers] "
                              "in lynkr.toml)")


def test_no_login_and_no_other_route_leaves_the_agent_its_own_login_screen():
    (result, _) = plan([ANTHROPIC], own=False)
    assert not result.token_as_key and result.warning is not None


def test_a_key_lynkr_holds_for_the_agents_own_provider_serves_an_agent_without_login():
    (result, _) = plan([ANTHROPIC_HELD], own=False)
    assert result.token_as_key and result.warning is None
