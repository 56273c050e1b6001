"""Guard rails of the semantic cache: what two questions must share before their answer can be.

A static embedding is a bag of word vectors: it cannot tell ``-e`` from ``-x``, ``v2`` from ``v3``,
``TCP vs UDP`` from ``HTTP vs FTP``, or "convert str to int" from "convert int to str". So a semantic
hit additionally requires, exactly:

* the same *facts* in the same order: identifiers (``snake_case``, ``camelCase``, ``dotted.names``),
  numbers and versions, paths and URLs, command-line flags, quoted strings, negations, and the
  leading word of a yes/no question ("Should I …" is not "Can I …");
* the same *content words in the same order*, after dropping function words and politeness and
  folding plural/tense endings and case. Directions ("to", "from", "into", "off"), "or", "only"
  and "all" are content. Questions may differ in phrasing ("how do I …" vs "how can I …"),
  punctuation and case, never in what they are about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BACKTICKS = re.compile(r"`([^`]*)`")
_QUOTED = re.compile(r"\"[^\"]*\"|(?<!\w)'[^'\s][^']*'|“[^”]*”|‘[^’]*’")
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
# Words that carry no subject matter: function words and the ways of asking. Words that change
# what is asked are deliberately absent: directions (to, from, into, up, off …), "or", "only", "just",
# "all", "some", "simple", "right", "use", "get", the wh-words other than how/what.
_FILLER = frozenset("""
a an the this that these those it its i me my we us our you your he she they them their
is am are was were be been being do does did doing done have has had having will would shall
of in on at by for as and but if so then there here
what whats how hows please pls kindly really very quick quickly best good proper way ways
help know let lets thing something someone anyone hi hello hey thanks thank ok okay also again
exactly actually basically can could
""".split())
# Asking verbs that mean the same request; other verbs stay as they are.
_SYNONYMS = {"describe": "explain", "tell": "explain", "give": "show", "display": "show", "whats": "what"}
# A yes/no question's first word decides what is asked: "Should I …?" is not "Can I …?".
_LEAD_CLASSES = {**dict.fromkeys(("can", "could", "may", "might"), "can"),
                 **dict.fromkeys(("should", "must", "shall", "ought"), "should"),
                 **dict.fromkeys(("is", "are", "was", "were", "am"), "is"),
                 **dict.fromkeys(("do", "does", "did"), "do"),
                 **dict.fromkeys(("will", "would"), "will")}
_INFINITIVE_AFTER = frozenset({"how", "way", "ways", "want", "need", "order", "able", "try", "trying"})
_IRREGULAR = {"children": "child", "indices": "index", "indexes": "index", "matrices": "matrix",
              "vertices": "vertex", "data": "datum"}


@dataclass(frozen=True)
class Signature:
    """What a question must share with another for their answers to be interchangeable."""

    facts: tuple[str, ...]
    words: tuple[str, ...]


def _stem(word: str) -> str:
    """Fold plural and tense endings ("files"/"file", "parsing"/"parse") to one form."""
    word = _IRREGULAR.get(word, word)
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"),
                         ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)] + keep
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def _is_identifier(token: str) -> bool:
    core = token.strip("'’")
    return ("_" in core or any(c.isdigit() for c in core) or "." in core or ":" in core
            or (core.isupper() and len(core) >= 2) or (core[:1].islower() and any(c.isupper() for c in core[1:]))
            or (core[:1].isupper() and any(c.isupper() for c in core[1:])))


def signature(text: str) -> Signature:
    """The facts and content words of ``text`` (see the module docstring), both in text order."""
    facts: list[tuple[int, str]] = []
    rest = _BACKTICKS.sub(lambda m: " " + m.group(1) + " ", text)  # `code` spans are formatting
    for kind, pattern in (("q", _QUOTED), ("u", _URL), ("p", _PATH), ("f", _FLAG)):
        facts += [(m.start(), f"{kind}:{m.group(0).strip()}") for m in pattern.finditer(rest)]
        rest = pattern.sub(lambda m: " " * len(m.group(0)), rest)  # keep positions for ordering
    words: list[str] = []
    tokens = list(_WORD.finditer(rest))
    lowered_tokens = [t.group(0).lower().replace("’", "'") for t in tokens]
    for index, match in enumerate(tokens):
        token, lowered = match.group(0), lowered_tokens[index]
        following = lowered_tokens[index + 1] if index + 1 < len(lowered_tokens) else ""
        previous = lowered_tokens[index - 1] if index else ""
        if index == 0 and lowered in _LEAD_CLASSES:
            if following not in ("you", "u"):  # "Can you explain …" is a request, not a yes/no question
                facts.append((match.start(), f"lead:{_LEAD_CLASSES[lowered]}"))
            continue
        if lowered == "to" and previous in _INFINITIVE_AFTER:  # "how to sort", "the way to sort"
            continue
        if _is_identifier(token) and not (token.isalpha() and token.isupper() and len(token) <= 5):
            facts.append((match.start(), f"i:{token.strip('’')}"))
            continue
        if lowered.endswith("n't") or lowered in _NEGATIONS or lowered.replace("'", "") in _NEGATIONS:
            facts.append((match.start(), "neg"))
            continue
        plain = lowered.split("'")[0]
        plain = _SYNONYMS.get(plain, plain)
        if plain and plain not in _FILLER:
            words.append(_stem(plain))
    rest = _WORD.sub(lambda m: " " * len(m.group(0)), rest)
    facts += [(m.start(), f"n:{m.group(0)}") for m in _NUMBER.finditer(rest)]
    return Signature(facts=tuple(fact for _, fact in sorted(facts)), words=tuple(words))


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
