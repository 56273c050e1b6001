"""Record real agent sessions for ``lynkr replay``: the pinned ``claude`` and ``codex`` binaries doing
tool-heavy work (listing, grepping, reading overlapping ``sed`` ranges, re-reading, editing, running
the tests, ``git diff``) in a real repository, against a scripted fake model on loopback.

    python bench/sessions/record.py --repo PATH/TO/A/GIT/CLONE [--scenario itsdangerous|humanize]

The repository is only the working directory (a scratch copy of its HEAD is used and thrown away;
the runs here used pallets/itsdangerous at 672971d and python-humanize/humanize at c3a124c). The transcripts the agents write
(``~/.claude/projects/**.jsonl``, ``~/.codex/sessions/**.jsonl``) are copied out with the scratch
paths replaced by ``/work/<project>`` and credentials redacted. Only the model is fake: the tool
calls run for real and their outputs are whatever the repository gives.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, agent_binary, base_env  # noqa: E402
from tests.fakes.anthropic import Turn, messages_handler, reply_for  # noqa: E402
from tests.fakes.openai import openai_handler  # noqa: E402
from tests.fakes.server import FakeUpstream, Received, Reply  # noqa: E402

@dataclass(frozen=True)
class Scenario:
    """What the agent is asked, and the tool calls the fake model makes it run, turn by turn."""

    project: str  # the repository's name: the working directory is /work/<project> in the transcripts
    prompt: str
    claude: list[list[tuple[str, dict]]]  # one list of calls per model turn (several = parallel calls)
    codex: list[list[str]]  # exec_command commands per model turn


ITSDANGEROUS_PROMPT = ("Document key rotation in the Signer class docstring (itsdangerous), check how the serializer "
          "uses salts, then run the tests.")
ITSDANGEROUS_PYTEST = (
    "PYTHONPATH=src python3 -m pytest -v -p no:cacheprovider tests --ignore=tests/test_itsdangerous/test_timed.py "
    "--ignore=tests/test_itsdangerous/test_url_safe.py 2>&1 | tail -60"  # those two need freezegun
)
ITS_OLD = "    .. versionchanged:: 2.0\n        Added support for key rotation by passing a list to\n        ``secret_key``.\n"
ITS_NEW = ITS_OLD + "\n    Rotate keys by appending the new key: the last key signs, every key verifies.\n"

ITSDANGEROUS_CLAUDE: list[list[tuple[str, dict]]] = [
    [("Bash", {"command": "ls -R src tests | head -60", "description": "List the sources"}),
     ("Bash", {"command": "git log --oneline -5", "description": "Recent commits"})],
    [("Bash", {"command": "rg -n 'def |class ' src/itsdangerous", "description": "Find definitions"})],
    [("Read", {"file_path": "{cwd}/src/itsdangerous/signer.py"})],
    [("Bash", {"command": "sed -n 1,90p src/itsdangerous/serializer.py", "description": "Read the serializer"})],
    [("Bash", {"command": "sed -n 60,180p src/itsdangerous/serializer.py", "description": "Read on"})],
    [("Bash", {"command": "rg -n salt src tests | head -80", "description": "Where salts are used"}),
     ("Read", {"file_path": "{cwd}/src/itsdangerous/timed.py"})],
    [("Bash", {"command": ITSDANGEROUS_PYTEST, "description": "Run the tests"})],
    [("Edit", {"file_path": "{cwd}/src/itsdangerous/signer.py", "old_string": ITS_OLD, "new_string": ITS_NEW})],
    [("Read", {"file_path": "{cwd}/src/itsdangerous/signer.py", "offset": 60, "limit": 80})],
    [("Bash", {"command": "git diff", "description": "Show the change"}),
     ("Bash", {"command": "sed -n 1,120p src/itsdangerous/signer.py", "description": "Read back the file"})],
    [("Bash", {"command": ITSDANGEROUS_PYTEST, "description": "Run the tests again"})],
    [("Bash", {"command": "rg -n 'secret_key' src | head -60", "description": "Check other docstrings"})],
]

ITS_EDIT = ("python3 - <<'EOF'\nimport pathlib\np = pathlib.Path('src/itsdangerous/signer.py')\n"
        f"p.write_text(p.read_text().replace({ITS_OLD!r}, {ITS_NEW!r}, 1))\nEOF")
ITSDANGEROUS_CODEX: list[list[str]] = [
    ["ls -R src tests | head -60", "git log --oneline -5"],
    ["rg -n 'def |class ' src/itsdangerous"],
    ["sed -n 1,200p src/itsdangerous/signer.py"],
    ["sed -n 1,90p src/itsdangerous/serializer.py"],
    ["sed -n 60,180p src/itsdangerous/serializer.py"],
    ["rg -n salt src tests | head -80", "cat src/itsdangerous/timed.py"],
    [ITSDANGEROUS_PYTEST],
    [ITS_EDIT],
    ["sed -n 60,140p src/itsdangerous/signer.py", "git diff"],
    [ITSDANGEROUS_PYTEST],
    ["rg -n 'secret_key' src | head -60"],
]



# python-humanize: re-reads, overlapping ranges, a file written and read back, repeated paths in grep
# and find output, coloured test logs, and git's carriage-return progress lines.
HUMANIZE_VERSION = "echo '__version__ = \"0.0.0+local\"' > src/humanize/_version.py"
HUMANIZE_PYTEST = ("PYTHONPATH=src python3 -m pytest -p no:cacheprovider --color=yes tests/test_number.py "
                   "tests/test_filesize.py tests/test_lists.py 2>&1 | tail -40")
HUMANIZE_NOTE = ("# Notes on humanize.number\n\n- intcomma groups thousands\n- intword names large numbers\n"
                 "- ordinal adds English suffixes\n")
HUMANIZE_CLAUDE: list[list[tuple[str, dict]]] = [
    [("Bash", {"command": "find . -name '*.py' -not -path './.git/*' | sort", "description": "Python files"}),
     ("Bash", {"command": "ls -la src/humanize tests", "description": "List"})],
    [("Bash", {"command": "rg -n 'def ' src tests | head -120", "description": "Definitions"})],
    [("Read", {"file_path": "{cwd}/src/humanize/number.py"})],
    [("Bash", {"command": "sed -n 1,140p src/humanize/time.py", "description": "Read time.py"})],
    [("Bash", {"command": "sed -n 120,260p src/humanize/time.py", "description": "Read on"})],
    [("Bash", {"command": HUMANIZE_VERSION, "description": "Generate the version file"}),
     ("Bash", {"command": HUMANIZE_PYTEST, "description": "Run the tests"})],
    [("Write", {"file_path": "{cwd}/NOTES.md", "content": HUMANIZE_NOTE})],
    [("Bash", {"command": "cat NOTES.md && git status --short", "description": "Read it back"})],
    [("Read", {"file_path": "{cwd}/src/humanize/number.py", "offset": 1, "limit": 120})],
    [("Bash", {"command": "rg -n 'intcomma|intword' src tests | head -80", "description": "Uses"}),
     ("Bash", {"command": "git clone --progress --no-local . ../humanize-copy 2>&1 | tail -8", "description": "Clone"})],
    [("Bash", {"command": HUMANIZE_PYTEST, "description": "Run the tests again"})],
]
HUMANIZE_CODEX: list[list[str]] = [
    ["find . -name '*.py' -not -path './.git/*' | sort", "ls -la src/humanize tests"],
    ["rg -n 'def ' src tests | head -120"],
    ["sed -n 1,200p src/humanize/number.py"],
    ["sed -n 1,140p src/humanize/time.py"],
    ["sed -n 120,260p src/humanize/time.py"],
    [HUMANIZE_VERSION, HUMANIZE_PYTEST],
    [f"cat > NOTES.md <<'EOF'\n{HUMANIZE_NOTE}EOF"],
    ["cat NOTES.md && git status --short"],
    ["sed -n 1,120p src/humanize/number.py"],
    ["rg -n 'intcomma|intword' src tests | head -80",
     "git clone --progress --no-local . ../humanize-copy 2>&1 | tail -8"],
    [HUMANIZE_PYTEST],
]

SCENARIOS = {
    "itsdangerous": Scenario("itsdangerous", ITSDANGEROUS_PROMPT, ITSDANGEROUS_CLAUDE, ITSDANGEROUS_CODEX),
    "humanize": Scenario("humanize", "Write notes on humanize.number and check that its tests pass.",
                         HUMANIZE_CLAUDE, HUMANIZE_CODEX),
}


def scratch_copy(repo: Path, into: Path) -> Path:
    """The repository's HEAD, checked out into ``into`` (a git repo, so ``git diff`` works)."""
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(repo), str(into)], check=True)
    return into


