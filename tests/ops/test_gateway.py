"""``lynkr serve`` with team storage it cannot use: one clear line, no traceback, no half-started server."""

from __future__ import annotations

from tests.conftest import base_env, run_lynkr


def test_a_database_that_cannot_be_reached_at_start_is_one_line(lynkr_home):
    result = run_lynkr(["serve", "--port", "0", "--storage", "postgresql://lynkr@127.0.0.1:1/team"],
                       base_env(lynkr_home), timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot reach PostgreSQL at postgresql://lynkr@127.0.0.1:1/team" in result.stderr
    assert "listening" not in result.stderr


def test_bad_storage_and_log_format_values_are_usage_errors(lynkr_home):
    bad_url = run_lynkr(["serve", "--port", "0", "--storage", "mysql://u:secret@h/db"], base_env(lynkr_home))
    assert bad_url.returncode == 2 and "postgresql://" in bad_url.stderr and "secret" not in bad_url.stderr
    bad_format = run_lynkr(["serve", "--port", "0", "--log-format", "xml"], base_env(lynkr_home))
    assert bad_format.returncode == 2 and "--log-format must be text or json" in bad_format.stderr
