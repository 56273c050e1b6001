"""Stage ``dedup``: lines the model already saw become a reference it can follow, and expand back exactly.

The file contents are a real file of this repository; the conversations have the shapes the real
agents produce (Claude Code's ``N\\t`` Read listing, Codex's exec header above ``sed`` output).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.pipeline import SessionState
from lynkr_cli.pipeline.dedup import Deduplicate
from lynkr_cli.pipeline.expand import expand_messages
from lynkr_cli.pipeline.refs import parse_mark
from tests.conftest import REPO_ROOT

FILE = (REPO_ROOT / "lynkr_cli" / "pipeline" / "base.py").read_text()
LINES = FILE.split("\n")


def read_listing(lines: list[str], first: int = 1) -> str:
    return "\n".join(f"{n}\t{line}" for n, line in enumerate(lines, first))


def codex_output(text: str, chunk: str) -> str:
    return f"Chunk ID: {chunk}\nWall time: 0.0000 seconds\nProcess exited with code 0\nOriginal token count: 900\nOutput:\n{text}"


class Conversation:
    """Tool calls and their results, growing turn by turn like an agent's requests."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = [{"role": "user", "content": "work on base.py"}]

    def call(self, name: str, arguments: dict[str, Any], result: str) -> None:
        ident = f"toolu_{len(self.messages):03d}"
        self.messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": ident, "name": name,
                                                                "input": arguments}]})
        self.messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": ident,
                                                           "content": result}]})

    def request(self) -> ModelRequest:
        return ModelRequest({"model": "m", "max_tokens": 5, "messages": list(self.messages)})


def results(request: ModelRequest) -> list[str]:
    return [b["content"] for m in request.messages if isinstance(m["content"], list)
            for b in m["content"] if b["type"] == "tool_result"]


def run(conversation: Conversation, stage: Deduplicate | None = None) -> tuple[ModelRequest, Any]:
    out, report = (stage or Deduplicate()).apply(conversation.request(), SessionState("s"))
    assert expand_messages(out.messages) == conversation.messages  # lossless, whatever was rewritten
    return out, report


def test_a_re_read_after_an_edit_keeps_the_changed_lines_and_references_the_rest() -> None:
    conversation = Conversation()
    path = "/work/app/lynkr_cli/pipeline/base.py"
    conversation.call("Read", {"file_path": path}, read_listing(LINES))
    edited = LINES[:60] + ["    # a new comment the agent added"] + LINES[60:]
    conversation.call("Edit", {"file_path": path, "old_string": LINES[60], "new_string": "# a new comment"}, "ok")
    conversation.call("Read", {"file_path": path}, read_listing(edited))
    out, report = run(conversation)
    reread = results(out)[-1].split("\n")
    assert reread[0] == f"1\t{LINES[0]}"  # the listing's first line shows its format
    assert reread[1] == f"[lines 2-60: same as lines 2-60 of the previous output of Read {path}]"
    assert reread[2] == "61\t    # a new comment the agent added"
    assert reread[3] == f"[lines 62-{len(edited)}: same as lines 61-{len(LINES)} of the previous output of Read {path}]"
    assert len(reread) == 4
    assert report.changed and report.saved > 1000 and report.metrics["references"] == 2
    assert results(out)[0] == conversation.messages[2]["content"][0]["content"]  # the first read is as sent


def test_a_file_read_back_after_it_was_written_points_at_the_write() -> None:
    conversation = Conversation()
    conversation.call("Write", {"file_path": "/w/base.py", "content": FILE}, "File created successfully")
    conversation.call("Read", {"file_path": "/w/base.py"}, read_listing(LINES))
    out, _ = run(conversation)
    lines = results(out)[-1].split("\n")
    last = len(LINES) - 1  # base.py ends with a newline: no line after it
    assert lines[1] == f"[lines 2-{last}: same as lines 2-{last} of the previous content written with Write /w/base.py]"


