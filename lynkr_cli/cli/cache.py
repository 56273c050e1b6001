"""``lynkr cache stats`` and ``lynkr cache clear``: the response cache file (or, with team storage, the
database every replica shares), seen and emptied."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Optional

import typer

from lynkr_cli.cli.storage_option import STORAGE_OPTION, open_storage

if TYPE_CHECKING:
    from lynkr_cli.cache.store import CacheStore
    from lynkr_cli.ledger.store import LedgerReader
    from lynkr_cli.storage import Storage

cache_app = typer.Typer(help="The response cache: what it holds and saved, or empty it.", no_args_is_help=True)


@cache_app.command("stats", short_help="Entries, size, hits served and what they saved.")
def stats(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
          storage: Optional[str] = STORAGE_OPTION) -> None:
    """Entries, size, and the hits served from the cache file with the tokens and dollars they saved."""
    from lynkr_cli.cache.store import CacheStore, default_cache_path

    path = default_cache_path()
    mode, ttl = _configured()
    shared = _shared_store(storage, ttl)
    if shared is not None:  # the team database ([storage] url): every replica's answers
        store, opened = shared
        try:
            from lynkr_cli.ledger.store import LedgerReader
            from lynkr_cli.storage import LEDGER

            figures = dict(store.stats(), mode=mode)
            figures.update(_semantic_hits(ttl, LedgerReader(database=opened.database(LEDGER))))
        finally:
            opened.close()
        if as_json:
            typer.echo(json.dumps(figures, indent=2))
        else:
            _print_stats(figures, mode, "", ttl)
        return
    data: dict[str, Any] = {"path": str(path), "mode": mode, "entries": 0, "bytes": 0, "file_bytes": 0, "hits": 0,
            "saved_input_tokens": 0, "saved_output_tokens": 0, "saved_usd": 0.0, "semantic_entries": 0,
            "expired": 0, "oldest": None, "newest": None}
    if path.exists():
        store = CacheStore(path, ttl_seconds=ttl)
        try:
            data.update(store.stats(), mode=mode)
        finally:
            store.close()
    from lynkr_cli.ledger.store import LedgerReader

    data.update(_semantic_hits(ttl, LedgerReader()))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    _print_stats(data, mode, "" if path.exists() else ", no file yet", ttl)


def _print_stats(data: dict[str, Any], mode: str, note: str, ttl: float) -> None:
    from lynkr_cli.cli.render import fmt_tokens

    typer.echo(f"cache {data['path']} (mode {mode}{note})")
    typer.echo(f"  {data['entries']} answers ({data['semantic_entries']} with a question for the semantic cache),"
               f" {data['bytes'] / 1e6:.2f} MB of entries, file {data['file_bytes'] / 1e6:.2f} MB")
    if data["entries"]:
        age = time.time() - (data["oldest"] or time.time())
        typer.echo(f"  oldest {age / 3600:.1f} h ago; {data['expired'] or 0} expired (removed at the next store)")
    typer.echo(f"  {data['hits']} hits served: saved {fmt_tokens(int(data['saved_input_tokens']))} input and"
               f" {fmt_tokens(int(data['saved_output_tokens']))} output tokens, ${data['saved_usd']:.4f} at list prices")
    if data["semantic_hits"]:
        from lynkr_cli.ledger.cache_summary import similarity_text

        typer.echo(f"  {data['semantic_hits']} of them semantic (a reworded question){similarity_text(data['semantic_similarities'])}"
                   f" in the sessions of the last {ttl / 86400:.0f} days")


@cache_app.command("clear")
def clear(storage: Optional[str] = STORAGE_OPTION) -> None:
    """Delete every stored answer (the file stays, empty)."""
    from lynkr_cli.cache.store import CacheStore, default_cache_path

    shared = _shared_store(storage, 0.0)
    if shared is not None:
        store, opened = shared
        try:
            count = store.clear()
        finally:
            opened.close()
        typer.echo(f"cache {store.location}: removed {count} answer{'s' if count != 1 else ''}")
        return
    path = default_cache_path()
    if not path.exists():
        typer.echo(f"cache {path}: nothing to clear")
        return
    store = CacheStore(path)
    try:
        count = store.clear()
    finally:
        store.close()
    typer.echo(f"cache {path}: removed {count} answer{'s' if count != 1 else ''}")


def _semantic_hits(window_seconds: float, reader: LedgerReader) -> dict[str, Any]:
    """Semantic hits and their similarities, from the ledger rows of the sessions in the window (the
    cache file counts hits per answer, not which kind of match served them)."""
    from lynkr_cli.ledger.cache_summary import cache_summary

    similarities: list[float] = []
    hits = 0
    try:
        if reader.exists():
            for session in reader.sessions(last=0, since=time.time() - window_seconds):
                summary = cache_summary(reader.requests(session["id"]))
                if summary:
                    hits += summary["hits_semantic"]
                    similarities += summary["semantic_similarities"]
    except Exception:  # an unreadable ledger must not stop the cache commands (lynkr doctor names it)
        pass
    finally:
        reader.close()
    return {"semantic_hits": hits, "semantic_similarities": sorted(similarities)}


def _shared_store(storage: str | None, ttl: float) -> tuple[CacheStore, Storage] | None:
    """The cache in the team database, when ``--storage`` or ``[storage] url`` names one."""
    from lynkr_cli.config.storage_hint import may_name_storage

    if storage is None and not may_name_storage():
        return None
    from lynkr_cli.cache.store import CacheStore
    from lynkr_cli.storage import CACHE

    opened = open_storage(storage)
    if not opened.shared:
        opened.close()
        return None
    return CacheStore(ttl_seconds=ttl or 7 * 24 * 3600, database=opened.database(CACHE)), opened


def _configured() -> tuple[str, float]:
    """The configured mode and TTL; a broken config must not stop the cache commands."""
    try:
        from lynkr_cli.config import load_settings

        config = load_settings().cache
        return config.mode, float(config.ttl_seconds)
    except Exception:  # reported by `lynkr doctor`; here the file is what matters
        return "unknown (config error)", 7 * 24 * 3600.0
