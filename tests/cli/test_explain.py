"""``lynkr explain`` as a user runs it: with and without tiers, a prompt or a request file, --json."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import base_env, run_lynkr

JWT = ("Analyse the security trade-offs of storing JWT tokens in localStorage vs httpOnly cookies for a "
       "banking application. Step by step.")


def test_explain_without_tiers_shows_the_tier_alone(lynkr_home: Path) -> None:
    result = run_lynkr(["explain", JWT], base_env(lynkr_home), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "tier       REASONING" in result.stdout
    assert "no tiers configured" in result.stdout
    assert "reasoning" in result.stdout and "risk" in result.stdout  # the breakdown
    assert "matched    security: at least COMPLEX" in result.stdout  # a rule that matched without deciding


def test_explain_json_with_tiers_names_the_model(lynkr_home: Path) -> None:
    env = base_env(lynkr_home, TIER_SIMPLE="ollama:qwen2.5-coder", TIER_REASONING="anthropic:claude-opus-4-5")
    result = run_lynkr(["explain", "--json", "What does git stash do?"], env, timeout=60)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["tier"], data["provider"], data["model"]) == ("SIMPLE", "ollama", "qwen2.5-coder")
    assert isinstance(data["score"], (int, float)) and data["reason"]


def test_explain_a_request_file_and_a_clear_error_for_a_bad_one(lynkr_home: Path, tmp_path: Path) -> None:
    request = tmp_path / "req.json"
    request.write_text(json.dumps({"model": "claude-haiku-4-5", "max_tokens": 100,
                                   "system": "Generate a concise title for this conversation",
                                   "messages": [{"role": "user", "content": JWT}]}))
    result = run_lynkr(["explain", "--json", "--request", str(request)], base_env(lynkr_home), timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rule"] == "slot:background"
    request.write_text("{not json")
    bad = run_lynkr(["explain", "--request", str(request)], base_env(lynkr_home), timeout=60)
    assert bad.returncode == 2 and "not valid JSON" in bad.stderr and "Traceback" not in bad.stderr


def test_explain_with_a_shipped_profile_uses_its_tiers(lynkr_home: Path) -> None:
    result = run_lynkr(["explain", "--json", "--profile", "hybrid-local-cloud", JWT], base_env(lynkr_home), timeout=60)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tier"] == "REASONING" and data["provider"] == "anthropic"
    easy = run_lynkr(["explain", "--json", "-p", "hybrid-local-cloud", "what does git stash do?"], base_env(lynkr_home),
                     timeout=60)
    assert json.loads(easy.stdout)["provider"] == "ollama"


def test_explain_a_codex_responses_request(lynkr_home: Path) -> None:
    """A body Codex really sent (captured): its environment block is not the user's words."""
    captured = Path(__file__).resolve().parent.parent / "data" / "codex_session" / "01.json"
    result = run_lynkr(["explain", "--json", "--request", str(captured)], base_env(lynkr_home), timeout=60)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tier"] in ("MEDIUM", "COMPLEX") and data["breakdown"]["reasoning"] > 0  # "why does … fail?"
