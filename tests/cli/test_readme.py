"""The README is the manual users copy commands from: what it names must exist in the program.

Every ``lynkr …`` line in a code block uses only options its command has, every ``LYNKR_*`` variable it
names is read, every short alias is documented, and ``.ci/run`` runs the Quick start's test command.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer

from lynkr_cli.cli.app import app
from lynkr_cli.cli.run_options import RUN_OPTIONS, parse_run_args
from lynkr_cli.config.env import ALIASES
from lynkr_cli.settings import Settings

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
# Variables that are not settings: where lynkr keeps its files (``lynkr_cli/paths.py``), and where
# ``scripts/install-agents`` puts the pinned agents the tests run.
PATH_VARIABLES = {"LYNKR_HOME", "LYNKR_CONFIG_HOME", "LYNKR_AGENTS_DIR"}


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M)


def lynkr_lines() -> list[list[str]]:
    """The words of every ``lynkr …`` command in the README's code blocks, comments and pipes cut off."""
    commands = []
    for block in code_blocks(README):
        for line in block.splitlines():
            if "[OPTIONS]" in line:  # a synopsis, not a command
                continue
            words = shlex.split(line, comments=True)
            if "lynkr" not in words or words[0].startswith(("#", "source")):
                continue
            words = words[words.index("lynkr") + 1 :]
            for stop in ("|", ">", "&&"):
                if stop in words:
                    words = words[: words.index(stop)]
            commands.append(words)
    return commands


def _command_for(words: list[str]) -> tuple[object, list[str], str]:
    """The Click command the words name, the words after its name, and its name."""
    command = typer.main.get_command(app)
    path = []
    while words and getattr(command, "commands", None) and words[0] in command.commands:  # type: ignore[attr-defined]
        command = command.commands[words[0]]  # type: ignore[attr-defined]
        path.append(words.pop(0))
    return command, words, " ".join(path)


def test_every_readme_command_uses_options_its_command_has() -> None:
    lines = lynkr_lines()
    assert len(lines) > 40  # the parser still finds the README's examples
    run_flags = {flag for option in RUN_OPTIONS for flag in option.flags}
    for words in lines:
        command, rest, name = _command_for(list(words))
        assert name, f"README: `lynkr {' '.join(words)}` names no command"
        if name == "run":  # lynkr's options stop at the agent name or at --
            for word in rest:
                if word == "--" or not word.startswith("-"):
                    break
                assert word.split("=")[0] in run_flags, f"README: lynkr run has no option {word}"
            assert parse_run_args(rest).command, f"README: `lynkr {' '.join(words)}` runs nothing"
            continue
        known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}  # type: ignore[attr-defined]
        for word in rest:
            if word.startswith("-") and word != "-":
                assert word.split("=")[0] in known, f"README: `lynkr {' '.join(words)}`: {name} has no {word}"
        command.make_context(f"lynkr {name}", list(rest))  # type: ignore[attr-defined]  # values parse too


def test_the_run_option_table_matches_lynkr_run() -> None:
    section = README.split("## `lynkr run`", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `--")]
    documented = {flag for line in table for flag in re.findall(r"`(--[a-z-]+)", line)}
    assert documented == {flag for option in RUN_OPTIONS for flag in option.flags}


def test_every_lynkr_variable_in_the_readme_is_read_and_every_alias_documented() -> None:
    named = set(re.findall(r"\bLYNKR_[A-Z0-9_]*[A-Z0-9]\b", README)) - {"LYNKR_SECTION__KEY"}
    for variable in sorted(named - PATH_VARIABLES):
        if variable in ALIASES:
            continue
        first = variable[len("LYNKR_"):].split("__")[0].lower()
        assert first in Settings.model_fields, f"README names {variable}, which no setting reads"
    undocumented = set(ALIASES) - named
    assert not undocumented, f"short aliases missing from the README: {sorted(undocumented)}"


def test_ci_runs_exactly_the_quick_start_test_command() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    install_and_run, test_suite = [block.strip() for block in code_blocks(quick)[:2]]
    assert "pip install -q ." in install_and_run and install_and_run.endswith("lynkr run claude")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == test_suite
    assert "'.[test]'" in test_suite and "[project.optional-dependencies]\ntest = [" in (
        REPO / "pyproject.toml").read_text(encoding="utf-8")
    for script in re.findall(r"scripts/[\w-]+", test_suite):
        assert (REPO / script).is_file(), script


def test_every_toml_example_is_a_valid_config(tmp_path: Path) -> None:
    from lynkr_cli.config import load_settings

    examples = re.findall(r"^```toml\n(.*?)^```", README, flags=re.S | re.M)
    assert len(examples) >= 4
    for n, example in enumerate(examples):
        project = tmp_path / str(n)
        project.mkdir()
        (project / "lynkr.toml").write_text(example, encoding="utf-8")
        load_settings(cwd=project, env={"LYNKR_CONFIG_HOME": str(tmp_path / "none")})  # raises ConfigError


def test_every_repository_path_the_readme_names_exists() -> None:
    named = set(re.findall(r"(?<![\w/.~])((?:bench|lynkr_cli|tests|scripts|profiles|completions|\.ci)/[\w./-]*\w)",
                           README))
    assert len(named) > 20
    created_by_the_user = {"bench/.venv-litellm"}  # the README tells the user to create it
    missing = sorted(path for path in named - created_by_the_user if not (REPO / path).exists())
    assert not missing, f"README names paths that do not exist: {missing}"


def test_every_cited_results_section_exists() -> None:
    """A figure quoted in the README cites its section of bench/RESULTS.md; that section must be there."""
    headings = set(re.findall(r"^## (.+)$", (REPO / "bench" / "RESULTS.md").read_text(encoding="utf-8"), re.M))
    cited = re.findall(r'RESULTS\.md`?,?\s*(?:under\s+)?"([^"]+)"(?:\s+and\s+"([^"]+)")?', README)
    names = {" ".join(name.split()) for pair in cited for name in pair if name}
    assert len(names) >= 6
    assert not names - headings, f"README cites missing bench/RESULTS.md sections: {sorted(names - headings)}"
