"""The inverse of the rewriting stages: from what the model saw back to what the agent sent.

This is what "lossless" means here, written as code: given the messages lynkr forwarded, it undoes
``linenums`` (padding back), ``dedup`` (each reference replaced by the lines it names, resolved
against the earlier content exactly as the model would resolve it: the previous output of the call
it names) and ``paths`` (headings put back in front of their lines), in the reverse of the order they
ran. Each stage runs the same per-text inverse on every rewrite before keeping it (its
``lossless_failures`` metric, which ``lynkr replay`` adds up); tests run this whole-conversation
version over real sessions.

It is exact for every text the stages rewrote. A text they left alone because it already read like
their output (ripgrep's own ``--heading`` layout, say) would be re-read in that layout here, which
is also how the model reads it; the stages never produce such ambiguity themselves.
"""

from __future__ import annotations

from typing import Any

from lynkr_cli.pipeline import linenums, paths, refs
from lynkr_cli.pipeline.dedup import Scan


def expand_messages(messages: list[Any], stages: frozenset[str] = frozenset({"linenums", "dedup", "paths"})) -> list[Any]:
    """``messages`` with the rewrites of ``stages`` undone (a new list; the input is not modified)."""
    scan = Scan()
    out: list[Any] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            out.append(message)
            continue
        blocks: list[Any] = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                ident = str(block.get("id"))
                scan.labels[ident] = refs.output_key(str(block.get("name") or ""), block.get("input"))
                for key, text in refs.written_sources(str(block.get("name") or ""), block.get("input")):
                    scan.add_source(key, text)
            elif isinstance(block, dict) and block.get("type") == "tool_result":
                block = _expand_result(block, scan, stages)
            blocks.append(block)
        out.append({**message, "content": blocks})
    return out


def _expand_result(block: dict[str, Any], scan: Scan, stages: frozenset[str]) -> dict[str, Any]:
    key = scan.labels.get(str(block.get("tool_use_id")))
    body = block.get("content")
    if isinstance(body, str):
        return {**block, "content": _expand_text(body, key, scan, stages)}
    if isinstance(body, list):
        parts = [{**part, "text": _expand_text(part["text"], key, scan, stages)}
                 if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str) else part
                 for part in body]
        return {**block, "content": parts}
    return block


def _expand_text(text: str, key: refs.Key | None, scan: Scan, stages: frozenset[str]) -> str:
    if "linenums" in stages:
        text = linenums.expand(text)
    if "dedup" in stages and key is not None:
        expanded = refs.expand_text(text, scan.resolve)
        if expanded is None:
            raise ValueError(f"a reference in the output of {key[1]!r} does not resolve")
        text = expanded
    if key is not None:
        scan.add_source(key, text)
    if "paths" in stages:
        text = paths.expand(text)
    return text
