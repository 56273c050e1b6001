"""Deferred CPU work (tokenizer warm-up, calibration counts, housekeeping) waits for the agent's first
answer, and is skipped once the agent has exited: ``claude -p`` exits right after its answer, and
that work then held up ``lynkr run``'s own exit (``lynkr_cli/background.py``).

Each case runs in a fresh interpreter: the gate is process-wide state, as it is in ``lynkr run``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_work_waits_for_the_first_answer_and_then_runs() -> None:
    out = _run("""
        import threading
        from lynkr_cli import background
        results = []
        waiter = threading.Thread(target=lambda: results.append(background.wait_for_quiet()))
        waiter.start()
        waiter.join(0.2)
        print("waiting" if waiter.is_alive() else "ran early")
        background.answered()
        waiter.join()
        print(results)
    """)
    assert out.splitlines() == ["waiting", "[True]"]


def test_once_the_agent_has_exited_no_deferred_work_starts() -> None:
    out = _run("""
        import sys
        from lynkr_cli import background
        from lynkr_cli.pipeline.calibrate import CalibrationSkipped, _count
        background.answered()
        background.closing()
        print(background.wait_for_quiet())
        try:
            _count({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            print("counted")
        except CalibrationSkipped:
            print("skipped")
        print("tiktoken" in sys.modules)
    """)
    assert out.splitlines() == ["False", "skipped", "False"]


def test_an_agent_that_exits_before_any_answer_releases_the_waiters() -> None:
    out = _run("""
        import threading
        from lynkr_cli import background
        results = []
        waiter = threading.Thread(target=lambda: results.append(background.wait_for_quiet()))
        waiter.start()
        background.closing()
        waiter.join()
        print(results, background.is_closing())
    """)
    assert out == "[False] True"
