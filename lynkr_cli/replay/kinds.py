"""What the input of a session is made of: tool results by kind, and the rest.

This is how one finds what to optimize: on real sessions tool results are about half of the input,
and of those, file contents (the ``Read`` tool, ``sed``/``cat`` in a shell), search and listing output
(``rg``, ``grep``, ``ls``, ``find``), web pages, and build and test logs are the bulk, while JSON,
the one thing a JSON compressor can shrink, is rare. Each tool call is classified by its tool and,
for shell tools, by the command's first program; its result inherits the kind.
"""

from __future__ import annotations

import re
from typing import Any

READ_TOOLS = {"Read", "read", "read_file", "view", "View", "NotebookRead"}
SEARCH_TOOLS = {"Grep", "Glob", "LS", "grep", "glob", "ls", "find", "search", "list_dir", "file_search",
                "search_tool_bm25", "ToolSearch"}
WEB_TOOLS = {"WebFetch", "WebSearch", "web_search", "web_fetch", "browser", "fetch"}
EDIT_TOOLS = {"Edit", "MultiEdit", "Write", "NotebookEdit", "edit", "write", "apply_patch", "str_replace_based_edit_tool"}
SHELL_TOOLS = {"Bash", "bash", "exec_command", "shell", "shell_command", "local_shell", "run_terminal_cmd"}

FILE_PROGRAMS = {"cat", "sed", "head", "tail", "nl", "less", "more", "bat", "awk", "Get-Content", "type"}
DIFF_PROGRAMS = {"git diff", "git show", "git log", "diff"}
SEARCH_PROGRAMS = {"rg", "grep", "ls", "find", "fd", "tree", "git ls-files", "egrep", "ag"}
BUILD_WORDS = re.compile(r"\b(pytest|test|tests|jest|vitest|mocha|cargo|make|npm|pnpm|yarn|bun|go|tsc|mvn|gradle|"
                         r"build|lint|ruff|mypy|eslint|anchor|forge|hardhat|tox|nox)\b")
_SPLIT = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")

OTHER = "tool result: other"
KINDS = ("tool result: file contents (read tool)", "tool result: file contents (shell)",
         "tool result: search and listing", "tool result: web", "tool result: build and test logs",
         "tool result: diffs and history (git)", "tool result: JSON", "tool result: edits", "tool result: other", "tool calls", "assistant text and thinking",
         "user text", "system prompt and tools")


def _program(command: str) -> str:
    """The first program of a shell command (after ``cd dir &&`` and environment assignments)."""
    for part in _SPLIT.split(command.strip()):
        words = [w for w in part.split() if "=" not in w.split("/")[0] or w.startswith(("-", "'", '"'))]
        if not words or words[0] in ("cd", "export", "set", "source", "."):
            continue
        if words[0] == "git" and len(words) > 1:
            return f"git {words[1]}"
        return words[0].rsplit("/", 1)[-1]
    return ""


def call_kind(name: str, arguments: Any) -> str:
    """The kind of a tool call's result, from the tool and (for shells) the command."""
    if name in READ_TOOLS:
        return "tool result: file contents (read tool)"
    if name in SEARCH_TOOLS:
        return "tool result: search and listing"
    if name in WEB_TOOLS or name.startswith(("mcp__fetch", "mcp__browser", "mcp__playwright")):
        return "tool result: web"
    if name in EDIT_TOOLS:
        return "tool result: edits"
    if name in SHELL_TOOLS:
        command = ""
        if isinstance(arguments, dict):
            value = arguments.get("command", arguments.get("cmd", ""))
            if isinstance(value, list):  # older Codex: ["bash", "-lc", "the command"]
                shell = len(value) == 3 and str(value[0]).rsplit("/", 1)[-1] in ("bash", "sh", "zsh") \
                    and value[1] in ("-c", "-lc")
                command = str(value[2]) if shell else " ".join(map(str, value))
            else:
                command = str(value)
        program = _program(command)
        if program in FILE_PROGRAMS:
            return "tool result: file contents (shell)"
        if program in SEARCH_PROGRAMS or program in ("git grep", "git ls-files"):
            return "tool result: search and listing"
        if program in DIFF_PROGRAMS:
            return "tool result: diffs and history (git)"
        if program in ("curl", "wget"):
            return "tool result: web"
        if BUILD_WORDS.search(command):
            return "tool result: build and test logs"
    return "tool result: other"


def result_kind(call: str, text: str) -> str:
    """A result's kind: its call's, unless the result is a JSON document."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "[") and len(stripped) > 2:
        import json

        try:
            json.loads(stripped)
            return "tool result: JSON"
        except ValueError:
            pass
    return call
