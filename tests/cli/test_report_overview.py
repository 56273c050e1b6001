"""``lynkr report --since``: the overview a user reads at 80 columns, and the JSON/CSV scripts read."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

from lynkr_cli.ledger import Ledger, RequestRecord, SessionRecord
from tests.conftest import base_env, run_lynkr

NOW = time.time()


def _session(ledger: Ledger, sid: str, agent: str, age_days: float) -> float:
    started = NOW - age_days * 86400
    ledger.start_session(SessionRecord(id=sid, agent=agent, argv=[agent], cwd="/w", started_at=started, pid=1,
                                       lynkr_version="t"))
    return started


def _request(ledger: Ledger, sid: str, at: float, model: str, cost: float, tier: str | None = None,
             saved: int = 0, cache_hit: bool | None = None, status: int = 200) -> None:
    details: dict = {}
    if tier:
        details["route"] = {"tier": tier, "routed": True, "score": 1.0, "reason": "test"}
    if saved:
        details["pipeline"] = {"changed": True, "tokens_saved": saved, "stages": [
            {"stage": "compress", "changed": True, "tokens_before": saved * 3, "tokens_after": saved * 2}]}
    if cache_hit is not None:
        details["cache"] = {"hit": cache_hit}
    ledger.record_request(RequestRecord(
        session_id=sid, started_at=at, route="/v1/messages", model_requested=model, model_used=model, status=status,
        input_tokens=1000, output_tokens=100, cache_read_tokens=5000, cache_write_tokens=0, cost_usd=cost,
        details=details, error=None if status < 400 else "upstream 529",
    ))


@pytest.fixture
def seeded(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "lh"
    ledger = Ledger(home / "ledger.sqlite3")
    t = _session(ledger, "s-claude-1", "claude", 1)
    _request(ledger, "s-claude-1", t + 1, "claude-sonnet-4-5-20250929-with-a-very-long-name", 0.50, "COMPLEX", saved=400)
    _request(ledger, "s-claude-1", t + 2, "claude-haiku-4-5", 0.01, "SIMPLE", cache_hit=True)
    _request(ledger, "s-claude-1", t + 3, "claude-haiku-4-5", 0.02, "SIMPLE", cache_hit=False, status=529)
    t = _session(ledger, "s-codex-1", "codex", 3)
    _request(ledger, "s-codex-1", t + 1, "gpt-5-codex", 0.30, saved=100)
    t = _session(ledger, "s-old", "claude", 20)  # outside --since 7d
    _request(ledger, "s-old", t + 1, "claude-opus-4-1", 9.0)
    for sid in ("s-claude-1", "s-codex-1", "s-old"):
        ledger.finish_session(sid, 0)
    ledger.flush()
    ledger.close()
    return base_env(home, COLUMNS="80")


def test_json_overview_sums_the_window(seeded: dict[str, str]) -> None:
    result = run_lynkr(["report", "--since", "7d", "--json"], seeded)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sessions"] == 2
    assert data["totals"]["requests"] == 4 and data["totals"]["errors"] == 1
    assert data["totals"]["cost_usd"] == pytest.approx(0.83)
    assert {line["name"]: line["sessions"] for line in data["by_agent"]} == {"claude": 1, "codex": 1}
    assert {line["name"]: line["requests"] for line in data["by_tier"]} == {"SIMPLE": 2, "COMPLEX": 1}
    assert data["by_model"][0]["name"].startswith("claude-sonnet-4-5")  # most expensive first
    assert data["stages"] == [{"stage": "compress", "requests_changed": 2, "tokens_before": 1500,
                               "tokens_after": 1000, "saved": 500}]
    assert (data["cache_hits"], data["cache_lookups"]) == (1, 2)
    assert len(data["by_day"]) >= 7  # quiet days are there too, for the sparkline


def test_terminal_overview_fits_80_columns(seeded: dict[str, str]) -> None:
    result = run_lynkr(["report", "--since", "7d"], seeded)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    text = result.stdout
    for expected in ("2 sessions", "by agent", "by model", "by tier", "savings by stage", "compress",
                     "cache  1 hits of 2 lookups", "claude-sonnet-4-5-20250929-with-a-very-long-name", "█"):
        assert expected in text, (expected, text)
    assert "claude-opus-4-1" not in text  # 20 days old
    assert any(ch in text for ch in "▁▂▃▄▅▆▇")


def test_csv_one_row_per_session(seeded: dict[str, str]) -> None:
    result = run_lynkr(["report", "--all", "--csv"], seeded)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows] == ["s-claude-1", "s-codex-1", "s-old"]
    assert rows[0]["requests"] == "3" and rows[0]["errors"] == "1" and float(rows[0]["cost_usd"]) == pytest.approx(0.53)
    assert rows[0]["tokens_saved"] == "400" and rows[0]["cache_hits"] == "1"


def test_bad_since_is_one_line(seeded: dict[str, str]) -> None:
    result = run_lynkr(["report", "--since", "a week"], seeded)
    assert result.returncode == 2 and "--since expects" in result.stderr and "Traceback" not in result.stderr
