"""``lynkr run`` and team storage: the driver is never loaded unless a URL is configured, and with one
the session's rows go to PostgreSQL and its exit report is read back from there."""

from __future__ import annotations

import json
import sys

from tests.conftest import FAKE_ANTHROPIC_KEY, base_env, run_lynkr
from tests.fakes.anthropic import Turn, reply_for
from tests.fakes.server import FakeUpstream

# A tool that makes one model request through the proxy, as an agent would.
AGENT = """
import json, os, urllib.request
request = urllib.request.Request(os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages", method="POST",
    data=json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 5,
                     "messages": [{"role": "user", "content": "hi"}]}).encode(),
    headers={"content-type": "application/json", "x-api-key": os.environ["ANTHROPIC_API_KEY"],
             "anthropic-version": "2023-06-01"})
print(json.load(urllib.request.urlopen(request))["content"][0]["text"])
"""


def _run(home, upstream_url: str, *extra: str, **env: str):  # type: ignore[no-untyped-def]
    environment = base_env(home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY, ANTHROPIC_BASE_URL=upstream_url, **env)
    return run_lynkr([*extra, "run", "--report-json", str(home / "report.json"), "--", sys.executable, "-c", AGENT],
                     environment)


def test_lynkr_run_never_imports_the_postgresql_driver_or_prometheus(lynkr_home):
    with FakeUpstream(lambda r: reply_for(Turn(text="pong"), r)) as upstream:
        environment = base_env(lynkr_home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY, ANTHROPIC_BASE_URL=upstream.url,
                               PYTHONPROFILEIMPORTTIME="1")
        result = run_lynkr(["run", "--", sys.executable, "-c", AGENT], environment)
    assert result.returncode == 0 and result.stdout.strip() == "pong", result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "lynkr_cli.proxy.app" in imported and "lynkr_cli.ledger.store" in imported  # the import log is complete
    assert not [m for m in imported if m.startswith(("psycopg", "prometheus_client"))]


def test_lynkr_run_with_a_storage_url_records_to_postgresql(lynkr_home, pg_url):
    import psycopg

    with FakeUpstream(lambda r: reply_for(Turn(text="pong", input_tokens=1000, output_tokens=10), r)) as upstream:
        result = _run(lynkr_home, upstream.url, LYNKR_STORAGE__URL=pg_url)
    assert result.returncode == 0 and result.stdout.strip() == "pong", result.stderr
    with psycopg.connect(pg_url) as conn:
        (sessions,) = conn.execute("SELECT COUNT(*) FROM sessions WHERE status = 'finished'").fetchone()
        (requests,) = conn.execute("SELECT COUNT(*) FROM requests WHERE input_tokens = 1000").fetchone()
    assert sessions == 1 and requests == 1
    assert not (lynkr_home / "ledger.sqlite3").exists()
    report = json.loads((lynkr_home / "report.json").read_text())  # the exit report, read back from PostgreSQL
    assert report["totals"]["requests"] == 1 and report["totals"]["input_tokens"] == 1000
