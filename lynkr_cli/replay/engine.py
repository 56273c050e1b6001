"""Running rebuilt requests through the proxy's own pipeline, and billing both sides.

One ``Pipeline`` is built from the settings exactly as the proxy builds it (``build_pipeline``), and
each session gets its state from ``pipeline.session(session id)``, as the proxy keys it by Claude
Code's session header (Codex's ``session_id``). Each request is decoded by the proxy's inbound codec,
run through ``pipeline.run``, and, for an OpenAI client, edited in the client's own JSON by
``patch_original`` as the proxy forwards it. Decisions stay in memory (nothing is written to the
user's lynkr home) and lossy-elision artifacts are dropped.

Without ``target`` each request goes where the agent sent it (Claude Code to Anthropic, Codex to
OpenAI). With a ``target`` (``provider:model``) both sides go to that model through the provider
adapter's own ``build_call``: the "direct" side is the request translated without lynkr's stages and
without the cache breakpoints lynkr adds to translated traffic (what a plain translator sends), the
"lynkr" side is what lynkr sends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lynkr_cli.formats.cache_points import has_breakpoint
from lynkr_cli.replay.bill import Ledger, is_prefix
from lynkr_cli.replay.segments import Segment, SegmentCounter

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.ledger.pricing import PriceBook
    from lynkr_cli.pipeline.base import Pipeline
    from lynkr_cli.providers.base import HttpProvider
    from lynkr_cli.replay.session import RebuiltRequest, ReplaySession

NATIVE_PROVIDER = {"anthropic": "anthropic", "openai-responses": "openai", "openai-chat": "openai"}


@dataclass
class Routed:
    """The routing counterfactual of one session: tiers of its user turns and the bill at their models."""

    turns_by_tier: dict[str, int] = field(default_factory=dict)
    bill_usd: float = 0.0
    unpriced: int = 0


@dataclass
class SessionResult:
    """The replay of one transcript (the fields ``lynkr replay --json`` prints, and a few more)."""

    path: str
    agent: str
    session_id: str
    requests: int = 0
    input_tokens_direct: int = 0
    input_tokens_lynkr: int = 0
    input_tokens_recorded: int = 0  # the provider's own count, from the transcript's usage records
    bill_direct_usd: float = 0.0
    bill_lynkr_usd: float = 0.0
    cache_read_tokens_direct: int = 0
    cache_read_tokens_lynkr: int = 0
    prefix_breaks: int = 0
    lossless_failures: int = 0
    verify_failures: int | None = None  # --verify: requests whose expanded rewrites differ (None: not checked)
    stage_errors: int = 0
    unpriced_requests: int = 0
    last_request_input_tokens_lynkr: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)
    input_by_kind: dict[str, int] = field(default_factory=dict)  # direct input tokens by what they are
    models: list[str] = field(default_factory=list)
    tools_offered: int = 0
    tools_used: list[str] = field(default_factory=list)
    approximations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    routed: Routed | None = None
    last_body: bytes | None = field(default=None, repr=False)


class Replayer:
    """Replays sessions through one pipeline (and, with ``target``, one provider adapter)."""

    def __init__(self, pipeline: "Pipeline", target: "tuple[HttpProvider, str] | None" = None,
                 router: Any = None, keep_last: bool = False, book: "PriceBook | None" = None,
                 verify: bool = False) -> None:
        from lynkr_cli.ledger.pricing import DEFAULT_BOOK
        from lynkr_cli.replay.verify import Verifier

        self.book = book or DEFAULT_BOOK
        self.verifier = Verifier(pipeline) if verify else None
        self.pipeline = pipeline
        self.target = target
        self.router = router
        self.keep_last = keep_last

    def replay(self, session: "ReplaySession") -> SessionResult:
        result = SessionResult(session.path, session.agent, session.session_id,
                               approximations=list(session.approximations), warnings=list(session.warnings),
                               tools_used=sorted(session.tools_used),
                               input_tokens_recorded=session.recorded_input_tokens)
        state = self.pipeline.session(session.session_id)
        reference_state = self.verifier.session(session.session_id) if self.verifier is not None else None
        counter = SegmentCounter()
        kinds = KindTotals()
        direct, lynkr, routed_ledger = Ledger(self.book), Ledger(self.book), Ledger(self.book)
        previous: tuple[list[Any], list[Any]] | None = None
        routed = Routed() if self.router is not None else None
        last_wire: Any = None
        verify_failures = 0
        for rebuilt in session.requests:
            request, optimized, reports = self._optimize(rebuilt, state)
            if self.verifier is not None and reference_state is not None:
                verify_failures += int(self.verifier.failed(request, optimized, reference_state))
            (direct_wire, lynkr_wire), wire, provider, model = self._wires(rebuilt, request, optimized)
            direct_segments = counter.segments(direct_wire, wire, "direct")
            lynkr_segments = counter.segments(lynkr_wire, wire, "lynkr")
            cached_direct = wire != "anthropic" or has_breakpoint(direct_wire)
            cached_lynkr = wire != "anthropic" or has_breakpoint(lynkr_wire)
            direct.add(direct_segments, model, provider, cached_direct, rebuilt.timestamp)
            kinds.add(direct_segments, result.input_by_kind)
            bill = lynkr.add(lynkr_segments, model, provider, cached_lynkr, rebuilt.timestamp)
            if previous is not None and is_prefix(previous[0], direct_segments) \
                    and not is_prefix(previous[1], lynkr_segments):
                result.prefix_breaks += 1
            previous = (direct_segments, lynkr_segments)
            _count_reports(result, reports)
            if model and model not in result.models:
                result.models.append(model)
            result.tools_offered = max(result.tools_offered, len(request.tools))
            result.last_request_input_tokens_lynkr = bill.tokens
            if routed is not None:
                self._route(routed, routed_ledger, optimized, rebuilt, session.session_id, lynkr_segments, model)
            last_wire = lynkr_wire
        if self.keep_last and session.requests:
            result.last_body = json.dumps(last_wire, ensure_ascii=False).encode()
        result.verify_failures = verify_failures if self.verifier is not None else None
        result.requests = direct.requests
        result.input_tokens_direct, result.input_tokens_lynkr = direct.tokens, lynkr.tokens
        result.bill_direct_usd, result.bill_lynkr_usd = direct.usd, lynkr.usd
        result.cache_read_tokens_direct, result.cache_read_tokens_lynkr = direct.cache_read, lynkr.cache_read
        result.unpriced_requests = lynkr.unpriced
        if routed is not None:
            routed.bill_usd, routed.unpriced = routed_ledger.usd, routed_ledger.unpriced
            result.routed = routed
        return result

    def _optimize(self, rebuilt: "RebuiltRequest", state: Any) -> tuple["ModelRequest", "ModelRequest", list[Any]]:
        from lynkr_cli.formats import codec

        request = codec(rebuilt.inbound).decode_request(rebuilt.payload, b"")
        optimized, reports = self.pipeline.run(request, state)
        return request, optimized, reports

    def _wires(self, rebuilt: "RebuiltRequest", request: "ModelRequest",
               optimized: "ModelRequest") -> tuple[tuple[Any, Any], str, str, str | None]:
        """(direct body, lynkr body) on the wire, the wire format, the provider id and the model."""
        if self.target is None:
            wire = rebuilt.inbound
            return (rebuilt.payload, _client_body(rebuilt, request, optimized)), wire, \
                NATIVE_PROVIDER[wire], request.model
        provider, model = self.target
        plain = provider.build_call(request, model, {}, "")
        sent = plain if optimized is request else provider.build_call(optimized, model, {}, "")
        direct_wire = json.loads(plain.body)
        if rebuilt.inbound != plain.wire_format:  # a plain translator sends no breakpoints
            direct_wire = _without_breakpoints(direct_wire)
        return (direct_wire, json.loads(sent.body)), plain.wire_format, provider.id, model

    def _route(self, routed: Routed, ledger: Ledger, request: "ModelRequest", rebuilt: "RebuiltRequest",
               session_id: str, segments: list[Any], model: str | None) -> None:
        decision = self.router.route(request, session_id)
        tier = decision.tier.name if decision.tier is not None else "none"
        if rebuilt.user_turn:
            routed.turns_by_tier[tier] = routed.turns_by_tier.get(tier, 0) + 1
        target_model = decision.target.model if decision.target is not None else model
        provider = decision.target.provider if decision.target is not None else None
        ledger.add(segments, target_model, provider, True, rebuilt.timestamp)


class KindTotals:
    """Tokens by kind of every request's segments, summed over the requests (``input_by_kind``).

    A request's segments are mostly the previous request's plus a few: the previous sums are kept and
    only the new segments added (summing every segment of every request again grew with the square of
    a session's length)."""

    def __init__(self) -> None:
        self._segments: list[Segment] = []
        self._sums: dict[str, int] = {}

    def add(self, segments: list[Segment], into: dict[str, int]) -> None:
        previous = self._segments
        if len(previous) <= len(segments) and segments[:len(previous)] == previous:
            sums, new = dict(self._sums), segments[len(previous):]
        else:
            sums, new = {}, segments
        for segment in new:
            sums[segment.kind] = sums.get(segment.kind, 0) + segment.tokens
        self._segments, self._sums = segments, sums
        for kind, tokens in sums.items():
            into[kind] = into.get(kind, 0) + tokens


def _count_reports(result: SessionResult, reports: list[Any]) -> None:
    """A request's stage reports into the session's figures (``lossless_failures``: each stage's own
    round-trip check, reported once per new result)."""
    for report in reports:
        if report.error:
            result.stage_errors += 1
        result.lossless_failures += int(report.metrics.get("lossless_failures", 0))
        if report.changed:
            result.by_stage[report.stage] = result.by_stage.get(report.stage, 0) + report.saved


def _client_body(rebuilt: "RebuiltRequest", request: "ModelRequest", optimized: "ModelRequest") -> Any:
    """What the proxy forwards to the client's own upstream: the canonical body for Anthropic, the
    client's JSON with the stages' edits for OpenAI formats (``pipeline/patch.py``)."""
    if optimized is request:
        return rebuilt.payload
    if rebuilt.inbound == "anthropic":
        return optimized.body
    from lynkr_cli.formats import codec
    from lynkr_cli.pipeline.patch import patched_payload

    patched = patched_payload(rebuilt.payload, request, optimized)
    if patched is None:
        return json.loads(codec(rebuilt.inbound).encode_request(optimized, optimized.model or ""))
    return patched


def _without_breakpoints(body: dict[str, Any]) -> dict[str, Any]:
    def strip(blocks: Any) -> Any:
        if not isinstance(blocks, list):
            return blocks
        return [{k: v for k, v in b.items() if k != "cache_control"} if isinstance(b, dict) else b for b in blocks]

    out = dict(body)
    for key in ("tools", "system"):
        if key in out:
            out[key] = strip(out[key])
    out["messages"] = [{**m, "content": strip(m.get("content"))} for m in body.get("messages") or []]
    return out
