"""Retention of ``pipeline/`` and ``elided/`` under ``$LYNKR_HOME``: old files go, everything else stays.

Real files with real mtimes (``os.utime``); the end-to-end test runs ``lynkr run`` as a user does.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lynkr_cli import housekeeping
from lynkr_cli.housekeeping import DAY, STAMP, due, sweep
from lynkr_cli.pipeline import decisions, elided
from tests.conftest import FAKE_ANTHROPIC_KEY, base_env, ledger_rows, lynkr_command, run_lynkr
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream

NOW = time.time()


def _file(path: Path, age_days: float, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    when = NOW - age_days * DAY
    os.utime(path, (when, when))
    return path


def _hex(seed: str, n: int = 32) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def _populate(home: Path) -> tuple[list[Path], list[Path]]:
    """(files that must go after 30 days, files that must stay)."""
    old = [
        _file(home / "pipeline" / f"{_hex('old-session')}.json", 31, "{}"),
        _file(home / "elided" / f"{_hex('old-log', 16)}.txt", 45, "a huge log"),
        _file(home / "pipeline" / f"{_hex('crash')}.4242.tmp", 2),  # an interrupted write
    ]
    keep = [
        _file(home / "pipeline" / f"{_hex('new-session')}.json", 29, "{}"),
        _file(home / "elided" / f"{_hex('new-log', 16)}.txt", 1),
        _file(home / "pipeline" / f"{_hex('writing')}.4243.tmp", 0.01),  # a write in progress
        _file(home / "pipeline" / "notes.json", 400),  # not a name lynkr writes
        _file(home / "elided" / "README.txt", 400),
        _file(home / "elided" / f"{_hex('upper', 16).upper()}.txt", 400),
        _file(home / "ledger.sqlite3", 400),  # outside the swept directories
        _file(home / "lynkr.log", 400),
    ]
    return old, keep


def test_old_files_are_deleted_and_everything_else_kept(tmp_path):
    home = tmp_path / "home"
    old, keep = _populate(home)
    result = sweep(home, 30, now=NOW)
    assert [p for p in old if p.exists()] == []
    assert [p for p in keep if not p.exists()] == []
    assert result.deleted == len(old) and result.complete
    assert result.freed_bytes == sum(len(t) for t in ("{}", "a huge log", "x"))


def test_symlinks_are_neither_followed_nor_deleted(tmp_path):
    home = tmp_path / "home"
    outside = tmp_path / "outside"
    target = _file(outside / f"{_hex('target')}.json", 100)
    link = home / "pipeline" / f"{_hex('link')}.json"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    os.utime(link, (NOW - 100 * DAY,) * 2, follow_symlinks=False)
    # A whole swept directory that is a symlink (to somewhere lynkr does not own) is left alone.
    foreign = _file(outside / "elsewhere" / f"{_hex('foreign', 16)}.txt", 100)
    (home / "elided").symlink_to(foreign.parent)

    sweep(home, 30, now=NOW)

    assert link.is_symlink() and target.exists() and foreign.exists()


def test_retention_zero_keeps_everything_and_starts_nothing(tmp_path):
    home = tmp_path / "home"
    old, keep = _populate(home)
    assert sweep(home, 0, now=NOW).deleted == 0
    assert housekeeping.start(home, 0) is None
    assert all(p.exists() for p in old + keep)
    assert not (home / STAMP).exists()


def test_a_sweep_runs_at_most_once_a_day(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert due(home, NOW)
    sweep(home, 30, now=NOW)
    assert not due(home, NOW + DAY - 60)
    assert due(home, NOW + DAY + 1)
    # A second lynkr run the same day does not sweep: a file that expired meanwhile waits a day.
    expired = _file(home / "pipeline" / f"{_hex('s')}.json", 40)
    thread = housekeeping.start(home, 30)
    assert thread is None and expired.exists()


def test_a_bounded_sweep_leaves_the_stamp_so_the_next_run_continues(tmp_path):
    home = tmp_path / "home"
    files = [_file(home / "pipeline" / f"{_hex(str(i))}.json", 60) for i in range(5)]
    first = sweep(home, 30, now=NOW, max_deletions=2)
    assert (first.deleted, first.complete) == (2, False)
    assert due(home, NOW)
    second = sweep(home, 30, now=NOW)
    assert (second.deleted, second.complete) == (3, True)
    assert not any(p.exists() for p in files) and not due(home, NOW)


def test_a_pass_out_of_time_that_deleted_nothing_stamps_so_it_is_not_repeated_every_run(tmp_path):
    home = tmp_path / "home"
    expired = _file(home / "pipeline" / f"{_hex('slow-disk')}.json", 60)
    result = sweep(home, 30, now=NOW, budget_seconds=0)
    assert (result.deleted, result.complete) == (0, False)
    assert expired.exists() and not due(home, NOW)


def test_start_sweeps_on_a_background_thread(tmp_path):
    home = tmp_path / "home"
    old, keep = _populate(home)
    thread = housekeeping.start(home, 30)
    assert thread is not None and thread.daemon
    thread.join(30)
    assert not any(p.exists() for p in old) and all(p.exists() for p in keep)
    assert (home / STAMP).exists()


def test_a_long_lived_server_sweeps_again_the_next_day(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setattr(housekeeping, "RECHECK_SECONDS", 0.05)  # an hour in real use
    thread = housekeeping.start(home, 30, repeat=True)
    assert thread is not None
    deadline = time.time() + 30
    while not (home / STAMP).exists() and time.time() < deadline:
        time.sleep(0.02)
    expired = _file(home / "pipeline" / f"{_hex('later')}.json", 31)
    time.sleep(0.3)
    assert expired.exists()  # swept today already: the server waits for tomorrow
    os.utime(home / STAMP, (NOW - DAY - 60,) * 2)  # a day has passed
    while expired.exists() and time.time() < deadline:
        time.sleep(0.02)
    assert not expired.exists() and thread.is_alive()


def test_a_decision_file_that_is_read_survives(tmp_path):
    directory = tmp_path / "home" / "pipeline"
    decisions.save(directory, "session-a", {"prune": ["Read", "Edit"]})
    decisions.save(directory, "session-b", {"prune": ["Bash"]})
    for path in directory.iterdir():
        os.utime(path, (NOW - 40 * DAY,) * 2)

    # session-a is resumed under a new lynkr run: its decisions are loaded, so it is in use.
    assert decisions.load(directory, "session-a") == {"prune": ("Read", "Edit")}
    sweep(tmp_path / "home", 30)

    assert decisions.load(directory, "session-a") == {"prune": ("Read", "Edit")}
    assert decisions.load(directory, "session-b") == {}


def test_an_elided_text_saved_again_or_shown_survives(tmp_path):
    directory = tmp_path / "home" / "elided"
    ref_a, ref_b, ref_c = _hex("a", 16), _hex("b", 16), _hex("c", 16)
    for ref in (ref_a, ref_b, ref_c):
        path = elided.save(directory, ref, f"full text {ref}")
        os.utime(path, (NOW - 40 * DAY,) * 2)
    elided.save(directory, ref_a, f"full text {ref_a}")  # the same output elided again in a later request
    assert elided.load(directory, ref_c) == f"full text {ref_c}"  # lynkr optimize --show-elided

    sweep(tmp_path / "home", 30)

    assert elided.load(directory, ref_a) == f"full text {ref_a}"
    assert elided.load(directory, ref_c) == f"full text {ref_c}"
    assert not (directory / f"{ref_b}.txt").exists()


def test_lynkr_run_sweeps_old_files_without_changing_the_session(lynkr_home):
    old, keep = _populate(lynkr_home)
    # The wrapped command makes one model call, then waits (bounded) for the sweep to happen while it
    # runs, as it would during a real agent session, and exits with its own code.
    script = (
        "import anthropic, os, sys, time\n"
        "c = anthropic.Anthropic(max_retries=0)\n"
        "c.messages.create(model='claude-sonnet-4-5', max_tokens=5, messages=[{'role': 'user', 'content': 'hi'}])\n"
        "deadline = time.time() + 30\n"
        "while any(os.path.exists(p) for p in sys.argv[1:]) and time.time() < deadline:\n"
        "    time.sleep(0.05)\n"
        "raise SystemExit(3)\n"
    )

    def respond(request, body):
        return reply_for(Turn(text="hello", input_tokens=10, output_tokens=2), request)

    with FakeUpstream(messages_handler(respond)) as upstream:
        env = base_env(lynkr_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        result = run_lynkr(["run", "--", sys.executable, "-c", script, *map(str, old)], env)

    assert result.returncode == 3, result.stderr
    assert [p for p in old if p.exists()] == []
    assert [p for p in keep if not p.exists()] == []
    assert "exit 3" in result.stderr and "1 request (0 errors)" in result.stderr
    assert "Traceback" not in result.stderr
    sessions, requests = ledger_rows(lynkr_home)
    assert sessions[0]["exit_code"] == 3 and len(requests) == 1


def test_lynkr_serve_sweeps_old_files_once_up(lynkr_home):
    old, keep = _populate(lynkr_home)
    env = base_env(lynkr_home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
    proc = subprocess.Popen(lynkr_command("serve", "--port", "0", "--model", "anthropic:claude-haiku-4-5"),
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "listening on" in line:
                break
        deadline = time.time() + 30
        while any(p.exists() for p in old) and time.time() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert [p for p in old if p.exists()] == []
    assert [p for p in keep if not p.exists()] == []


def test_lynkr_run_reads_retention_days_from_the_environment(lynkr_home):
    old, keep = _populate(lynkr_home)
    month_old = keep[0]  # 29 days: kept by the default, expired under a 10-day retention
    env = base_env(lynkr_home, LYNKR_RETENTION_DAYS="10")
    script = ("import os, sys, time\n"
              "deadline = time.time() + 30\n"
              "while os.path.exists(sys.argv[1]) and time.time() < deadline:\n"
              "    time.sleep(0.05)\n")
    result = run_lynkr(["run", "--report", "none", "--", sys.executable, "-c", script, str(month_old)], env)
    assert result.returncode == 0, result.stderr
    assert not month_old.exists() and not any(p.exists() for p in old)
    assert all(p.exists() for p in keep[1:])


def test_retention_days_is_a_setting_with_a_month_default(lynkr_home):
    from lynkr_cli.config import load_settings

    env = base_env(lynkr_home)
    assert load_settings(env=env, cwd=lynkr_home).retention_days == 30
    (lynkr_home / "lynkr.toml").write_text("retention_days = 0\n")
    assert load_settings(env=env, cwd=lynkr_home).retention_days == 0


def test_doctor_reports_size_and_count_of_each_part_of_the_home(lynkr_home):
    import json

    _file(lynkr_home / "pipeline" / f"{_hex('a')}.json", 1, "x" * 1500)
    _file(lynkr_home / "pipeline" / f"{_hex('b')}.json", 1, "x" * 500)
    _file(lynkr_home / "elided" / f"{_hex('c', 16)}.txt", 1, "y" * 2_500_000)
    _file(lynkr_home / "lynkr.log", 0, "z" * 10)
    _file(lynkr_home / "lynkr.log.1", 0, "z" * 20)
    (lynkr_home / "lynkr.toml").write_text("retention_days = 7\n")

    result = run_lynkr(["doctor", "--json"], base_env(lynkr_home, LYNKR_PORT="0"), cwd=lynkr_home, timeout=120)

    rows = {c["name"]: c for c in json.loads(result.stdout) if c["group"] == "storage"}
    assert rows["home"]["detail"] == str(lynkr_home)
    assert rows["pipeline"]["detail"] == "2.0 KB in 2 files; deleted after 7 unused days"
    assert rows["elided"]["detail"].startswith("2.5 MB in 1 file;")
    assert rows["lynkr.log"]["detail"] == "30 B in 2 files; rotated at 1 MB"
    assert rows["ledger"]["detail"].endswith("grows a row per request")  # doctor's own check created it
    assert rows["cache"]["detail"].startswith("0 B in 0 files; expires after 7 d, max 256 MB")
    assert all(row["status"] == "info" for row in rows.values())
