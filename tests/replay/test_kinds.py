"""Tool results classified by what they hold (the input breakdown stages are chosen from)."""

from __future__ import annotations

import pytest

from lynkr_cli.replay.kinds import call_kind, result_kind


@pytest.mark.parametrize(("name", "arguments", "kind"), [
    ("Read", {"file_path": "/w/a.py"}, "tool result: file contents (read tool)"),
    ("Bash", {"command": "sed -n 1,80p src/a.py"}, "tool result: file contents (shell)"),
    ("exec_command", {"cmd": "cd /w && cat package.json"}, "tool result: file contents (shell)"),
    ("shell", {"command": ["bash", "-lc", "rg -n handler src"]}, "tool result: search and listing"),
    ("Bash", {"command": "rg -n 'def ' src | head -80"}, "tool result: search and listing"),
    ("Bash", {"command": "git ls-files"}, "tool result: search and listing"),
    ("Bash", {"command": "PYTHONPATH=src python3 -m pytest -q tests"}, "tool result: build and test logs"),
    ("Bash", {"command": "npm run build"}, "tool result: build and test logs"),
    ("Bash", {"command": "curl -s https://example.com"}, "tool result: web"),
    ("WebFetch", {"url": "https://example.com"}, "tool result: web"),
    ("Grep", {"pattern": "x"}, "tool result: search and listing"),
    ("Edit", {"file_path": "/w/a.py"}, "tool result: edits"),
    ("Bash", {"command": "echo hi"}, "tool result: other"),
    ("exec_command", {"cmd": "git diff -- src/a.py"}, "tool result: diffs and history (git)"),
])
def test_calls_are_classified_by_tool_and_program(name: str, arguments: dict, kind: str) -> None:
    assert call_kind(name, arguments) == kind


def test_a_json_result_is_json_whatever_the_call() -> None:
    assert result_kind("tool result: other", '  {"a": [1, 2]}') == "tool result: JSON"
    assert result_kind("tool result: other", "{not json") == "tool result: other"
