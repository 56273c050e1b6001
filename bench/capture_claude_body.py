"""Capture a real Claude Code request body for the benchmarks: ``python bench/capture_claude_body.py``.

Runs the pinned ``claude -p`` (installed by ``scripts/install-agents``) against a fake Anthropic
upstream on loopback, keeps the largest ``/v1/messages`` body (the main turn, with all of Claude Code's
tools) and writes it to ``bench/data/claude_code_request.json`` with identifying values scrubbed:
``metadata.user_id`` and the temporary working directory. Nothing here reaches the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import AGENTS_BIN, FAKE_ANTHROPIC_KEY  # noqa: E402
from tests.fakes.anthropic import Turn, messages_handler, reply_for  # noqa: E402
from tests.fakes.server import FakeUpstream  # noqa: E402

OUT = ROOT / "bench" / "data" / "claude_code_request.json"
PROMPT = "List the Python files in this directory and say which one is the entry point."


def scrub(body: dict, workdir: str, home: str) -> dict:
    """Remove what identifies the machine or account; keep the size and shape."""
    text = json.dumps(body)
    for path, placeholder in ((workdir, "/home/user/project"), (home, "/home/user")):
        text = text.replace(path, placeholder)
    body = json.loads(text)
    if isinstance(body.get("metadata"), dict) and "user_id" in body["metadata"]:
        body["metadata"]["user_id"] = json.dumps({"device_id": "0" * 64, "account_uuid": "", "session_id": "bench"})
    return body


def main() -> int:
    claude = AGENTS_BIN / "claude"
    if not claude.exists():
        print(f"{claude} missing: run scripts/install-agents", file=sys.stderr)
        return 1
    handler = messages_handler(lambda request, body: reply_for(Turn(text="main.py is the entry point."), request))
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream(handler) as upstream:
        home = Path(tmp) / "home"
        work = Path(tmp) / "project"
        (home / ".claude").mkdir(parents=True)
        work.mkdir()
        (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True}))
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TERM")}
        env.update(HOME=str(home), ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY,
                   CLAUDE_CODE_MAX_RETRIES="0", DISABLE_AUTOUPDATER="1", DISABLE_TELEMETRY="1",
                   CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
        subprocess.run([str(claude), "-p", PROMPT], env=env, cwd=work, capture_output=True, timeout=120, check=True)
        bodies = [r.json for r in upstream.requests_to("/v1/messages") if r.method == "POST"]
        bodies = [b for b in bodies if b and b.get("tools")]
        if not bodies:
            print("no main-turn request captured", file=sys.stderr)
            return 1
        body = scrub(max(bodies, key=lambda b: len(json.dumps(b))), str(work), str(home))
    raw = json.dumps(body, separators=(",", ":")).encode()
    OUT.write_bytes(raw)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(raw)} bytes, {len(body.get('tools', []))} tools")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
