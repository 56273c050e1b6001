"""Which conversation a request continues, so the stages handle only what is new in it.

Every turn resends the whole conversation: a request is the previous one plus a few messages (with
Claude Code's ``cache_control`` marker moved from the old last message to the new one). A session
sends several conversations under one session id (Claude Code's sub-agents, its side requests, a
conversation restarted after ``/compact`` or a rewind), so each session keeps its few most recent
conversations, and a request continues the one whose messages it repeats, all of them, in order
(compared by value: exact, and a C-speed comparison, ~0.2 ms for 2 MB of conversation). Messages that
differ only by where a ``cache_control`` marker sits count as the same (the marker is not content),
and the last one may have grown by more blocks (``extends``).
A request that repeats none of them completely (a rewind, an edited message, a new sub-agent) starts
a new conversation; the one it branched from stays for a request that continues it.

The request handed to the stages carries the stored message objects for the messages that are equal
to them, so each stage recognizes its own earlier input by identity (``progress.py``). This is only
for speed: the same messages give the same bytes whichever conversation, if any, they were matched to.

Memory stays bounded: at most ``PER_SESSION`` conversations per session and one character budget for
all of them (``BUDGET_CHARS``, least recently used forgotten first); a forgotten conversation is
simply computed again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextvars import ContextVar
from typing import Any

PER_SESSION = 4  # a main conversation, a couple of sub-agents, a side request
BUDGET_CHARS = 8 << 20  # JSON characters of the conversations kept, all sessions together: with the
# stages' progress and dedup's index ~8 bytes each (bench/soak.py levels off at ~226 MB RSS with 8 M,
# ~260 MB with 12 M); a long Claude Code conversation is ~1-2 M
MAX_SESSIONS = 256


class Conversation:
    """One conversation as last seen: its messages (what the first stage was given) and, per stage,
    what the stage made of them so far (``progress.py``)."""

    def __init__(self, session: str) -> None:
        self.session = session
        self.messages: list[Any] = []
        self.sizes: list[int] = []  # running JSON size after each message (for the budget)
        self.progress: dict[str, Any] = {}
        self.lock = threading.Lock()  # held by the request the stages are working on

    @property
    def chars(self) -> int:
        return self.sizes[-1] if self.sizes else 0


# The conversation the stages of the running ``Pipeline.run`` work on (None outside a run, or when
# another thread holds it). A context variable, not a field of the session's state: two requests of
# one session (a sub-agent beside its parent) may be optimized at the same time in two threads, each
# on its own conversation.
RUNNING: ContextVar[Conversation | None] = ContextVar("lynkr_pipeline_conversation", default=None)


def running() -> Conversation | None:
    """The conversation the current pipeline run works on, if any."""
    return RUNNING.get()


def _plain_block(block: Any) -> Any:
    """A content block without its ``cache_control`` marker (also on the parts of a tool result)."""
    if type(block) is not dict:
        return block
    content = block.get("content")
    if type(content) is list and any(type(p) is dict and "cache_control" in p for p in content):
        block = {**block, "content": [_plain_block(p) for p in content]}
    if "cache_control" in block:
        block = {k: v for k, v in block.items() if k != "cache_control"}
    return block


def blocks(content: Any) -> Any:
    """Content as a list of blocks: a string is the one text block it means."""
    return [{"type": "text", "text": content}] if type(content) is str else content


def same_content(a: Any, b: Any) -> bool:
    """Are two messages the same but for ``cache_control`` markers (or a string content written as
    its one text block)?"""
    if a is b or a == b:
        return True
    if type(a) is not dict or type(b) is not dict or a.keys() != b.keys():
        return False
    if any(a[key] != b[key] for key in a if key != "content"):
        return False
    first, second = blocks(a.get("content")), blocks(b.get("content"))
    if type(first) is not list or type(second) is not list or len(first) != len(second):
        return False
    return all(x is y or x == y or _plain_block(x) == _plain_block(y) for x, y in zip(first, second))


def extends(a: Any, b: Any) -> bool:
    """Is message ``b`` message ``a`` with more content blocks after its own (markers aside)?

    A Codex request decoded to the canonical form merges consecutive items of one role into one
    message, so the last message of one request grows in the next (a commentary, then the call made
    after it)."""
    if type(a) is not dict or type(b) is not dict or a.keys() != b.keys():
        return False
    if any(a[key] != b[key] for key in a if key != "content"):
        return False
    first, second = blocks(a.get("content")), blocks(b.get("content"))
    if type(first) is not list or type(second) is not list or len(second) <= len(first):
        return False
    return all(x is y or x == y or _plain_block(x) == _plain_block(y) for x, y in zip(first, second))


def _continues(old: list[Any], new: list[Any]) -> int | None:
    """How many leading messages of ``new`` are equal to ``old``'s when ``new`` repeats every message
    of ``old`` (markers aside; the last one may have grown, ``extends``); None when it does not."""
    if len(new) < len(old):
        return None
    exact = 0
    while exact < len(old) and (old[exact] is new[exact] or old[exact] == new[exact]):
        exact += 1
    last = len(old) - 1
    if all(same_content(old[i], new[i]) or (i == last and extends(old[i], new[i])) for i in range(exact, len(old))):
        return exact
    return None


def message_size(message: Any) -> int:
    from lynkr_cli.formats.jsonio import dumps

    try:
        return len(dumps(message))
    except (TypeError, ValueError):  # not JSON data: counted small, it is not what fills memory
        return 64


class Conversations:
    """The recent conversations of every session, within one character budget (LRU)."""

    def __init__(self, budget_chars: int = BUDGET_CHARS, per_session: int = PER_SESSION,
                 max_sessions: int = MAX_SESSIONS) -> None:
        self.budget = budget_chars
        self.per_session = per_session
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, list[Conversation]] = OrderedDict()
        self._recent: OrderedDict[int, Conversation] = OrderedDict()  # every conversation, least recent first
        self.chars = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._recent)

    def follow(self, session: str, messages: list[Any]) -> tuple[Conversation, list[Any]]:
        """The conversation ``messages`` continue (a new one if none), now holding them, and the
        messages to give the stages: the stored objects where equal, the new ones after."""
        with self._lock:
            kept = self._sessions.get(session)
            best: Conversation | None = None
            exact = 0
            for conversation in kept or ():
                n = _continues(conversation.messages, messages)
                if n is not None and (best is None or len(conversation.messages) > len(best.messages)):
                    best, exact = conversation, n
            if best is None:
                best = self._start(session)
            elif kept is not None and kept[-1] is not best:
                kept.remove(best)
                kept.append(best)  # a session's list runs from its least to its most recently used
            old = best.messages
            given = old[:exact] if exact == len(messages) else [*old[:exact], *messages[exact:]]
            sizes = best.sizes[:exact]
            total = sizes[-1] if sizes else 0
            for message in given[exact:]:
                total += message_size(message)
                sizes.append(total)
            self.chars += total - best.chars
            best.messages, best.sizes = given, sizes
            self._recent.move_to_end(id(best))
            self._sessions.move_to_end(session)
            self._trim(keep=best)
            return best, given

    def _start(self, session: str) -> Conversation:
        conversation = Conversation(session)
        kept = self._sessions.setdefault(session, [])
        self._sessions.move_to_end(session)  # never the one forgotten for being the least recent
        kept.append(conversation)
        self._recent[id(conversation)] = conversation
        if len(kept) > self.per_session:
            self._forget(kept[0], kept)
        while len(self._sessions) > self.max_sessions:
            _, dropped = self._sessions.popitem(last=False)
            for old in list(dropped):
                self._forget(old, dropped)
        return conversation

    def _forget(self, conversation: Conversation, kept: list[Conversation] | None = None) -> None:
        kept = kept if kept is not None else self._sessions.get(conversation.session, [])
        if conversation in kept:
            kept.remove(conversation)
        if not kept:
            self._sessions.pop(conversation.session, None)
        if self._recent.pop(id(conversation), None) is not None:
            self.chars -= conversation.chars

    def _trim(self, keep: Conversation) -> None:
        if self.chars <= self.budget:
            return
        for key in list(self._recent):
            if self.chars <= self.budget:
                break
            conversation = self._recent[key]
            if conversation is not keep:
                self._forget(conversation)
