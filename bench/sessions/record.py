"""Record real agent sessions for ``lynkr replay``: the pinned ``claude`` and ``codex`` binaries doing
tool-heavy work (listing, grepping, reading overlapping ``sed`` ranges, re-reading, editing, running
the tests, ``git diff``) in a real repository, against a scripted fake model on loopback.

    python bench/sessions/record.py --repo PATH/TO/A/GIT/CLONE [--out bench/sessions/recorded]

The repository is only the working directory (a scratch copy of its HEAD is used and thrown away;
the runs here used pallets/itsdangerous at 672971d). The transcripts the agents write
(``~/.claude/projects/**.jsonl``, ``~/.codex/sessions/**.jsonl``) are copied out with the scratch
paths replaced by ``/work/itsdangerous`` and credentials redacted. Only the model is fake: the tool
calls run for real and their outputs are whatever the repository gives.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, agent_binary, base_env  # noqa: E402
from tests.fakes.anthropic import Turn, messages_handler, reply_for  # noqa: E402
from tests.fakes.openai import openai_handler  # noqa: E402
from tests.fakes.server import FakeUpstream, Received, Reply  # noqa: E402

PROMPT = ("Document key rotation in the Signer class docstring (itsdangerous), check how the serializer "
          "uses salts, then run the tests.")
PYTEST = (
    "PYTHONPATH=src python3 -m pytest -v -p no:cacheprovider tests --ignore=tests/test_itsdangerous/test_timed.py "
    "--ignore=tests/test_itsdangerous/test_url_safe.py 2>&1 | tail -60"  # those two need freezegun
)
OLD = "    .. versionchanged:: 2.0\n        Added support for key rotation by passing a list to\n        ``secret_key``.\n"
NEW = OLD + "\n    Rotate keys by appending the new key: the last key signs, every key verifies.\n"

# Claude Code: one list of tool calls per model turn (several = parallel calls).
CLAUDE_SCRIPT: list[list[tuple[str, dict]]] = [
    [("Bash", {"command": "ls -R src tests | head -60", "description": "List the sources"}),
     ("Bash", {"command": "git log --oneline -5", "description": "Recent commits"})],
    [("Bash", {"command": "rg -n 'def |class ' src/itsdangerous", "description": "Find definitions"})],
    [("Read", {"file_path": "{cwd}/src/itsdangerous/signer.py"})],
    [("Bash", {"command": "sed -n 1,90p src/itsdangerous/serializer.py", "description": "Read the serializer"})],
    [("Bash", {"command": "sed -n 60,180p src/itsdangerous/serializer.py", "description": "Read on"})],
    [("Bash", {"command": "rg -n salt src tests | head -80", "description": "Where salts are used"}),
     ("Read", {"file_path": "{cwd}/src/itsdangerous/timed.py"})],
    [("Bash", {"command": PYTEST, "description": "Run the tests"})],
    [("Edit", {"file_path": "{cwd}/src/itsdangerous/signer.py", "old_string": OLD, "new_string": NEW})],
    [("Read", {"file_path": "{cwd}/src/itsdangerous/signer.py", "offset": 60, "limit": 80})],
    [("Bash", {"command": "git diff", "description": "Show the change"}),
     ("Bash", {"command": "sed -n 1,120p src/itsdangerous/signer.py", "description": "Read back the file"})],
    [("Bash", {"command": PYTEST, "description": "Run the tests again"})],
    [("Bash", {"command": "rg -n 'secret_key' src | head -60", "description": "Check other docstrings"})],
]

EDIT = ("python3 - <<'EOF'\nimport pathlib\np = pathlib.Path('src/itsdangerous/signer.py')\n"
        f"p.write_text(p.read_text().replace({OLD!r}, {NEW!r}, 1))\nEOF")
CODEX_SCRIPT: list[list[str]] = [
    ["ls -R src tests | head -60", "git log --oneline -5"],
    ["rg -n 'def |class ' src/itsdangerous"],
    ["sed -n 1,200p src/itsdangerous/signer.py"],
    ["sed -n 1,90p src/itsdangerous/serializer.py"],
    ["sed -n 60,180p src/itsdangerous/serializer.py"],
    ["rg -n salt src tests | head -80", "cat src/itsdangerous/timed.py"],
    [PYTEST],
    [EDIT],
    ["sed -n 60,140p src/itsdangerous/signer.py", "git diff"],
    [PYTEST],
    ["rg -n 'secret_key' src | head -60"],
]


def scratch_copy(repo: Path, into: Path) -> Path:
    """The repository's HEAD, checked out into ``into`` (a git repo, so ``git diff`` works)."""
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(repo), str(into)], check=True)
    return into


