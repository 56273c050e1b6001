"""Capture the request bodies of a real multi-turn Claude Code session (tool loop included).

Runs the pinned ``claude -p`` binary directly against a fake Anthropic upstream (no lynkr in between,
so the bodies are exactly what the client sends) in a scratch project, scripts a tool loop of several
turns (package.json, a JSON grep result, coloured test output with repeats, a source file), and saves
every main-turn body to ``tests/data/claude_session/NN.json``. The prefix-stability replay test and
``bench/pipeline.py`` read these files.

    python bench/capture_claude.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.scenarios.data import grep_result, package_json  # noqa: E402
from tests.conftest import FAKE_ANTHROPIC_KEY, agent_binary, base_env  # noqa: E402
from tests.fakes.anthropic import Turn, messages_handler, reply_for  # noqa: E402
from tests.fakes.server import FakeUpstream, Received, Reply  # noqa: E402

BUILD_LOG = r'''
import sys
for i in range(3):
    print(f"\x1b[32mPASSED\x1b[0m tests/test_api.py::test_case_{i}   ")
for _ in range(40):
    print("\x1b[33mDeprecationWarning: datetime.utcnow() is deprecated\x1b[0m   ")
print("\x1b[31mFAILED\x1b[0m tests/test_api.py::test_limits - AssertionError: 429 != 200")
print("=" * 60)
print("\x1b[1m1 failed, 3 passed, 40 warnings in 0.42s\x1b[0m")
'''

SOURCE = '''"""Rate limiting for the public API."""

import time


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
'''

SCRIPT = [
    ("Bash", {"command": "cat package.json", "description": "Show package.json"}),
    ("Bash", {"command": "cat todos.json", "description": "Show the TODO index"}),
    ("Bash", {"command": "python3 build_log.py", "description": "Run the tests"}),
    ("Read", {"file_path": "{cwd}/ratelimit.py"}),
]


def make_project(root: Path) -> None:
    (root / "package.json").write_text(json.dumps(package_json(), indent=2) + "\n")
    (root / "todos.json").write_text(json.dumps(grep_result(), indent=2) + "\n")
    (root / "build_log.py").write_text(BUILD_LOG)
    (root / "ratelimit.py").write_text(SOURCE)


def capture(out: Path) -> list[Path]:
    bodies: list[bytes] = []

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project, home, lynkr_home = root / "project", root / "home", root / "lynkr"
        for d in (project, home / ".claude", lynkr_home):
            d.mkdir(parents=True)
        (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True, "numStartups": 5}))
        make_project(project)

        def respond(request: Received, body: dict) -> Reply:
            if not body.get("tools"):
                return reply_for(Turn(text="Rate limit test failure"), request)
            bodies.append(request.body)
            step = len(bodies) - 1
            if step < len(SCRIPT):
                name, tool_input = SCRIPT[step]
                tool_input = {k: v.replace("{cwd}", str(project)) for k, v in tool_input.items()}
                return reply_for(Turn(tool_calls=[(name, tool_input)], input_tokens=900 + step), request)
            return reply_for(Turn(text="The rate-limit test fails: the bucket refills too slowly."), request)

        with FakeUpstream(messages_handler(respond)) as upstream:
            env = base_env(lynkr_home, home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
            done = subprocess.run(
                [agent_binary("claude"), "-p", "Why does the rate-limit test fail? Look at the project.",
                 "--output-format", "json", "--allowedTools", "Bash", "Read"],
                env=env, cwd=project, capture_output=True, text=True, timeout=180,
            )
        if done.returncode != 0:
            raise SystemExit(f"claude failed ({done.returncode}): {done.stderr[-2000:]}")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, body in enumerate(bodies, 1):
        path = out / f"{i:02d}.json"
        path.write_bytes(body)  # exactly the bytes Claude Code sent
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "claude_session")
    args = parser.parse_args()
    os.environ.setdefault("LYNKR_AGENTS_DIR", str(Path.home() / ".cache" / "lynkr" / "agents"))
    for path in capture(args.out):
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


if __name__ == "__main__":
    main()
