"""What any tool-result stage could at most save: the bill if every tool result were empty.

Replays the transcripts three ways through ``lynkr replay``'s engine (billing with prompt-cache
pricing): no stage, the default pipeline, and a pipeline whose one stage replaces every tool-result
text with nothing (not a stage anyone should run: the bound on what rewriting tool results can save,
which is how far the 5 % / 10 % targets of issue 17 are from it).

    python bench/tool_result_bound.py /work/data/sessions/public bench/sessions/recorded
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lynkr_cli.canonical import ModelRequest  # noqa: E402
from lynkr_cli.pipeline.base import Pipeline, Stage, StageReport  # noqa: E402
from lynkr_cli.pipeline.build import build_pipeline  # noqa: E402
from lynkr_cli.pipeline.results import Rewrite, ToolOf, rewrite_results  # noqa: E402
from lynkr_cli.pipeline.state import SessionState  # noqa: E402
from lynkr_cli.replay.engine import Replayer  # noqa: E402
from lynkr_cli.replay.load import load_session  # noqa: E402
from lynkr_cli.replay.transcripts import find_transcripts  # noqa: E402


class EmptyResults:
    """Every tool-result text becomes the empty string (the bound, not an optimization)."""

    name = "compress"  # billed where a tool-result stage's saving is billed

    def apply(self, request: ModelRequest, state: SessionState) -> tuple[ModelRequest, StageReport]:
        report = StageReport(self.name)

        def empty(text: str, tool_use_id: str, tool_of: ToolOf) -> Rewrite:
            return Rewrite("", 1, 0) if text else Rewrite()

        return rewrite_results(request, empty, report), report


def main() -> None:
    paths = find_transcripts([Path(p) for p in sys.argv[1:]])
    sessions = [load_session(p) for p in paths]
    empty: list[Stage] = [EmptyResults()]
    print(f"# python bench/tool_result_bound.py {' '.join(sys.argv[1:])}: {len(sessions)} sessions")
    print("| pipeline | input-side bill | saved | input tokens saved |")
    print("|---|---:|---:|---:|")
    for label, pipeline in (("no stage", Pipeline([])), ("default configuration", build_pipeline()),
                            ("every tool result empty (the bound)", Pipeline(empty))):
        replayer = Replayer(pipeline)
        direct = lynkr = 0.0
        tokens_direct = tokens_lynkr = 0
        for session in sessions:
            result = replayer.replay(session)
            direct += result.bill_direct_usd
            lynkr += result.bill_lynkr_usd
            tokens_direct += result.input_tokens_direct
            tokens_lynkr += result.input_tokens_lynkr
        print(f"| {label} | ${direct:.2f} → ${lynkr:.2f} | {(direct - lynkr) / direct:.2%} | "
              f"{(tokens_direct - tokens_lynkr) / tokens_direct:.2%} |")


if __name__ == "__main__":
    main()
