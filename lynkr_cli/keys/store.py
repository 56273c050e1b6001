"""The keys table: create, list, revoke, rotate, and the lookups the proxy makes.

A key is ``sk-lynkr-`` and 43 URL-safe characters (256 random bits): safe in a base-URL path, and
shaped like the credentials lynkr already redacts everywhere. Only its SHA-256 is stored (a random
256-bit secret needs no slow hash: there is nothing to guess), with a short hint (its first and last
characters) so a user can tell keys apart. The key itself is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from lynkr_cli.errors import UsageError
from lynkr_cli.storage.db import Database

PREFIX = "sk-lynkr-"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
_COLUMNS = ("name", "hash", "hint", "created_at", "rotated_at", "revoked_at", "budget_daily_usd",
            "budget_monthly_usd", "rpm", "models")


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def key_hash(token: str | bytes) -> str:
    return hashlib.sha256(token.encode() if isinstance(token, str) else token).hexdigest()


def _hint(token: str) -> str:
    return f"{token[:13]}…{token[-4:]}"


@dataclass(frozen=True)
class KeyInfo:
    """One key as stored (never the key itself)."""

    name: str
    hash: str
    hint: str
    created_at: float
    rotated_at: float | None = None
    revoked_at: float | None = None
    budget_daily_usd: float | None = None
    budget_monthly_usd: float | None = None
    rpm: int | None = None
    models: tuple[str, ...] = field(default_factory=tuple)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def limited(self) -> bool:
        """Checked per request against the database: a budget or a rate."""
        return self.budget_daily_usd is not None or self.budget_monthly_usd is not None or self.rpm is not None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "hint": self.hint, "status": "active" if self.active else "revoked",
                "created_at": self.created_at, "rotated_at": self.rotated_at, "revoked_at": self.revoked_at,
                "budget_daily_usd": self.budget_daily_usd, "budget_monthly_usd": self.budget_monthly_usd,
                "rpm": self.rpm, "models": list(self.models)}


def _info(row: tuple[Any, ...]) -> KeyInfo:
    values = dict(zip(_COLUMNS, row))
    values["models"] = tuple(json.loads(values["models"])) if values["models"] else ()
    return KeyInfo(**values)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(f"key name {name!r}: use 1-64 letters, digits and . _ @ + - (starting with a letter or digit)")
    return name


class KeyStore:
    """The ``api_keys`` table of a ledger database (SQLite or the team's PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, budget_daily_usd: float | None = None, budget_monthly_usd: float | None = None,
               rpm: int | None = None, models: list[str] | tuple[str, ...] = ()) -> tuple[KeyInfo, str]:
        """A new key named ``name``; returns its record and the key (shown once)."""
        check_name(name)
        for value, flag in ((budget_daily_usd, "--budget-daily"), (budget_monthly_usd, "--budget-monthly")):
            if value is not None and value < 0:
                raise UsageError(f"{flag} must be a number of dollars >= 0")
        if rpm is not None and rpm < 1:
            raise UsageError("--rpm must be at least 1")
        token = new_key()
        now = time.time()
        info = KeyInfo(name, key_hash(token), _hint(token), now, None, None, budget_daily_usd, budget_monthly_usd,
                       rpm, tuple(models))
        inserted = self.db.execute(
            f"INSERT INTO api_keys ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
            " ON CONFLICT (name) DO NOTHING",
            (info.name, info.hash, info.hint, now, None, None, budget_daily_usd, budget_monthly_usd, rpm,
             json.dumps(list(models)) if models else None),
        )
        if not inserted:
            raise UsageError(f"a key named {name!r} exists already (lynkr keys list; rotate it, or pick another name)")
        return info, token

    def get(self, name: str) -> KeyInfo | None:
        found = self.db.query(f"SELECT {', '.join(_COLUMNS)} FROM api_keys WHERE name = ?", (name,))
        return _info(found[0]) if found else None

    def by_hash(self, digest: str) -> KeyInfo | None:
        found = self.db.query(f"SELECT {', '.join(_COLUMNS)} FROM api_keys WHERE hash = ?", (digest,))
        return _info(found[0]) if found else None

    def list(self) -> list[KeyInfo]:
        return [_info(row) for row in self.db.query(f"SELECT {', '.join(_COLUMNS)} FROM api_keys ORDER BY name")]

    def revoke(self, name: str) -> KeyInfo:
        """Refuse the key from now on (every replica within seconds); its rows stay in the ledger."""
        self._require(name)
        self.db.execute("UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (time.time(), name))
        return self._require(name)

    def rotate(self, name: str) -> tuple[KeyInfo, str]:
        """A new key for ``name`` (same budgets, same spend counters); the old one stops working."""
        info = self._require(name)
        if not info.active:
            raise UsageError(f"key {name!r} is revoked; create a new one instead")
        token = new_key()
        self.db.execute("UPDATE api_keys SET hash = ?, hint = ?, rotated_at = ? WHERE name = ?",
                        (key_hash(token), _hint(token), time.time(), name))
        return self._require(name), token

    def spent(self, name: str, periods: tuple[str, ...]) -> dict[str, float]:
        """Dollars counted for ``name`` in each of ``periods`` (``ledger/spend.py``)."""
        from lynkr_cli.ledger.spend import key_scope

        marks = ", ".join("?" * len(periods))
        found = self.db.query(f"SELECT period, usd FROM spend WHERE scope = ? AND period IN ({marks})",
                              (key_scope(name), *periods))
        return {period: float(usd) for period, usd in found}

    def _require(self, name: str) -> KeyInfo:
        info = self.get(name)
        if info is None:
            raise UsageError(f"no key named {name!r} (lynkr keys list shows them)")
        return info