def test_overlapping_sed_ranges_count_lines_from_the_commands_output() -> None:
    conversation = Conversation()
    first = "sed -n 1,90p lynkr_cli/pipeline/base.py"
    conversation.call("exec_command", {"cmd": first}, codex_output("\n".join(LINES[:90]) + "\n", "a1"))
    conversation.call("exec_command", {"cmd": "sed -n 60,150p lynkr_cli/pipeline/base.py"},
                      codex_output("\n".join(LINES[59:150]) + "\n", "b2"))
    out, _ = run(conversation)
    second = results(out)[-1].split("\n")
    assert second[:5] == codex_output("", "b2").split("\n")[:5]  # Codex's header stays
    assert second[5] == f"[lines 1-31: same as lines 60-90 of the previous output of exec_command `{first}`]"
    assert second[6] == LINES[90]


def test_the_same_output_twice_and_a_shadowed_call() -> None:
    log = "\n".join(f"tests/test_{n}.py::test_case PASSED [{n}%]" for n in range(40)) + "\n== 40 passed =="
    conversation = Conversation()
    conversation.call("Bash", {"command": "pytest -v"}, log)
    conversation.call("Bash", {"command": "pytest -v"}, log.replace("40 passed", "40 passed in 0.2s"))
    conversation.call("Bash", {"command": "pytest -v"}, log)
    out, _ = run(conversation)
    second, third = results(out)[1:]
    assert second.split("\n")[0] == "[lines 1-40: same as lines 1-40 of the previous output of Bash `pytest -v`]"
    # The latest run shows its first 40 lines only as a reference: the third points at the first run.
    assert third == "[lines 1-41: same as lines 1-41 of the second-to-last output of Bash `pytest -v`]"


def test_short_runs_and_results_of_unknown_calls_stay_as_they_are() -> None:
    conversation = Conversation()
    conversation.call("Bash", {"command": "ls"}, "a.py\nb.py\nc.py\nd.py")
    conversation.call("Bash", {"command": "ls -1"}, "a.py\nb.py\nc.py\nd.py")  # too short to be worth it
    conversation.call("Bash", {"command": "cat base.py"}, FILE)
    conversation.messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "unknown",
                                                               "content": FILE}]})  # its call is not in view
    request = conversation.request()
    out, report = Deduplicate().apply(request, SessionState("s"))
    assert out is request and not report.changed and "lossless_failures" not in report.metrics


def test_a_text_that_already_reads_like_a_reference_is_never_rewritten() -> None:
    conversation = Conversation()
    conversation.call("Bash", {"command": "cat base.py"}, FILE)
    lookalike = "[lines 1-3: same as lines 1-3 of the previous output of Bash `cat base.py`]\n" + FILE
    conversation.call("Bash", {"command": "cat notes"}, lookalike)
    request = conversation.request()
    out, report = Deduplicate().apply(request, SessionState("s"))
    assert out is request and not report.changed and "lossless_failures" not in report.metrics


def test_the_scan_is_incremental_and_a_restart_gives_the_same_bytes() -> None:
    conversation = Conversation()
    warm = Deduplicate()
    outputs = []
    for turn in range(6):
        start = 20 * turn
        conversation.call("Bash", {"command": f"sed -n {start + 1},{start + 60}p base.py"},
                          "\n".join(LINES[start:start + 60]))
        outputs.append(warm.apply(conversation.request(), SessionState("s"))[0])
    for earlier, later in pairwise(outputs):
        assert later.messages[:len(earlier.messages)] == earlier.messages  # a prefix, turn after turn
    fresh = Deduplicate().apply(conversation.request(), SessionState("s"))[0]
    assert fresh.body == outputs[-1].body
    shown = results(outputs[-1])
    marks = [(n, parse_mark(line)) for n, text in enumerate(shown) for line in text.split("\n") if line.startswith("[lines")]
    assert len(marks) >= 5
    for n, mark in marks:  # each names lines shown as they are in the output it names
        assert mark is not None and mark[4].startswith("the previous output of Bash `sed -n ")
        start = int(mark[4].split("sed -n ")[1].split(",")[0])
        source = next(i for i in range(n) if conversation.messages[2 * i + 1]["content"][0]["input"]["command"]
                      .startswith(f"sed -n {start},"))
        referenced = LINES[start - 1 + mark[2] - 1:start - 1 + mark[3]]
        assert "\n".join(referenced) in shown[source]
