"""Stage ``paths``: search output grouped under one heading per file, the original recoverable.

The outputs come from the real ``grep -rn`` (with and without context lines) run on this repository.
"""

from __future__ import annotations

import subprocess

from lynkr_cli.pipeline.paths import expand, group, rewrite_text
from tests.conftest import REPO_ROOT


def grep(*args: str) -> str:
    done = subprocess.run(["grep", "-rn", *args, "lynkr_cli/pipeline"], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_grep_output_round_trips_with_one_heading_per_file() -> None:
    output = grep("def ")
    grouped = group(output)
    assert grouped is not None and expand(grouped) == output
    lines = grouped.split("\n")
    assert "lynkr_cli/pipeline/base.py" in lines  # a heading, on its own line
    assert not any(line.startswith("lynkr_cli/pipeline/base.py:") for line in lines)
    outcome = rewrite_text(output)
    assert outcome.text == grouped and outcome.tokens_after < 0.9 * outcome.tokens_before


def test_context_lines_and_separators_round_trip() -> None:
    output = grep("-C1", "class ")
    assert "--\n" in output and "-\n" not in output.split("--\n")[0][:0]  # grep's own group separator
    grouped = group(output)
    assert grouped is not None and expand(grouped) == output
    assert any(line[:1].isdigit() and "-" in line.split(" ")[0] for line in grouped.split("\n"))  # 12-context


def test_a_file_with_one_match_keeps_its_line_and_odd_texts_are_left_alone() -> None:
    single = "src/app.py:3:import os\nREADME.md:1:# App\nREADME.md:9:## Use"
    assert group(single) == "src/app.py:3:import os\nREADME.md\n1:# App\n9:## Use"
    heading_layout = "src/app.py\n3:import os\n4:import sys"  # ripgrep's own --heading output
    assert rewrite_text(heading_layout).text is None  # already reads grouped: expand would change it
    timestamps = "10:30:01 started\n10:30:02 done"
    assert group(timestamps) is None  # hh:mm:ss is not path:line
    trailing = "a/b.py:1:x\na/b.py:2:y\n3:z"  # a bare N: line after the run would join its group
    assert rewrite_text(trailing).text is None
