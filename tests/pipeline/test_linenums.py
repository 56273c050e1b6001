"""Stage ``linenums``: padding of numbered listings dropped, every number kept, the original recoverable.

Listings come from the real ``nl -ba`` and ``cat -n`` run on a file of this repository, and from
Claude Code's Read format before 2.1.8x (``String(n).padStart(6) + "→"``).
"""

from __future__ import annotations

import subprocess

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.pipeline import SessionState
from lynkr_cli.pipeline.linenums import (
    CompactLineNumbers,
    compact,
    expand,
    rewrite_text,
)
from tests.conftest import REPO_ROOT

SOURCE = REPO_ROOT / "lynkr_cli" / "pipeline" / "base.py"


def run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def old_claude_read(text: str) -> str:
    return "\n".join(f"{str(n).rjust(6)}\u2192{line}" for n, line in enumerate(text.split("\n"), 1))


def test_nl_and_cat_n_listings_round_trip_and_keep_every_number() -> None:
    for listing in (run("nl", "-ba", str(SOURCE)), run("cat", "-n", str(SOURCE)),
                    old_claude_read(SOURCE.read_text())):
        compacted = compact(listing)
        assert compacted is not None and expand(compacted) == listing
        before, after = listing.split("\n"), compacted.split("\n")
        assert len(before) == len(after)
        assert after[0] == before[0] and after[0].startswith("     1")  # the width stays on show
        for old, new in zip(before[1:], after[1:]):
            assert new == old.lstrip(" ")  # only the padding went: number, separator, text unchanged
        outcome = rewrite_text(listing)
        assert outcome.text == compacted and outcome.tokens_after < 0.9 * outcome.tokens_before


def test_a_sed_range_of_nl_output_starts_its_own_block() -> None:
    listing = "\n".join(run("nl", "-ba", str(SOURCE)).split("\n")[59:120])
    compacted = compact(listing)
    assert compacted is not None and compacted.startswith("    60\t") and "\n61\t" in compacted
    assert expand(compacted) == listing


def test_unpadded_listings_and_ambiguous_texts_are_left_alone() -> None:
    current_read = "\n".join(f"{n}\t{line}" for n, line in enumerate(SOURCE.read_text().split("\n"), 1))
    assert rewrite_text(current_read).text is None  # Claude Code's 1\t format has no padding
    ambiguous = "     9\tnine\n10\tten\n11\televen\n    12\ttwelve\n    13\tthirteen\n    14\tfourteen"
    outcome = rewrite_text(ambiguous)
    assert outcome.text is None and not outcome.lossless_failure  # expand would read 10 and 11 as padded
    assert rewrite_text("no numbers here\n").text is None


def test_the_stage_rewrites_tool_results_in_place() -> None:
    listing = run("nl", "-ba", str(SOURCE))
    body = {"model": "m", "max_tokens": 5, "messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "nl -ba f"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": [{"type": "text", "text": listing}]}]},
    ]}
    request = ModelRequest(body)
    out, report = CompactLineNumbers().apply(request, SessionState("s"))
    assert out.messages[1]["content"][0]["content"][0]["text"] == compact(listing)
    assert report.changed and report.saved > 0 and report.metrics["results_rewritten"] == 1
    assert body["messages"][1]["content"][0]["content"][0]["text"] == listing  # input not mutated
