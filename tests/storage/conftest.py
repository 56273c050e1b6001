"""Each storage test runs on both engines: the SQLite files of one person and a team's PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from lynkr_cli.storage import Storage


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    found = Storage(url, home=tmp_path / "lynkr-home")
    try:
        yield found
    finally:
        found.close()
