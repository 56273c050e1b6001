"""The pipeline framework: the Stage contract, its report, and the fail-open runner.

A stage is a pure function of (canonical request, session state): no I/O, the same output bytes for
the same input on every turn, and idempotent (running it on its own output changes nothing). That is
what keeps the provider's prompt cache valid: the prefix it cached last turn is sent again byte for
byte. A stage that changes nothing returns the very same ``ModelRequest`` object, so when no stage
changes anything the client's original bytes are forwarded untouched.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Protocol, Sequence

if TYPE_CHECKING:
    from pathlib import Path

    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.pipeline.state import SessionState

log = logging.getLogger("lynkr.pipeline")


@dataclass
class StageReport:
    """What one stage did to one request.

    ``tokens_before``/``tokens_after`` are o200k counts of the parts the stage changed (so
    ``saved`` is its effect alone); ``items`` lists per-part decisions (for the compression stage:
    one entry per new tool result with the representation it got); ``metrics`` holds stage-specific
    counts (e.g. tokens saved in earlier turns, which the provider may bill as cache reads); ``artifacts`` carries data the caller
    must persist (full text of lossy elisions) because stages do no I/O themselves.
    """

    stage: str
    changed: bool = False
    tokens_before: int = 0
    tokens_after: int = 0
    decision: str = ""
    elapsed_ms: float = 0.0
    error: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, int] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def saved(self) -> int:
        return self.tokens_before - self.tokens_after

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form stored in the ledger (artifacts are stored elsewhere, not here).

        Written out field by field: ``dataclasses.asdict`` deep-copies every item and artifact, and
        with five reports a request that was ~0.1 ms of each model call's proxy time. A report is made
        for one request and not changed after, so its items need no deep copy."""
        return {"stage": self.stage, "changed": self.changed, "tokens_before": self.tokens_before,
                "tokens_after": self.tokens_after, "decision": self.decision, "elapsed_ms": round(self.elapsed_ms, 3),
                "error": self.error, "items": [dict(item) for item in self.items], "metrics": dict(self.metrics)}


class Stage(Protocol):
    """One optimization step. ``apply`` must be deterministic and idempotent and do no I/O."""

    name: str

    def apply(self, request: "ModelRequest", state: "SessionState") -> "tuple[ModelRequest, StageReport]": ...


class Pipeline:
    """Runs its enabled stages in order; a failing stage is skipped (fail-open) and its error recorded."""

    def __init__(self, stages: Sequence[Stage] = (), disabled: Iterable[str] = (),
                 elided_dir: "Path | None" = None, decisions_dir: "Path | None" = None) -> None:
        from lynkr_cli.pipeline.state import SessionStates

        self.stages = list(stages)
        self.disabled = frozenset(disabled)
        self.sessions = SessionStates()
        self.elided_dir = elided_dir
        self.decisions_dir = decisions_dir  # None: decisions live in memory only

    def save_elided(self, ref: str, text: str) -> None:
        """Keep the full text behind a lossy elision (the one piece of I/O, done by the caller)."""
        from lynkr_cli.pipeline import elided

        elided.save(self.elided_dir or elided.elided_dir(), ref, text)

    def warm(self) -> None:
        """Build the tokenizer and import toon-format in a background thread (0.5–1.5 s), so the
        first tool result of a session does not wait for them. The thread starts its work once the
        agent's first request has been answered (``lynkr_cli/background.py``: the build holds the
        interpreter lock for up to ~0.4 s, which the first request must not wait for)."""
        import threading

        def load() -> None:
            from lynkr_cli import background, tokens

            if not background.wait_for_quiet():
                return  # the agent has exited: nothing left to warm up for
            try:
                tokens.encoding()
                import toon_format  # noqa: F401
            except Exception:  # reported by the stage that needs it, through the fail-open path
                log.warning("pipeline warm-up failed", exc_info=True)

        if self.active:
            threading.Thread(target=load, name="lynkr-pipeline-warm", daemon=True).start()

    @property
    def active(self) -> list[Stage]:
        return [stage for stage in self.stages if stage.name not in self.disabled]

    def session(self, key: str) -> "SessionState":
        """The state of one agent session (Claude Code's session id, or the lynkr session's), with the
        decisions a previous proxy saved for it."""
        state = self.sessions.get(key)
        if self.decisions_dir is not None and not state.loaded:
            from lynkr_cli.pipeline import decisions

            state.restore(decisions.load(self.decisions_dir, key))
        return state

    def save_decisions(self, state: "SessionState") -> None:
        """Write the session's decisions if a stage made a new one (called by the hook, after ``run``)."""
        if self.decisions_dir is not None and state.take_unsaved():
            from lynkr_cli.pipeline import decisions

            decisions.save(self.decisions_dir, state.key, dict(state.decisions))

    def run(self, request: "ModelRequest", state: "SessionState") -> "tuple[ModelRequest, list[StageReport]]":
        """The optimized request and one report per active stage.

        An exception in a stage leaves the request as that stage received it and is recorded in its
        report; later stages still run. When nothing changed, the input object itself is returned.
        The stages see the conversation the request continues (``conversation.py``), so each handles
        only the messages new since the previous request of that conversation.
        """
        original = request
        stages = self.active
        conversation = None
        messages = request.body.get("messages")
        if stages and type(messages) is list and messages:
            conversation, given = self.sessions.conversations.follow(state.key, messages)
            if not conversation.lock.acquire(blocking=False):
                conversation = None  # another thread is optimizing it: this request computes on its own
            elif given is not messages:
                request = request.with_body({**request.body, "messages": given})
        from lynkr_cli.pipeline.conversation import RUNNING

        running = RUNNING.set(conversation)
        reports: list[StageReport] = []
        try:
            for stage in stages:
                request, report = self._apply(stage, request, state)
                reports.append(report)
        finally:
            RUNNING.reset(running)
            if conversation is not None:
                conversation.lock.release()
        if not any(report.changed for report in reports):
            return original, reports
        return request, reports

    @staticmethod
    def _apply(stage: Stage, request: "ModelRequest", state: "SessionState") -> "tuple[ModelRequest, StageReport]":
        t0 = time.perf_counter()
        try:
            result, report = stage.apply(request, state)
        except Exception as exc:  # the fail-open boundary: a stage bug must never block a request
            log.warning("pipeline stage %s failed; request forwarded without it", stage.name, exc_info=True)
            result = request
            report = StageReport(stage=stage.name, decision="failed: forwarded unchanged by this stage",
                                 error=f"{type(exc).__name__}: {exc}")
        report.elapsed_ms = (time.perf_counter() - t0) * 1000
        return result, report


def summarize_reports(reports: Sequence[StageReport]) -> dict[str, Any]:
    """The ``record.details["pipeline"]`` entry: totals plus each stage's report."""
    return {
        "changed": any(r.changed for r in reports),
        "tokens_saved": sum(r.saved for r in reports if r.changed),
        "elapsed_ms": round(sum(r.elapsed_ms for r in reports), 3),
        "stages": [r.to_dict() for r in reports],
    }
