"""Background CPU work (the tokenizer build above all: it holds the interpreter lock for up to ~0.4 s)
waits until the agent's first request has been answered, so that request never waits for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import time
from lynkr_cli import tokens
from lynkr_cli.ledger import RequestRecord
from lynkr_cli.pipeline.build import build_pipeline
from lynkr_cli.proxy.context import ProxyContext

pipeline = build_pipeline()
pipeline.warm()  # what the proxy does when it starts serving
time.sleep(1.5)
print("before the first answer:", tokens._encoding is not None)
ProxyContext(session_id="s").record(RequestRecord(session_id="s", started_at=time.time(), route="/v1/messages",
                                                  status=200))  # the first answer is recorded
deadline = time.time() + 60
while tokens._encoding is None and time.time() < deadline:
    time.sleep(0.05)
print("after it:", tokens._encoding is not None)
"""


def test_the_tokenizer_is_built_after_the_first_answer_not_before(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "LYNKR_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines() == ["before the first answer: False", "after it: True"], result.stderr
