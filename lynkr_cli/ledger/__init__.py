"""The session ledger: every session and every model request, in SQLite."""

from lynkr_cli.ledger.records import RequestRecord, SessionRecord
from lynkr_cli.ledger.store import Ledger, LedgerReader, default_ledger_path

__all__ = ["Ledger", "LedgerReader", "RequestRecord", "SessionRecord", "default_ledger_path"]
