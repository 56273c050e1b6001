"""Storage settings: the ``storage`` section of lynkr's ``Settings`` (``[storage]`` in lynkr.toml,
``LYNKR_STORAGE__URL`` in the environment, ``--storage URL`` on ``serve``, ``report``, ``keys``, ``db``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class StorageConfig(BaseModel):
    """Where the ledger, response cache, user keys, budget counters and routing turns live.

    No ``url``: SQLite files under ``LYNKR_HOME``, as for one person. A ``postgresql://`` URL: one
    database that every ``lynkr serve`` replica shares.
    """

    model_config = ConfigDict(extra="forbid")

    url: SecretStr | None = Field(default=None, description="postgresql://user:password@host:5432/db (none: SQLite)")
    pool_size: int = Field(default=10, ge=2, le=200, description="Connections per process")
    spool_max_rows: int = Field(
        default=100_000, ge=100, description="Ledger rows kept on local disk while the database is unreachable"
    )
    budgets_when_down: Literal["open", "closed"] = Field(
        default="open",
        description="Key budgets while the database is unreachable: open (each replica counts locally "
                    "from the last figure it read) or closed (keys with a budget are refused)",
    )

    @field_validator("url")
    @classmethod
    def _postgres(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        text = value.get_secret_value().strip()
        if not text.startswith(("postgresql://", "postgres://")):
            raise ValueError("expected a postgresql:// URL (or no url, for SQLite files under LYNKR_HOME)")
        return SecretStr(text)
