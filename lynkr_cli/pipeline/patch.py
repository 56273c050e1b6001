"""Apply the pipeline's edits to an OpenAI client's own body instead of re-encoding it.

The stages work on the canonical (Anthropic-shaped) request. For an OpenAI client talking to an
OpenAI-format upstream, encoding the canonical request back would rebuild the whole body from the
canonical model: item ids, ``developer`` messages, non-function tools and fields the canonical model
does not carry would change or disappear, and the prompt-cache prefix with them. The stages only
ever change two things (tool-result texts and the tool list), so those two edits are applied to the
client's own JSON, everything else stays as the client sent it. The edit is used only after checking
that applying it to the canonical input gives exactly the canonical output; otherwise the caller
falls back to the codec.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest, Tool

PATCHABLE = ("openai-chat", "openai-responses")


def _result_texts(body: Mapping[str, Any]) -> dict[str, Any]:
    texts: dict[str, Any] = {}
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, list):
            for block in content:
                if isinstance(block, Mapping) and block.get("type") == "tool_result":
                    texts[str(block.get("tool_use_id"))] = block.get("content")
    return texts


def _edit_canonical(body: Mapping[str, Any], replace: dict[str, str], removed: set[str]) -> dict[str, Any]:
    messages = []
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, list):
            content = [
                {**b, "content": replace[str(b.get("tool_use_id"))]}
                if isinstance(b, Mapping) and b.get("type") == "tool_result" and str(b.get("tool_use_id")) in replace
                else b
                for b in content
            ]
            message = {**message, "content": content}
        messages.append(message)
    out = {**body, "messages": messages}
    if removed and "tools" in body:
        out["tools"] = [t for t in body["tools"] if t.get("name") not in removed]
    return out


def patch_original(payload: Mapping[str, Any], before: "ModelRequest", after: "ModelRequest") -> bytes | None:
    """The client's body with the stages' edits applied, or None when they cannot be applied in place."""
    from lynkr_cli.canonical import canonical_json

    patched = patched_payload(payload, before, after)
    return None if patched is None else canonical_json(patched)


def patched_payload(payload: Mapping[str, Any], before: "ModelRequest", after: "ModelRequest") -> dict[str, Any] | None:
    """``patch_original`` before serialization (``lynkr replay`` measures the JSON, not its bytes)."""
    if before.inbound not in PATCHABLE or after is before:
        return None
    old, new = _result_texts(before.body), _result_texts(after.body)
    replace = {k: v for k, v in new.items() if old.get(k) != v}
    if any(not isinstance(v, str) for v in replace.values()):
        return None
    removed = _tool_names(before.tools) - _tool_names(after.tools)
    if _edit_canonical(before.body, replace, removed) != after.body:
        return None  # a stage changed something else: only the codec can encode that
    edit = _edit_responses if before.inbound == "openai-responses" else _edit_chat
    return edit(payload, replace, removed)


def _tool_names(tools: list[Tool]) -> set[str]:
    return {name for name in (t.get("name") for t in tools) if isinstance(name, str)}


def _replaced(value: Any, text: str) -> Any:
    """``value`` (a string, or a one-part list of text content) with its text replaced; None if neither."""
    if isinstance(value, list):
        if len(value) != 1 or not isinstance(value[0], Mapping) or "text" not in value[0]:
            return None
        return [{**value[0], "text": text}]
    return text


def _edit(payload: Mapping[str, Any], replace: dict[str, str], removed: set[str], *, items_key: str,
          is_result: Any, id_key: str, content_key: str, tool_name: Any) -> dict[str, Any] | None:
    """Replace the texts of the results named in ``replace`` and drop the ``removed`` function tools."""
    items, done = [], set()
    for item in payload.get(items_key) or []:
        call_id = str(item.get(id_key)) if isinstance(item, Mapping) and is_result(item) else None
        if call_id in replace:
            content = _replaced(item.get(content_key), replace[call_id])
            if content is None:
                return None
            item = {**item, content_key: content}
            done.add(call_id)
        items.append(item)
    if done != set(replace):
        return None
    out = {**payload, items_key: items}
    if removed:
        out["tools"] = [t for t in payload.get("tools") or []
                        if not (t.get("type") == "function" and tool_name(t) in removed)]
    return out


def _edit_responses(payload: Mapping[str, Any], replace: dict[str, str], removed: set[str]) -> dict[str, Any] | None:
    return _edit(payload, replace, removed, items_key="input", id_key="call_id", content_key="output",
                 is_result=lambda item: item.get("type") == "function_call_output",
                 tool_name=lambda tool: tool.get("name"))


def _edit_chat(payload: Mapping[str, Any], replace: dict[str, str], removed: set[str]) -> dict[str, Any] | None:
    return _edit(payload, replace, removed, items_key="messages", id_key="tool_call_id", content_key="content",
                 is_result=lambda item: item.get("role") == "tool",
                 tool_name=lambda tool: (tool.get("function") or {}).get("name"))


def keep_client_format(before: "ModelRequest", after: "ModelRequest") -> "ModelRequest":
    """``after``, carrying as ``raw`` the client's own bytes with the stages' edits applied when that is
    possible (OpenAI inbound formats), so a same-format upstream receives the client's body, not a
    re-encoding of it. Anthropic requests need nothing: canonical is their own format."""
    from dataclasses import replace

    if after is before or before.inbound not in PATCHABLE or before.raw is None:
        return after
    try:
        payload = json.loads(before.raw)
    except ValueError:
        return after
    patched = patch_original(payload, before, after) if isinstance(payload, dict) else None
    return after if patched is None else replace(after, raw=patched)
