"""``OLLAMA_HOST`` as Ollama's own users set it: a URL, ``host:port``, or a bare host such as ``0.0.0.0``.

``OLLAMA_HOST=0.0.0.0`` is how Ollama's docs make the server listen on every interface; its client then
talks to port 11434 on that address. lynkr read it as ``http://0.0.0.0`` (port 80) and every request to
the ``ollama`` provider failed to connect.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lynkr_cli.config.detect import server_targets
from lynkr_cli.providers.base import resolve_provider
from lynkr_cli.config import load_settings


@pytest.mark.parametrize(
    ("value", "base_url"),
    [
        ("0.0.0.0", "http://0.0.0.0:11434"),
        ("gpu-box", "http://gpu-box:11434"),
        ("10.0.0.5:8000", "http://10.0.0.5:8000"),
        ("http://gpu-box", "http://gpu-box"),  # an explicit scheme is taken as written
        ("https://ollama.example/api-root/", "https://ollama.example/api-root"),
    ],
)
def test_ollama_host_reaches_the_port_ollama_would(value: str, base_url: str, tmp_path: Path) -> None:
    assert resolve_provider("ollama", {"OLLAMA_HOST": value}).base_url == base_url
    settings = load_settings(cwd=tmp_path, env={"OLLAMA_HOST": value, "LYNKR_CONFIG_HOME": str(tmp_path)})
    assert settings.providers["ollama"].base_url == base_url  # the Lynkr-compatible settings layer
    assert dict((p, url) for p, url, _ in server_targets({"OLLAMA_HOST": value}))["ollama"] == base_url


def test_a_bare_host_for_another_local_server_keeps_its_usual_port() -> None:
    assert resolve_provider("lmstudio", {"LMSTUDIO_ENDPOINT": "box"}).base_url == "http://box:1234"
    assert resolve_provider("openai-compatible", {"OPENAI_COMPATIBLE_BASE_URL": "gw.local/v1"}).base_url == (
        "http://gw.local/v1")  # no usual port: none is invented
