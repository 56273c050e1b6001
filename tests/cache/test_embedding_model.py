"""The shipped embedding model is exactly what scripts/distill-embedding-model produces."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lynkr_cli.cache.embed import MODEL_DIR
from tests.cache.provenance import actual_digests, recorded_digests
from tests.conftest import REPO_ROOT


def test_committed_files_match_their_provenance():
    recorded = recorded_digests(MODEL_DIR)
    assert set(recorded) == {"model.safetensors", "config.json", "tokenizer.json", "LICENSE"}
    assert actual_digests(MODEL_DIR, recorded) == recorded
    assert "Apache License" in (MODEL_DIR / "LICENSE").read_text()
    assert "/" not in (MODEL_DIR / "config.json").read_text().split('"tokenizer_name"')[1].split(",")[0].replace(
        "sentence-transformers/all-MiniLM-L6-v2", "")  # no absolute build path left in the config
    assert (MODEL_DIR / "model.safetensors").stat().st_size < 5_000_000


@pytest.mark.skipif(not os.environ.get("LYNKR_TEST_DISTIL"), reason="slow (installs torch): set LYNKR_TEST_DISTIL=1")
def test_distilling_again_gives_byte_identical_files(tmp_path: Path):
    subprocess.run([str(REPO_ROOT / "scripts" / "distill-embedding-model"), str(tmp_path)], check=True, timeout=1800)
    recorded = recorded_digests(MODEL_DIR)
    assert actual_digests(tmp_path, recorded) == recorded
    assert (tmp_path / "PROVENANCE").read_text() == (MODEL_DIR / "PROVENANCE").read_text()
