"""``lynkr init``: a wizard (questionary) that writes the config; every answer is also a flag."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer


def init(
    non_interactive: bool = typer.Option(False, "--non-interactive", "-y", help="Ask nothing; use flags and defaults."),
    project: bool = typer.Option(False, "--project", help="Write ./lynkr.toml instead of the user config."),
    profile: Optional[str] = typer.Option(
        None, "--profile", "-p", metavar="NAME", help="Start from a profile (see `lynkr profiles`)."
    ),
    agent: Optional[List[str]] = typer.Option(
        None, "--agent", metavar="AGENT", help="Agent you use: claude, codex (repeatable)."
    ),
    tier: Optional[List[str]] = typer.Option(
        None, "--tier", metavar="TIER=PROVIDER:MODEL", help="A tier's model, e.g. simple=ollama:qwen2.5-coder (repeatable)."
    ),
    provider_url: Optional[List[str]] = typer.Option(
        None, "--provider-url", metavar="ID=URL", help="Base URL of a provider (repeatable)."
    ),
    key_env: Optional[List[str]] = typer.Option(
        None, "--key-env", metavar="ID=VARIABLE", help="Variable holding a provider's key (repeatable)."
    ),
    budget_session: Optional[float] = typer.Option(
        None, "--budget-session", metavar="USD", min=0, help="Spending limit per session, in US dollars at list prices."
    ),
    budget_daily: Optional[float] = typer.Option(
        None, "--budget-daily", metavar="USD", min=0,
        help="Spending limit per calendar day (all sessions), in US dollars at list prices."
    ),
    set_: Optional[List[str]] = typer.Option(
        None, "--set", metavar="KEY=VALUE", help="Any setting by dotted key, e.g. cache.mode=exact (repeatable)."
    ),
    test: bool = typer.Option(False, "--test", help="Send a one-token request to each chosen provider."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file without asking."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the config instead of writing it."),
) -> None:
    """Configure lynkr: agents, providers (local servers and keys are detected), tiers, budgets."""
    from lynkr_cli.config.init_plan import InitAnswers, parse_pairs, parse_value
    from lynkr_cli.config.layers import PROJECT_FILE, user_config_file
    from lynkr_cli.errors import UsageError

    target = Path.cwd() / PROJECT_FILE if project else user_config_file()
    answers = InitAnswers(
        profile=profile,
        agents=list(agent or []),
        tiers=parse_pairs(tier, "--tier"),
        provider_urls=parse_pairs(provider_url, "--provider-url"),
        provider_key_envs=parse_pairs(key_env, "--key-env"),
        budget_session=budget_session,
        budget_daily=budget_daily,
        extra={k: parse_value(v) for k, v in parse_pairs(set_, "--set").items()},
    )
    if not non_interactive and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "lynkr init asks questions and needs a terminal; in scripts use "
            "`lynkr init --non-interactive [--profile NAME] [--tier simple=ollama:MODEL …]` (see --help)"
        )
    if non_interactive:
        _write(answers, target, force=force, dry_run=dry_run, test=test, ask=None)
    else:
        from lynkr_cli.cli.wizard import Wizard

        wizard = Wizard(answers, target)
        try:
            wizard.ask_all()
            _write(wizard.answers, target, force=force, dry_run=dry_run, test=test, ask=wizard)
        except KeyboardInterrupt:
            typer.echo("lynkr init: interrupted" + ("" if target.exists() else ", nothing written"), err=True)
            raise typer.Exit(130) from None


def _write(answers, target: Path, force: bool, dry_run: bool, test: bool, ask) -> None:  # type: ignore[no-untyped-def]
    from lynkr_cli.config.init_plan import HEADER, build_config, validate_document
    from lynkr_cli.config.toml_write import dumps
    from lynkr_cli.errors import UsageError

    from lynkr_cli.config.init_plan import profile_data

    base = profile_data(answers.profile)
    data = build_config(answers, base)
    validate_document(data, base, target)
    text = dumps(data, HEADER)
    if dry_run:
        typer.echo(text, nl=False)
        return
    if ask is not None:
        if not ask.confirm_write(text, target):
            typer.echo("nothing written")
            raise typer.Exit(1)
    elif target.exists() and not force:
        raise UsageError(f"{target} exists; pass --force to replace it (or --dry-run to see the new one)")
    tmp = target.with_name(target.name + ".tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(target)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(target) else ""
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}{where}") from None
    typer.echo(f"wrote {target}")
    if test or (ask is not None and ask.wants_test()):
        _test_providers(answers)


def _test_providers(answers) -> None:  # type: ignore[no-untyped-def]
    """One-token request per configured tier model, with a progress bar."""
    import os

    from rich.progress import Progress, SpinnerColumn, TextColumn

    from lynkr_cli.config.provider_check import one_token_request
    from lynkr_cli.config import load_settings

    settings = load_settings(profile=answers.profile)
    refs = sorted(set(settings.tiers.configured().values()))
    if not refs:
        typer.echo("no tier models to test")
        return
    failures = 0
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as progress:
        task = progress.add_task("testing providers", total=len(refs))
        results = []
        for ref in refs:
            provider, model = ref.split(":", 1)
            progress.update(task, description=f"testing {ref}")
            results.append(one_token_request(provider, model, settings, os.environ))
            progress.advance(task)
    for result in results:
        mark = "ok " if result.ok else "FAIL"
        failures += not result.ok
        typer.echo(f"  {mark} {result.provider}:{result.model}: {result.detail}")
    if failures:
        raise typer.Exit(1)
