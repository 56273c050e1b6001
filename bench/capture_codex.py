"""Capture the request bodies of a real multi-turn Codex session (tool loop included).

Runs the pinned ``codex exec`` directly against a fake OpenAI Responses upstream (no lynkr in
between) in a scratch project, scripts ``exec_command`` calls (package.json, the JSON TODO index, coloured test
output), and saves every ``/responses`` body, byte for byte, to ``tests/data/codex_session/NN.json``.
``bench/pipeline.py`` runs them through the pipeline (via the Responses inbound adapter).

    python bench/capture_codex.py [--out DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.capture_claude import make_project  # noqa: E402
from tests.conftest import FAKE_OPENAI_KEY, agent_binary, base_env  # noqa: E402
from tests.fakes.anthropic import Turn  # noqa: E402
from tests.fakes.openai import openai_handler  # noqa: E402
from tests.fakes.server import FakeUpstream, Received  # noqa: E402

COMMANDS = ["cat package.json", "cat todos.json", "python3 build_log.py"]


def capture(out: Path) -> list[Path]:
    bodies: list[bytes] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project, home, lynkr_home = root / "project", root / "home", root / "lynkr"
        for d in (project, home / ".codex", lynkr_home):
            d.mkdir(parents=True)
        make_project(project)
        subprocess.run(["git", "init", "-q"], cwd=project, check=True)

        def respond(request: Received, body: dict) -> Turn:
            bodies.append(request.body)
            step = len(bodies) - 1
            if step < len(COMMANDS):
                args = {"cmd": COMMANDS[step], "workdir": str(project), "tty": False}
                return Turn(tool_calls=[("exec_command", args)], input_tokens=900 + step)
            return Turn(text="The rate-limit test fails: the bucket refills too slowly.")

        with FakeUpstream(openai_handler(respond)) as upstream:
            provider = (f'model_providers.fake={{name="fake", base_url="{upstream.url}/v1", '
                        f'env_key="LYNKR_TEST_KEY", wire_api="responses"}}')
            env = base_env(lynkr_home, home, LYNKR_TEST_KEY=FAKE_OPENAI_KEY, CODEX_HOME=str(home / ".codex"))
            done = subprocess.run(
                [agent_binary("codex"), "exec", "-c", "model_provider=fake", "-c", provider, "-m", "gpt-5-codex",
                 "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
                 "Why does the rate-limit test fail? Look at the project."],
                env=env, cwd=project, capture_output=True, text=True, timeout=180,
            )
        if done.returncode != 0:
            raise SystemExit(f"codex failed ({done.returncode}): {done.stderr[-3000:]}")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, body in enumerate(bodies, 1):
        path = out / f"{i:02d}.json"
        path.write_bytes(body)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "codex_session")
    for path in capture(parser.parse_args().out):
        print(path.relative_to(REPO))


if __name__ == "__main__":
    main()
