"""Under `lynkr run` the proxy's warnings go to `$LYNKR_HOME/lynkr.log`, never the agent's terminal."""

from __future__ import annotations

import stat
import sys

from tests.conftest import FAKE_ANTHROPIC_KEY, base_env, ledger_rows, run_lynkr
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream

CLIENT = """
import anthropic, os
client = anthropic.Anthropic(max_retries=0)
tools = [{"name": "Bash", "description": "run a command", "input_schema": {"type": "object", "properties": {}}},
         {"name": "NotebookEdit", "description": "edit a notebook", "input_schema": {"type": "object", "properties": {}}}]
reply = client.messages.create(model="claude-sonnet-5", max_tokens=20, tools=tools,
                               messages=[{"role": "user", "content": "list the files"}])
print(reply.content[0].text)
"""


def test_a_proxy_warning_lands_in_the_log_file_not_on_the_terminal(lynkr_home):
    # Tool pruning saves its decision under $LYNKR_HOME/pipeline/; a file in the way makes that fail,
    # which the proxy survives with a warning (the decision holds for this run).
    (lynkr_home / "pipeline").write_text("not a directory")
    turn = Turn(text="README.md main.py")
    with FakeUpstream(messages_handler(lambda request, body: reply_for(turn, request))) as upstream:
        env = base_env(lynkr_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        result = run_lynkr(["run", "--report", "none", "--stage", "prune=on", "--", sys.executable, "-c", CLIENT], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "README.md main.py"
    assert result.stderr == ""  # nothing from the proxy on the agent's terminal
    log = lynkr_home / "lynkr.log"
    assert "could not save pipeline decisions" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    _, requests = ledger_rows(lynkr_home)
    assert [r["status"] for r in requests] == [200]
