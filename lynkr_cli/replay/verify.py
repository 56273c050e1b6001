"""An independent lossless check: undo lynkr's reversible rewrites and compare with what they were given.

Each reversible stage (``paths``, ``dedup``, ``linenums``) checks its own rewrites and reports
``lossless_failures``; ``--verify`` does not take its word for it. A second pipeline, the same but for
those stages, gives what they were given (the request after ``prune``, ``terminal`` and ``compress``);
``pipeline.expand.expand_messages`` undoes the reversible stages over the whole conversation lynkr
would send, as a model reading it would resolve each reference; every block lynkr rewrote must come
back equal to what it was given. A request where one does not is a verification failure. It costs a second pipeline run and a walk over
the conversation per request, hence an option.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.pipeline.base import Pipeline
    from lynkr_cli.pipeline.state import SessionState

REVERSIBLE = frozenset({"paths", "dedup", "linenums"})


def reference_pipeline(pipeline: "Pipeline") -> "Pipeline":
    """``pipeline`` without its reversible stages (its own session states)."""
    from lynkr_cli.pipeline.base import Pipeline

    return Pipeline(pipeline.stages, disabled=pipeline.disabled | REVERSIBLE)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _blocks(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, list) else [content]


class Verifier:
    """Counts the requests whose expanded messages differ from the reference pipeline's."""

    def __init__(self, pipeline: "Pipeline") -> None:
        self.active = frozenset(stage.name for stage in pipeline.active) & REVERSIBLE
        self.reference = reference_pipeline(pipeline)

    def session(self, key: str) -> "SessionState":
        return self.reference.session(key)

    def failed(self, request: "ModelRequest", optimized: "ModelRequest", state: "SessionState") -> bool:
        """True when a block lynkr rewrote does not come back as it was once the rewrites are undone.

        Blocks lynkr sent as it was given them are the original by definition, and are not expanded:
        output that already reads like a stage's form (a linter's own ``path`` heading then
        ``line:col`` lines) would be "expanded" into something else, which says nothing about lynkr.
        """
        reference, _ = self.reference.run(request, state)
        if not self.active:
            return False
        from lynkr_cli.pipeline.expand import expand_messages

        sent, given = list(optimized.messages), list(reference.messages)
        if len(sent) != len(given):
            return True
        expanded = expand_messages(sent, self.active)
        for was, now, back in zip(given, sent, expanded):
            if now is was or _plain(now) == _plain(was):
                continue
            blocks = zip(_blocks(was), _blocks(now), _blocks(back))
            if any(_plain(b) != _plain(a) for a, n, b in blocks if _plain(n) != _plain(a)):
                return True
        return False
