"""``lynkr cache stats`` and ``lynkr cache clear``: the response cache file, seen and emptied."""

from __future__ import annotations

import json
import time
from typing import Any

import typer

cache_app = typer.Typer(help="The response cache: what it holds and saved, or empty it.", no_args_is_help=True)


@cache_app.command("stats", short_help="Entries, size, hits served and what they saved.")
def stats(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """Entries, size, and the hits served from the cache file with the tokens and dollars they saved."""
    from lynkr_cli.cache.store import CacheStore, default_cache_path

    path = default_cache_path()
    mode, ttl = _configured()
    data: dict[str, Any] = {"path": str(path), "mode": mode, "entries": 0, "bytes": 0, "file_bytes": 0, "hits": 0,
            "saved_input_tokens": 0, "saved_output_tokens": 0, "saved_usd": 0.0, "semantic_entries": 0,
            "expired": 0, "oldest": None, "newest": None}
    if path.exists():
        store = CacheStore(path, ttl_seconds=ttl)
        try:
            data.update(store.stats(), mode=mode)
        finally:
            store.close()
    data.update(_semantic_hits(ttl))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    from lynkr_cli.cli.render import fmt_tokens

    typer.echo(f"cache {data['path']} (mode {mode}{'' if path.exists() else ', no file yet'})")
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
def clear() -> None:
    """Delete every stored answer (the file stays, empty)."""
    from lynkr_cli.cache.store import CacheStore, default_cache_path

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


def _semantic_hits(window_seconds: float) -> dict[str, Any]:
    """Semantic hits and their similarities, from the ledger rows of the sessions in the window (the
    cache file counts hits per answer, not which kind of match served them)."""
    from lynkr_cli.ledger.cache_summary import cache_summary
    from lynkr_cli.ledger.store import LedgerReader

    reader = LedgerReader()
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


def _configured() -> tuple[str, float]:
    """The configured mode and TTL; a broken config must not stop the cache commands."""
    try:
        from lynkr_cli.settings import load_settings

        config = load_settings().cache
        return config.mode, float(config.ttl_seconds)
    except Exception:  # reported by `lynkr doctor`; here the file is what matters
        return "unknown (config error)", 7 * 24 * 3600.0
