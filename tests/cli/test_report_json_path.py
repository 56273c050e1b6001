"""``lynkr run --report-json FILE`` where FILE cannot be written: one line, never a traceback.

It was a traceback and exit 1 after the agent had run (its exit code lost). A directory that does not
exist is now refused before the agent starts; a file that cannot be written at the end (a directory of
that name, a full disk) is one line on stderr, and lynkr still exits with the agent's code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import base_env, ledger_rows, run_lynkr


def test_a_missing_directory_stops_before_the_agent_starts(lynkr_home: Path, tmp_path: Path) -> None:
    marker = tmp_path / "agent-ran"
    target = tmp_path / "no-such-dir" / "report.json"
    result = run_lynkr(["run", "--report-json", str(target), "--", sys.executable, "-c",
                        f"open({str(marker)!r}, 'w')"], base_env(lynkr_home))
    assert result.returncode == 2
    assert result.stderr.strip() == f"lynkr: --report-json {target}: directory {target.parent} does not exist"
    assert not marker.exists()


def test_an_unwritable_report_file_keeps_the_exit_code_and_the_terminal_report(lynkr_home: Path,
                                                                                tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # a directory where the file should go
    result = run_lynkr(["run", "--report-json", str(target), "--", sys.executable, "-c", "raise SystemExit(3)"],
                       base_env(lynkr_home))
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert f"lynkr: cannot write --report-json {target}: Is a directory" in result.stderr
    assert "· exit 3 ·" in result.stderr  # the short report still printed
    sessions, _ = ledger_rows(lynkr_home)
    assert sessions[0]["exit_code"] == 3
