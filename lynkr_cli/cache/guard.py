"""Guard rails of the semantic cache: what two questions must share before their answer can be.

A static embedding is a bag of word vectors: it cannot tell ``-e`` from ``-x``, ``v2`` from ``v3``,
``TCP vs UDP`` from ``HTTP vs FTP``, or "convert str to int" from "convert int to str". So a semantic
hit additionally requires, exactly:

* the same *facts*: identifiers (``snake_case``, ``camelCase``, ``dotted.names``, ``ALLCAPS``), numbers
  and versions, paths and URLs, command-line flags, quoted strings, and negations;
* the same *content words in the same order*, after dropping function words and politeness and
  folding plural/tense endings. Questions may differ in phrasing ("how do I …" vs "what's the way
  to …"), punctuation and case, never in what they are about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_QUOTED = re.compile(r"\"[^\"]*\"|'[^'\s][^']*'|`[^`]*`|“[^”]*”|‘[^’]*’")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I)
_PATH = re.compile(r"(?:~|\.{1,2})?/?[\w.@%+-]+(?:/[\w.@%+-]+)+/?|/[\w.@%+-]+|\b[\w.-]+\.(?:py|js|ts|tsx|jsx|json|toml|ya?ml|md|txt|rs|go|"
                   r"java|c|h|cpp|hpp|rb|sh|sql|html|css|lock|cfg|ini|env)\b", re.I)
_FLAG = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*(?:=\S+)?")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_WORD = re.compile(r"[A-Za-z_][\w'’]*(?:[.:]\w+)*")
_NEGATIONS = frozenset({
    "not", "no", "never", "none", "nothing", "nobody", "nor", "neither", "without", "cannot", "cant", "dont",
    "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "wouldnt", "shouldnt", "couldnt", "hasnt",
    "havent", "hadnt", "mustnt", "except", "unless", "excluding", "avoid", "disable", "disabled", "stop",
    "un", "non",
})
# Words that carry no subject matter: function words and the ways of asking.
_FILLER = frozenset("""
a an the this that these those it its i me my we us our you your he she they them their one some any
is am are was were be been being do does did doing done have has had having will would shall should can
could may might must to of in on at by for with from into onto about as than then so and or but if
what whats which who whom whose how hows why when where there here please pls kindly just really very
quick quickly simply simple briefly short way ways best good proper correct right possible tell show give
explain describe help want need like know let lets get go use using way thing something someone anyone
hi hello hey thanks thank ok okay also again exactly actually basically
""".split())
_IRREGULAR = {"children": "child", "indices": "index", "indexes": "index", "matrices": "matrix",
              "vertices": "vertex", "data": "datum"}


@dataclass(frozen=True)
class Signature:
    """What a question must share with another for their answers to be interchangeable."""

    facts: tuple[str, ...]
    words: tuple[str, ...]


def _stem(word: str) -> str:
    word = _IRREGULAR.get(word, word)
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def _is_identifier(token: str) -> bool:
    core = token.strip("'’")
    return ("_" in core or any(c.isdigit() for c in core) or "." in core or ":" in core
            or (core.isupper() and len(core) >= 2) or (core[:1].islower() and any(c.isupper() for c in core[1:]))
            or (core[:1].isupper() and any(c.isupper() for c in core[1:])))


def signature(text: str) -> Signature:
    """The facts and content words of ``text`` (see the module docstring)."""
    facts: list[str] = []
    rest = text
    for kind, pattern in (("q", _QUOTED), ("u", _URL), ("p", _PATH), ("f", _FLAG)):
        facts += [f"{kind}:{m.group(0).strip()}" for m in pattern.finditer(rest)]
        rest = pattern.sub(" ", rest)
    words: list[str] = []
    for match in _WORD.finditer(rest):
        token = match.group(0)
        if _is_identifier(token):
            facts.append(f"i:{token.strip('’')}")
            continue
        lowered = token.lower().replace("’", "'")
        if lowered.endswith("n't") or lowered in _NEGATIONS or lowered.replace("'", "") in _NEGATIONS:
            facts.append("neg")
            continue
        plain = lowered.split("'")[0]
        if plain and plain not in _FILLER:
            words.append(_stem(plain))
    rest = _WORD.sub(" ", rest)
    facts += [f"n:{m.group(0)}" for m in _NUMBER.finditer(rest)]
    return Signature(facts=tuple(sorted(facts)), words=tuple(words))


def same_question(a: str, b: str) -> str | None:
    """``None`` when the guard rails let ``a`` and ``b`` share an answer, else the reason they don't."""
    sa, sb = signature(a), signature(b)
    if sa.facts != sb.facts:
        return "identifiers, numbers, paths, flags, quotes or negations differ"
    if sa.words != sb.words:
        return "content words differ"
    if not sa.words and not sa.facts:
        return "nothing to compare"
    return None
