"""The real-session tables of bench/RESULTS.md, from ``lynkr replay`` runs.

    python bench/replay_report.py /work/data/sessions/public bench/sessions/recorded [--record]

Runs, on the given transcripts: the default configuration with ``--verify`` (one row per session); every stage switched
on alone and all stages together (totals); ``--stage prune=on`` (tools offered and used per session,
what pruning saves and what it breaks); and the Codex sessions as sent to an Anthropic model
(``--model anthropic:claude-sonnet-4-5``), where lynkr adds cache breakpoints a plain translator
does not. The public transcripts are re-created with ``bench/sessions/materialize.py``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MANIFEST = ROOT / "bench" / "sessions" / "manifest.json"
TRANSLATED_MODEL = "anthropic:claude-sonnet-4-5"


def replay(paths: list[str], *flags: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "lynkr_cli", "replay", "--json", *flags, *paths],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout)


def pct(before: float, after: float) -> str:
    return f"{(before - after) / before:.2%}" if before else "-"


def origin(path: str) -> str:
    stem = Path(path).stem
    for entry in json.loads(MANIFEST.read_text()):
        if entry["name"] == stem:
            return f"{entry['repository']}@{entry['commit'][:7]}"
    return "recorded here (bench/sessions/recorded)"


def sessions_table(data: dict[str, Any]) -> str:
    rows = ["| session | from | agent | model | requests | input tokens direct | through lynkr | saved | bill direct | "
            "bill lynkr | saved | prefix breaks | lossless failures | by stage |",
            "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for s in data["sessions"] + [{**data["total"], "path": "total", "agent": "", "models": []}]:
        stages = ", ".join(f"{k} {v:,}" for k, v in s["by_stage"].items()) or "-"
        rows.append(f"| {Path(s['path']).stem} | {origin(s['path']) if s['path'] != 'total' else ''} | {s['agent']} | "
                    f"{', '.join(s['models'])} | {s['requests']:,} | {s['input_tokens_direct']:,} | "
                    f"{s['input_tokens_lynkr']:,} | {pct(s['input_tokens_direct'], s['input_tokens_lynkr'])} | "
                    f"${s['bill_direct_usd']:.2f} | ${s['bill_lynkr_usd']:.2f} | "
                    f"{pct(s['bill_direct_usd'], s['bill_lynkr_usd'])} | {s['prefix_breaks']} | "
                    f"{s['lossless_failures']} | {stages} |")
    return "\n".join(rows)


def variants_table(paths: list[str]) -> str:
    from lynkr_cli.pipeline.switches import STAGE_NAMES

    variants = [("no stage (`--no-optimize`)", ["--no-optimize"]), ("default configuration", [])]
    variants += [(f"`{name}` alone", [f"--stage={n}={'on' if n == name else 'off'}" for n in STAGE_NAMES])
                 for name in STAGE_NAMES]
    variants.append(("every stage on", [f"--stage={n}=on" for n in STAGE_NAMES]))
    rows = ["| configuration | input tokens | saved | input-side bill | saved | prefix breaks | lossless failures |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for label, flags in variants:
        t = replay(paths, *flags)["total"]
        rows.append(f"| {label} | {t['input_tokens_lynkr']:,} | {pct(t['input_tokens_direct'], t['input_tokens_lynkr'])} | "
                    f"${t['bill_lynkr_usd']:.2f} | {pct(t['bill_direct_usd'], t['bill_lynkr_usd'])} | "
                    f"{t['prefix_breaks']} | {t['lossless_failures']} |")
    return "\n".join(rows)


def tools_table(data: dict[str, Any]) -> str:
    rows = ["| session | agent | tools offered | tools used | used | prune saved (tokens) | bill saved by prune | "
            "prefix breaks |", "|---|---|---:|---:|---|---:|---:|---:|"]
    for s in data["sessions"]:
        rows.append(f"| {Path(s['path']).stem} | {s['agent']} | {s['tools_offered']} | {len(s['tools_used'])} | "
                    f"{', '.join(s['tools_used'])} | {s['by_stage'].get('prune', 0):,} | "
                    f"{pct(s['bill_direct_usd'], s['bill_lynkr_usd'])} | {s['prefix_breaks']} |")
    return "\n".join(rows)


def translated_table(data: dict[str, Any]) -> str:
    rows = ["| session | requests | input tokens | bill, translated without breakpoints | bill through lynkr | saved | "
            "cache reads without / with | ", "|---|---:|---:|---:|---:|---:|---:|"]
    for s in data["sessions"] + [{**data["total"], "path": "total"}]:
        reads = (f"{s.get('cache_read_tokens_direct', 0):,} / {s.get('cache_read_tokens_lynkr', 0):,}"
                 if s["path"] != "total" else "")
        rows.append(f"| {Path(s['path']).stem} | {s['requests']:,} | {s['input_tokens_direct']:,} | "
                    f"${s['bill_direct_usd']:.2f} | ${s['bill_lynkr_usd']:.2f} | "
                    f"{pct(s['bill_direct_usd'], s['bill_lynkr_usd'])} | {reads} |")
    return "\n".join(rows)


def kinds_table(data: dict[str, Any]) -> str:
    """Share of the input by what it is (resent history counted each time it is sent), per agent."""
    agents = sorted({s["agent"] for s in data["sessions"]})
    shares: dict[str, dict[str, int]] = {a: {} for a in agents}
    for s in data["sessions"]:
        for kind, n in s["input_by_kind"].items():
            shares[s["agent"]][kind] = shares[s["agent"]].get(kind, 0) + n
    total = data["total"]["input_by_kind"]
    rows = ["| input | " + " | ".join(agents) + " | all |", "|---|" + "---:|" * (len(agents) + 1)]
    for kind in total:
        cells = [f"{shares[a].get(kind, 0) / max(sum(shares[a].values()), 1):.1%}" for a in agents]
        rows.append(f"| {kind} | " + " | ".join(cells) + f" | {total[kind] / max(sum(total.values()), 1):.1%} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    default = replay(args.paths, "--verify")
    prune = replay(args.paths, "--stage", "prune=on")
    codex = [s["path"] for s in default["sessions"] if s["agent"] == "codex"]
    translated = replay(codex, "--model", TRANSLATED_MODEL)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    t = default["total"]
    out = [f"### {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit}",
           "",
           f"`python bench/replay_report.py {' '.join(args.paths)}` (each table is `lynkr replay --json` with the "
           f"flags named; o200k token counts; list prices of `ledger/pricing.py`, prompt-cache pricing).",
           "",
           f"{len(default['sessions'])} sessions, {t['requests']:,} requests, {t['input_tokens_direct']:,} input "
           f"tokens as rebuilt ({t['input_tokens_recorded']:,} billed by the providers per the transcripts' usage "
           f"records). Default configuration: input tokens {pct(t['input_tokens_direct'], t['input_tokens_lynkr'])} "
           f"less, input-side bill ${t['bill_direct_usd']:.2f} → ${t['bill_lynkr_usd']:.2f} "
           f"({pct(t['bill_direct_usd'], t['bill_lynkr_usd'])} saved), {t['prefix_breaks']} prefix breaks, "
           f"{t['lossless_failures']} lossless-check failures reported by the stages, and {t.get('verify_failures', 0)} "
           f"requests where undoing lynkr's reversible rewrites over the whole conversation did not give back what "
           f"they replaced (`--verify`).",
           "", "What the input is made of (`input_by_kind`; the history counts each time it is resent):", "",
           kinds_table(default),
           "", "Per session (default configuration):", "", sessions_table(default),
           "", "Each stage alone and together (totals):", "", variants_table(args.paths),
           "", "Tool pruning (`--stage prune=on`): tools offered (the pinned agent's list) and used:", "",
           tools_table(prune),
           "", f"Codex sessions as sent to `{TRANSLATED_MODEL}` (`--model`): a plain translator sends no cache "
               "breakpoint, so Anthropic caches nothing; lynkr adds them:", "", translated_table(translated), ""]
    text = "\n".join(out)
    print(text)
    if args.record:
        with (ROOT / "bench" / "RESULTS.md").open("a") as handle:
            handle.write("\n" + text)


if __name__ == "__main__":
    main()
