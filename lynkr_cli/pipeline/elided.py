"""Full texts of lossy elisions, kept so nothing the model was not shown is lost.

One file per elided output under ``<lynkr home>/elided/<ref>.txt``; ``ref`` is derived from the
text's sha256, so saving the same output twice writes the same file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from lynkr_cli.errors import UsageError

_REF = re.compile(r"[0-9a-f]{8,64}")


def elided_dir(home: Path | None = None) -> Path:
    from lynkr_cli.paths import data_home

    return (home or data_home()) / "elided"


def save(directory: Path, ref: str, text: str) -> Path:
    path = directory / f"{ref}.txt"
    if path.exists():
        try:
            os.utime(path)  # elided again: a marker in use, so retention counts from now
        except OSError:
            pass
        return path
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def load(directory: Path, ref: str) -> str:
    if not _REF.fullmatch(ref):
        raise UsageError(f"{ref!r} is not an elision reference (hex digits, as printed in the marker)")
    path = directory / f"{ref}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no elided text {ref} under {directory} (texts unused for retention_days are "
                         "deleted)") from None
    try:
        os.utime(path)  # looked at: still in use, retention counts from now
    except OSError:
        pass
    return text