def record_claude(scenario: Scenario, repo: Path, root: Path) -> tuple[Path, Path]:
    project, home = scratch_copy(repo, root / scenario.project), root / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True, "numStartups": 5}))
    turns = 0

    def respond(request: Received, body: dict) -> Reply:
        nonlocal turns
        if not body.get("tools"):
            return reply_for(Turn(text="Signer key rotation docs"), request)
        step, turns = turns, turns + 1
        if step < len(scenario.claude):
            calls = [(name, {k: v.replace("{cwd}", str(project)) if isinstance(v, str) else v for k, v in args.items()})
                     for name, args in scenario.claude[step]]
            return reply_for(Turn(tool_calls=calls, input_tokens=2000 + 900 * step), request)
        return reply_for(Turn(text="Documented key rotation in Signer; the tests pass."), request)

    with FakeUpstream(messages_handler(respond)) as upstream:
        env = base_env(root / "lynkr", home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        done = subprocess.run([agent_binary("claude"), "-p", scenario.prompt, "--output-format", "json",
                               "--allowedTools", "Bash", "Read", "Edit", "Write"],
                              env=env, cwd=project, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"claude failed ({done.returncode}): {done.stderr[-2000:]}")
    return _only(home / ".claude" / "projects"), project


def record_codex(scenario: Scenario, repo: Path, root: Path) -> tuple[Path, Path]:
    project, home = scratch_copy(repo, root / scenario.project), root / "home"
    (home / ".codex").mkdir(parents=True)
    turns = 0

    def respond(request: Received, body: dict) -> Turn:
        nonlocal turns
        step, turns = turns, turns + 1
        if step < len(scenario.codex):
            # Codex runs commands with its own PATH: name the interpreter that has pytest.
            calls = [("exec_command", {"cmd": cmd.replace("python3 -m pytest", f"{sys.executable} -m pytest"),
                                       "workdir": str(project), "tty": False})
                     for cmd in scenario.codex[step]]
            return Turn(tool_calls=calls, input_tokens=2000 + 900 * step)
        return Turn(text="Documented key rotation in Signer; the tests pass.")

    with FakeUpstream(openai_handler(respond)) as upstream:
        provider = (f'model_providers.fake={{name="fake", base_url="{upstream.url}/v1", '
                    f'env_key="LYNKR_TEST_KEY", wire_api="responses"}}')
        env = base_env(root / "lynkr", home, LYNKR_TEST_KEY=FAKE_OPENAI_KEY, CODEX_HOME=str(home / ".codex"))
        done = subprocess.run([agent_binary("codex"), "exec", "-c", "model_provider=fake", "-c", provider,
                               "-m", "gpt-5-codex", "--dangerously-bypass-approvals-and-sandbox", scenario.prompt],
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
    for path, public in ((str(project), f"/work/{project.name}"), (str(scratch), "/tmp/record"),
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
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="itsdangerous")
    args = parser.parse_args()
    scenario = SCENARIOS[args.scenario]
    for agent, record in (("claude", record_claude), ("codex", record_codex)):
        if args.agent not in (agent, "both"):
            continue
        scratch = Path(tempfile.mkdtemp(prefix=f"lynkr-record-{agent}-"))
        try:
            transcript, project = record(scenario, args.repo, scratch)
            save(transcript, project, scratch, args.out / f"{agent}-{scenario.project}.jsonl")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
