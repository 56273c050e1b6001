"""``lynkr serve``: SIGHUP reloads the config without dropping a request in flight; JSON log lines."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from pathlib import Path

import httpx

from tests.conftest import FAKE_ANTHROPIC_KEY, base_env, lynkr_command
from tests.fakes.server import FakeUpstream
from tests.team.conftest import TOKEN, upstream_handler, wait_for


def _config(home: Path, simple: str) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(f'[tiers]\nsimple = "{simple}"\n')


def test_sighup_reloads_the_config_while_a_stream_finishes(tmp_path: Path):
    home = tmp_path / "home"
    _config(home, "anthropic:claude-haiku-4-5")
    with FakeUpstream(upstream_handler) as upstream:
        env = base_env(home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        proc = subprocess.Popen(lynkr_command("serve", "--port", "0", "--token", TOKEN, "--upstream", upstream.url,
                                              "--log-format", "json"), env=env, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if '"action":"listening"' in line:
                url = json.loads(line)["url"]
                break
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
        reader.start()
        base = f"{url}/s/{TOKEN}"
        try:
            outcome: dict[str, object] = {}
            first_bytes = threading.Event()

            def slow_stream() -> None:
                body = {"model": "claude-sonnet-4-6", "max_tokens": 50, "stream": True,
                        "messages": [{"role": "user", "content": "slow answer please"}]}
                with httpx.stream("POST", f"{base}/v1/messages", json=body, timeout=60) as response:
                    outcome["model"] = response.headers.get("x-lynkr-model")
                    chunks = []
                    for chunk in response.iter_text():
                        chunks.append(chunk)
                        first_bytes.set()
                    outcome["status"], outcome["text"] = response.status_code, "".join(chunks)

            streaming = threading.Thread(target=slow_stream)
            streaming.start()
            assert first_bytes.wait(30)
            _config(home, "anthropic:claude-sonnet-4-6")
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda: any('"action":"reload"' in line and '"ok":true' in line for line in lines), timeout=30)
            after = httpx.post(f"{base}/v1/messages", timeout=30, json={
                "model": "claude-sonnet-4-6", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
            assert after.status_code == 200 and after.headers["x-lynkr-model"] == "claude-sonnet-4-6"
            streaming.join(60)
            assert outcome["status"] == 200 and outcome["model"] == "claude-haiku-4-5"  # begun before the reload
            assert "message_stop" in str(outcome["text"]) and str(outcome["text"]).count("word") == 40

            (home / "config" / "config.toml").write_text('[tiers]\nsimple = "not a model"\n')
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda: any('"action":"reload"' in line and '"ok":false' in line for line in lines), timeout=30)
            still = httpx.post(f"{base}/v1/messages", timeout=30, json={
                "model": "claude-sonnet-4-6", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
            assert still.status_code == 200 and still.headers["x-lynkr-model"] == "claude-sonnet-4-6"
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
            reader.join(5)
    assert code == 0, "".join(lines)
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    requests = [e for e in events if e["event"] == "request" and e["route"] == "/v1/messages"]
    assert len(requests) == 3 and {e["model"] for e in requests} == {"claude-haiku-4-5", "claude-sonnet-4-6"}
    assert all(e["status"] == 200 and e["ts"].endswith("Z") for e in requests)
    assert TOKEN not in "".join(lines)
    assert [e["action"] for e in events if e["event"] == "serve"] == ["listening", "reload", "reload", "stopped"]
