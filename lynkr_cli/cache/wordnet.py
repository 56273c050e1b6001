"""WordNet's synonyms and antonyms for the guard rails (``lynkr_cli/data/synonyms/wordnet.txt``).

Why: the guard accepts a word replaced by another only when the two mean the same. ``lexicon.SYNONYMS``
holds the programming vocabulary (abbreviations such as "dict", "repo", "js"); this table adds general
English from WordNet 3.0, restricted by ``scripts/build-synonyms`` to the common senses of single words
(a sense with at least a fifth of the word's tagged occurrences), so "choose"/"select",
"need"/"require" or "differ"/"difference" need nobody to have listed them. Two words are synonyms when
a base form of one shares a kept synset with a base form of the other, or the two are derived forms of
each other in kept senses; WordNet's antonyms ("first"/"second", "push"/"pull") are a veto.

Read on the first semantic lookup (~30 ms), never on ``lynkr run``'s start path.
"""

from __future__ import annotations

import functools
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "data" / "synonyms" / "wordnet.txt"

# WordNet's own detachment rules (morphy) by part of speech: ending -> replacement.
_DETACH = {"n": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
                 ("ies", "y")),
           "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
           "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
           "r": ()}


class Thesaurus:
    """The synsets each (part of speech, word) belongs to, the antonym pairs, the irregular forms."""

    def __init__(self, text: str) -> None:
        synsets: dict[tuple[str, str], set[int]] = {}
        self.antonyms: set[tuple[str, str, str]] = set()
        self.irregular: dict[str, list[tuple[str, str]]] = {}
        self.derived: set[tuple[tuple[str, str], tuple[str, str]]] = set()
        for number, line in enumerate(text.splitlines()):
            kind, _, rest = line.partition(" ")
            if kind == "=":
                pos_a, a, pos_b, b = rest.split()
                self.derived |= {((pos_a, a), (pos_b, b)), ((pos_b, b), (pos_a, a))}
            elif kind == "!":
                pos, x, y = rest.split()
                self.antonyms.add((pos, x, y))
            elif kind == "~":
                pos, form, base = rest.split()
                self.irregular.setdefault(form, []).append((pos, base))
            elif kind != "#":
                for word in rest.split():
                    synsets.setdefault((kind, word), set()).add(number)
        self.synsets = {key: frozenset(numbers) for key, numbers in synsets.items()}
        self.known = (set(self.synsets) | {(pos, w) for pos, x, y in self.antonyms for w in (x, y)}
                      | {word for word, _ in self.derived})

    @functools.lru_cache(maxsize=4096)  # noqa: B019 -- one instance per process (thesaurus() below)
    def bases(self, word: str) -> frozenset[tuple[str, str]]:
        """(part of speech, base form) pairs of ``word`` WordNet knows: the word itself, an irregular
        form's base ("ran" -> "run"), or a regular ending taken off ("files" -> "file", "parsed" ->
        "parse"), each only in a part of speech where that ending belongs."""
        found = {(pos, word) for pos in _DETACH if (pos, word) in self.known}
        found.update(self.irregular.get(word, ()))
        found.update((pos, word[: -len(ending)] + replacement) for pos, rules in _DETACH.items()
                     for ending, replacement in rules
                     if word.endswith(ending) and (pos, word[: -len(ending)] + replacement) in self.known)
        return frozenset(found)

    def synonyms(self, x: str, y: str) -> bool:
        """True when a base form of ``x`` and one of ``y`` share a kept synset ("choose" / "select"), or
        are one word's forms in two parts of speech ("differ" / "difference") (lowercase words)."""
        empty: frozenset[int] = frozenset()
        return any(self.synsets.get(a, empty) & self.synsets.get(b, empty) or (a, b) in self.derived
                   for a in self.bases(x) for b in self.bases(y))

    def antonymous(self, x: str, y: str) -> bool:
        """True when WordNet lists a base form of ``x`` and one of ``y`` as antonyms."""
        return any(a[0] == b[0] and (a[0], min(a[1], b[1]), max(a[1], b[1])) in self.antonyms
                   for a in self.bases(x) for b in self.bases(y))


@functools.cache
def thesaurus() -> Thesaurus:
    return Thesaurus(TABLE.read_text() if TABLE.exists() else "")