def record_claude(repo: Path, root: Path) -> Path:
    project, home = scratch_copy(repo, root / "itsdangerous"), root / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True, "numStartups": 5}))
    turns = 0

    def respond(request: Received, body: dict) -> Reply:
        nonlocal turns
        if not body.get("tools"):
            return reply_for(Turn(text="Signer key rotation docs"), request)
        step, turns = turns, turns + 1
        if step < len(CLAUDE_SCRIPT):
            calls = [(name, {k: v.replace("{cwd}", str(project)) if isinstance(v, str) else v for k, v in args.items()})
                     for name, args in CLAUDE_SCRIPT[step]]
            return reply_for(Turn(tool_calls=calls, input_tokens=2000 + 900 * step), request)
        return reply_for(Turn(text="Documented key rotation in Signer; the tests pass."), request)

    with FakeUpstream(messages_handler(respond)) as upstream:
        env = base_env(root / "lynkr", home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        done = subprocess.run([agent_binary("claude"), "-p", PROMPT, "--output-format", "json",
                               "--allowedTools", "Bash", "Read", "Edit"],
                              env=env, cwd=project, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"claude failed ({done.returncode}): {done.stderr[-2000:]}")
    return _only(home / ".claude" / "projects"), project


def record_codex(repo: Path, root: Path) -> Path:
    project, home = scratch_copy(repo, root / "itsdangerous"), root / "home"
    (home / ".codex").mkdir(parents=True)
    turns = 0

    def respond(request: Received, body: dict) -> Turn:
        nonlocal turns
        step, turns = turns, turns + 1
        if step < len(CODEX_SCRIPT):
            # Codex runs commands with its own PATH: name the interpreter that has pytest.
            calls = [("exec_command", {"cmd": cmd.replace("python3 -m pytest", f"{sys.executable} -m pytest"),
                                       "workdir": str(project), "tty": False})
                     for cmd in CODEX_SCRIPT[step]]
            return Turn(tool_calls=calls, input_tokens=2000 + 900 * step)
        return Turn(text="Documented key rotation in Signer; the tests pass.")

    with FakeUpstream(openai_handler(respond)) as upstream:
        provider = (f'model_providers.fake={{name="fake", base_url="{upstream.url}/v1", '
                    f'env_key="LYNKR_TEST_KEY", wire_api="responses"}}')
        env = base_env(root / "lynkr", home, LYNKR_TEST_KEY=FAKE_OPENAI_KEY, CODEX_HOME=str(home / ".codex"))
        done = subprocess.run([agent_binary("codex"), "exec", "-c", "model_provider=fake", "-c", provider,
                               "-m", "gpt-5-codex", "--dangerously-bypass-approvals-and-sandbox", PROMPT],
                              env=env, cwd=project, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"codex failed ({done.returncode}): {done.stderr[-3000:]}")
    return _only(home / ".codex" / "sessions"), project


def _only(folder: Path) -> Path:
    files = sorted(folder.rglob("*.jsonl"), key=lambda p: p.stat().st_size)
    if not files:
        raise SystemExit(f"the agent wrote no transcript under {folder}")
    return files[-1]


def save(transcript: Path, project: Path, scratch: Path, out: Path) -> None:
    from lynkr_cli.replay.secrets import scrub

    text = transcript.read_text(encoding="utf-8")
    for path, public in ((str(project), "/work/itsdangerous"), (str(scratch), "/tmp/record"),
                         (sys.executable, "python3")):
        text = text.replace(path, public)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(scrub(text), encoding="utf-8")
    print(f"{out}: {len(text.splitlines())} lines")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True, help="a git clone of the working repository")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "recorded")
    parser.add_argument("--agent", choices=("claude", "codex", "both"), default="both")
    args = parser.parse_args()
    for agent, record in (("claude", record_claude), ("codex", record_codex)):
        if args.agent not in (agent, "both"):
            continue
        scratch = Path(tempfile.mkdtemp(prefix=f"lynkr-record-{agent}-"))
        try:
            transcript, project = record(args.repo, scratch)
            save(transcript, project, scratch, args.out / f"{agent}-itsdangerous.jsonl")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
