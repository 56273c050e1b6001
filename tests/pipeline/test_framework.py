"""The stage runner: order, fail-open, original bytes when nothing changed, switches."""

from __future__ import annotations

import json

import pytest

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.errors import UsageError
from lynkr_cli.pipeline import Pipeline, SessionState, StageReport
from lynkr_cli.pipeline.base import summarize_reports
from lynkr_cli.pipeline.build import build_pipeline
from lynkr_cli.pipeline.config import PipelineConfig, with_switches
from lynkr_cli.pipeline.switches import STAGE_NAMES, parse_stage_switch


class Exploding:
    name = "exploding"

    def apply(self, request, state):
        raise RuntimeError("bug in a stage")


class AddSystem:
    name = "add-system"

    def apply(self, request, state):
        return request.with_body({**request.body, "system": "x"}), StageReport(self.name, changed=True,
                                                                              tokens_before=5, tokens_after=3)


def request() -> ModelRequest:
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    raw = json.dumps(body, indent=2).encode()  # not the canonical serialization: must survive untouched
    return ModelRequest(body, raw=raw)


def test_a_failing_stage_forwards_the_request_unchanged_and_is_recorded() -> None:
    original = request()
    out, reports = Pipeline([Exploding()]).run(original, SessionState("s"))
    assert out is original and out.wire_bytes() == original.raw
    assert reports[0].error == "RuntimeError: bug in a stage"
    assert reports[0].decision.startswith("failed")
    summary = summarize_reports(reports)
    assert summary["changed"] is False and summary["stages"][0]["error"]


def test_later_stages_still_run_after_a_failure() -> None:
    out, reports = Pipeline([Exploding(), AddSystem()]).run(request(), SessionState("s"))
    assert out.body["system"] == "x" and out.raw is None
    assert [r.stage for r in reports] == ["exploding", "add-system"]
    assert summarize_reports(reports)["tokens_saved"] == 2


def test_disabled_stages_do_not_run_and_nothing_changed_keeps_the_original_bytes() -> None:
    original = request()
    pipeline = Pipeline([AddSystem()], disabled=["add-system"])
    out, reports = pipeline.run(original, SessionState("s"))
    assert out is original and reports == []


def test_default_pipeline_leaves_a_plain_request_byte_identical() -> None:
    original = request()
    out, reports = build_pipeline().run(original, SessionState("s"))
    assert out.wire_bytes() == original.raw
    assert [r.stage for r in reports] == ["terminal", "compress", "paths", "dedup", "linenums"]
    assert not any(r.changed for r in reports)


def test_switches_and_no_optimize() -> None:
    assert parse_stage_switch("compress=off") == ("compress", False)
    assert parse_stage_switch("prune=on") == ("prune", True)
    for bad in ("compres=off", "compress", "compress=maybe"):
        with pytest.raises(UsageError):
            parse_stage_switch(bad)
    config = PipelineConfig()
    assert config.disabled_stages() == ["prune"]
    assert with_switches(config, switches=["compress=off"]).disabled_stages() == ["compress", "prune"]
    assert with_switches(config, no_optimize=True).disabled_stages() == list(STAGE_NAMES)
    assert set(STAGE_NAMES) == {"compress", "prune", "terminal", "paths", "dedup", "linenums"}
    assert with_switches(config, switches=["dedup=off", "paths=off"]).disabled_stages() == ["prune", "paths", "dedup"]
    assert build_pipeline(with_switches(config, no_optimize=True)).active == []


def test_session_state_decides_once() -> None:
    state = SessionState("s")
    calls = []
    first = state.decide_once("tools", lambda: calls.append(1) or ["Read"])
    second = state.decide_once("tools", lambda: calls.append(1) or ["Write"])
    assert first == (["Read"], True) and second == (["Read"], False) and calls == [1]


def test_a_report_in_the_ledger_has_every_field_but_its_artifacts() -> None:
    """The ledger's form of a stage report names each field (a new one cannot be left out silently),
    keeps none of the elided texts, and is a copy the report's later changes do not reach."""
    from dataclasses import fields

    report = StageReport(stage="compress", changed=True, tokens_before=90, tokens_after=40, decision="toon",
                         elapsed_ms=1.23456, items=[{"tool_use_id": "t1", "representation": "toon"}],
                         metrics={"earlier_saved": 7}, artifacts={"ref": "the whole text"})
    stored = report.to_dict()
    assert list(stored) == [f.name for f in fields(StageReport) if f.name != "artifacts"]
    assert stored["elapsed_ms"] == 1.235 and stored["items"] == [{"tool_use_id": "t1", "representation": "toon"}]
    assert "the whole text" not in json.dumps(stored)
    report.items[0]["representation"] = "json-min"
    report.metrics["earlier_saved"] = 0
    assert stored["items"][0]["representation"] == "toon" and stored["metrics"] == {"earlier_saved": 7}
