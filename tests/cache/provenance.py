"""Reading a shipped data directory's ``PROVENANCE`` file (the embedding model's, the WordNet table's):
the sha256 each file had when its build script wrote it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable


def recorded_digests(directory: Path) -> dict[str, str]:
    """File name -> sha256 as ``PROVENANCE`` records it (its ``sha256 <digest> <name>`` lines)."""
    digests = {}
    for line in (directory / "PROVENANCE").read_text().splitlines():
        if line.startswith("sha256 "):
            _, digest, name = line.split()
            digests[name] = digest
    return digests


def actual_digests(directory: Path, names: Iterable[str]) -> dict[str, str]:
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in names}
