"""Guard rails of the semantic cache: when a reworded question may be answered with a stored answer.

A static embedding is a bag of word vectors: it rates "install numpy" and "uninstall numpy", ``-e``
and ``-x``, "TCP vs UDP" and "HTTP vs FTP", "string to int" and "int to string" as near-identical.
So before a stored answer serves another wording, the two questions must agree on:

* **facts**, exactly and in order: identifiers (``snake_case``, ``camelCase``, ``dotted.names``),
  numbers and versions, paths and URLs, command-line flags, quoted strings;
* **negation**: both or neither say "not", "never", "without", "doesn't" …;
* **the kind of yes/no question** ("Should I …?" is not "Can I …?");
* **every content word**, by alignment: each word of one question must be the same word (after case,
  plural and tense endings), a synonym (``lexicon.SYNONYMS``) or two words joined ("lower case" /
  "lowercase") on the other side. A word replaced by another word is a different question ("install"
  / "uninstall", "merge" / "rebase", "keys" / "values", "Python" / "Rust"); a word present on one side
  only is a different question unless it carries no subject matter (``lexicon.FILLER``, ``LIGHT``:
  "the best way", "what is the command");
* **direction**: shared words that change order across "to", "from", "into", "than" … ("convert a
  string to an int" / "an int to a string", "merge main into my branch" / "my branch into main").

What may differ: phrasing ("how do I" / "what's the way to" / a terse search query), politeness, case,
punctuation, word order elsewhere ("python reverse list"), synonyms, and function words.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from lynkr_cli.cache import lexicon

class _Patterns:
    """The guard's regular expressions, compiled on first use: compiling them (~25 phrase patterns and
    the path pattern) took ~70 ms of CPU on the loaded VM at import, which ``lynkr run`` with the cache
    off or exact must not pay (the cache service imports this module for every mode)."""

    def __init__(self) -> None:
        self.backticks = re.compile(r"`([^`]*)`")
        self.quoted = re.compile(r"\"[^\"]*\"|(?<!\w)'[^'\s][^']*'|“[^”]*”|‘[^’]*’")
        self.url = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I)
        self.path = re.compile(r"(?:~|\.{1,2})?/?[\w.@%+-]+(?:/[\w.@%+-]+)+/?|/[\w.@%+-]+|\b[\w.-]+\.(?:py|js|ts|tsx|jsx|json|toml|ya?ml|md|txt|rs|go|"
                               r"java|c|h|cpp|hpp|rb|sh|sql|html|css|lock|cfg|ini|env)\b", re.I)
        self.flag = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*(?:=\S+)?")
        self.number = re.compile(r"\d+(?:[.,:]\d+)*")
        self.word = re.compile(r"[A-Za-z_][\w'’]*(?:[.:]\w+)*")
        # Product names written as several words or with a dot that are one name.
        self.names = [(re.compile(r"\b(?:vs|visual studio) code\b", re.I), "vscode"),
                      (re.compile(r"\bnode\.js\b", re.I), "node"), (re.compile(r"\bc\+\+", re.I), "cpp"),
                      (re.compile(r"\bc#", re.I), "csharp"), (re.compile(r"\bf#", re.I), "fsharp")]
        self.phrases = [(re.compile(r"\b" + re.escape(phrase) + r"\b", re.I), replacement)
                        for phrase, replacement in lexicon.PHRASES]


@functools.cache
def _patterns() -> _Patterns:
    return _Patterns()


_INFINITIVE_AFTER = frozenset({"how", "way", "ways", "want", "need", "order", "able", "try", "trying"})


@dataclass(frozen=True)
class Signature:
    """What a question must share with another for their answers to be interchangeable."""

    facts: tuple[str, ...]
    negations: int
    lead: str | None
    words: tuple[str, ...]  # canonical content words, in text order
    raw: tuple[str, ...]  # the same words as written (lowercase), for joined-word matching
    roles: tuple[tuple[str, str], ...]  # (preposition, the first word or fact after it)
    particles: frozenset[str]
    explains: bool
    commands: frozenset[str] = frozenset()  # words right after a command-line tool: subcommands


def _stem(word: str) -> str:
    """Fold plural, tense and adverb endings ("files"/"file", "parsing"/"parse", "locally"/"local")."""
    word = lexicon.IRREGULAR.get(word, word)
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"),
                         ("ing", ""), ("ed", ""), ("ly", ""), ("s", "")):
        if suffix == "s" and word.endswith(("ss", "us", "is", "as")):  # "process", "status", "alias"
            continue
        if word.endswith(suffix) and len(word) - len(suffix) >= (4 if suffix == "ly" else 3):
            word = word[: -len(suffix)] + keep
            if suffix in ("ing", "ed") and word[-1] == word[-2] and word[-1] in "bgmnpt":
                word = word[:-1]  # "running", "stopped", "committed"
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


@functools.cache
def _canonical_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for word, first in lexicon.SYNONYMS.items():
        table[word] = table[_stem(word)] = _stem(first)
    return table


def canonical(word: str) -> str:
    """The form two words share when they mean the same (lowercase input)."""
    table = _canonical_table()
    found = table.get(word)
    if found is not None:
        return found
    stem = _stem(word)
    return table.get(stem, stem)


def _is_identifier(token: str) -> bool:
    core = token.strip("'’")
    return ("_" in core or any(c.isdigit() for c in core) or "." in core or ":" in core
            or (core.isupper() and len(core) >= 2) or (core[:1].islower() and any(c.isupper() for c in core[1:]))
            or (core[:1].isupper() and any(c.isupper() for c in core[1:])))


def _is_negation(lowered: str) -> bool:
    return lowered.endswith("n't") or lowered.replace("'", "").replace("’", "") in lexicon.NEGATIONS


def _padded(replacement: str, match: re.Match[str]) -> str:
    """``replacement`` padded to the matched text's length, so positions (fact order) stay."""
    return replacement.ljust(len(match.group(0)))


def _is_name_letter(low: str, following: str) -> bool:
    """"table a to table b": a letter that ends a noun phrase is a name, not an article."""
    return len(low) == 1 and low not in ("i",) and (following in lexicon.PREPOSITIONS or following in ("and", "or", ""))


def _subcommands(lowered: list[str]) -> set[str]:
    """The canonical forms of the words one or two places after a command-line tool's name."""
    found: set[str] = set()
    for index, low in enumerate(lowered):
        if low in lexicon.TOOLS:
            found.update(canonical(word) for word in lowered[index + 1:index + 3] if word not in lexicon.TOOLS)
    return found


@functools.lru_cache(maxsize=8192)
def signature(text: str) -> Signature:
    """The facts, negations and content words of ``text`` (see the module docstring). Memoized: a
    lookup compares the question with every stored question of its context above the threshold, and
    those come back on every lookup in that context (~40 µs each to read again)."""
    patterns = _patterns()
    facts: list[tuple[int, str]] = []
    rest = patterns.backticks.sub(lambda m: " " + m.group(1) + " ", text)  # `code` spans are formatting
    for pattern, name in patterns.names:
        rest = pattern.sub(name, rest)
    for kind, pattern in (("q", patterns.quoted), ("u", patterns.url), ("p", patterns.path), ("f", patterns.flag)):
        facts += [(m.start(), f"{kind}:{m.group(0).strip()}") for m in pattern.finditer(rest)]
        rest = pattern.sub(lambda m: " " * len(m.group(0)), rest)  # keep positions for ordering
    for pattern, replacement in patterns.phrases:
        rest = pattern.sub(functools.partial(_padded, replacement), rest)
    tokens = list(patterns.word.finditer(rest))
    lowered = [t.group(0).lower().replace("’", "'") for t in tokens]
    words: list[str] = []
    raw: list[str] = []
    roles: list[tuple[str, str]] = []
    particles: set[str] = set()
    pending: list[str] = []  # prepositions waiting for the word after them
    negations = 0
    lead = None

    def took(item: str) -> None:
        for preposition in pending:
            roles.append((preposition, item))
        pending.clear()

    for index, match in enumerate(tokens):
        token, low = match.group(0), lowered[index]
        following = lowered[index + 1] if index + 1 < len(lowered) else ""
        previous = lowered[index - 1] if index else ""
        if index == 0 and low in lexicon.LEADS:
            if following not in ("you", "u"):  # "Can you explain …" is a request, not a yes/no question
                lead = lexicon.LEADS[low]
            continue
        if _is_name_letter(low, following) or (_is_identifier(token) and low not in lexicon.SYNONYMS
                                               and not (token.isalpha() and token.isupper() and len(token) <= 5)):
            facts.append((match.start(), f"i:{token.strip('’')}"))
            took(f"i:{token}")
            continue
        if _is_negation(low):
            negations += 1
            continue
        plain = low.split("'")[0]
        if token == "Go" and index > 0:  # the language, not the verb
            plain = "golang"
        if plain in lexicon.PREPOSITIONS:
            if not (plain == "to" and previous in _INFINITIVE_AFTER):  # "how to sort" is no direction
                pending.append(lexicon.PREPOSITIONS[plain])
            continue
        if plain in lexicon.PARTICLES:
            particles.add(plain)
            continue
        if not plain or plain in lexicon.FILLER:
            continue
        word = canonical(plain)
        words.append(word)
        raw.append(plain)
        took(word)
    rest = patterns.word.sub(lambda m: " " * len(m.group(0)), rest)
    facts += [(m.start(), f"n:{m.group(0)}") for m in patterns.number.finditer(rest)]
    return Signature(facts=tuple(fact for _, fact in sorted(facts)), negations=negations, lead=lead,
                     words=tuple(words), raw=tuple(raw), roles=tuple(roles), particles=frozenset(particles),
                     explains=any(low in lexicon.EXPLAIN for low in lowered),
                     commands=frozenset(_subcommands(lowered)))


def _joined(extra: set[str], other: Signature) -> set[str]:
    """The words of ``extra`` that are two adjacent words of ``other`` written as one ("lowercase")."""
    pairs = {other.raw[i] + other.raw[i + 1] for i in range(len(other.raw) - 1)}
    return {word for word in extra if word in pairs or canonical(word) in {canonical(p) for p in pairs}}


def _forms(signature: Signature, words: set[str]) -> dict[str, set[str]]:
    """The words as written (lowercase) behind each of the canonical ``words``."""
    forms: dict[str, set[str]] = {word: set() for word in words}
    for word, raw in zip(signature.words, signature.raw):
        if word in forms:
            forms[word].add(raw)
    return forms


@dataclass
class _Unmatched:
    """Content words of each side the other side has no counterpart for, and the first contrasting
    pair among them (before light words are set aside: "show" / "hide" is a contrast, not an omission)."""

    only_a: set[str]
    only_b: set[str]
    contrast: tuple[str, str] | None


def _unmatched(a: Signature, b: Signature) -> _Unmatched:
    """Content words of each side the other side has no counterpart for (after joined words and
    synonyms)."""
    only_a, only_b = set(a.words) - set(b.words), set(b.words) - set(a.words)
    raw_a = {w for w in a.raw if canonical(w) in only_a}
    raw_b = {w for w in b.raw if canonical(w) in only_b}
    joined_a, joined_b = _joined(raw_a, b), _joined(raw_b, a)
    parts_a = {w for i in range(len(a.raw) - 1) if a.raw[i] + a.raw[i + 1] in joined_b for w in a.raw[i:i + 2]}
    parts_b = {w for i in range(len(b.raw) - 1) if b.raw[i] + b.raw[i + 1] in joined_a for w in b.raw[i:i + 2]}
    only_a -= {canonical(w) for w in joined_a | parts_a}
    only_b -= {canonical(w) for w in joined_b | parts_b}
    contrast, synonyms = _pairs(_forms(a, only_a), _forms(b, only_b))
    only_a -= {x for x, _ in synonyms}
    only_b -= {y for _, y in synonyms}
    vocabulary = _vocabulary()
    light_a, light_b = (only_a & vocabulary.light) - a.commands, (only_b & vocabulary.light) - b.commands
    if light_a and light_b:  # "create a branch" / "find a branch": light words, but not the same ones
        light_a = light_b = set()
    light_a |= (only_a & vocabulary.answer_nouns) - a.commands
    light_b |= (only_b & vocabulary.answer_nouns) - b.commands
    only_a = {w for w in only_a if w not in light_a and not _implied(w, b)}
    only_b = {w for w in only_b if w not in light_b and not _implied(w, a)}
    return _Unmatched(only_a, only_b, contrast)


def _pairs(forms_a: dict[str, set[str]], forms_b: dict[str, set[str]]) -> tuple[tuple[str, str] | None, set[tuple[str, str]]]:
    """The first contrasting pair of unmatched words (``lexicon.CONTRAST_GROUPS``, a reversing prefix,
    or antonyms in WordNet), and the pairs WordNet calls synonyms (``wordnet.py``).

    A contrasting pair is never a synonym, and neither is a word the curated vocabulary already
    classes (``lexicon.SYNONYMS``): its programming sense is the class ("print" is "show"), and WordNet's
    general senses of such words are what blurs coding questions ("print"/"publish", "fetch"/"get")."""
    from lynkr_cli.cache.wordnet import thesaurus  # read on the first semantic lookup

    words, classed = thesaurus(), _vocabulary().classed
    contrast = None
    synonyms = set()
    for x in sorted(forms_a):
        for y in sorted(forms_b):
            if contrasting(x, y) or any(words.antonymous(u, v) for u in forms_a[x] for v in forms_b[y]):
                contrast = contrast or (x, y)
            elif x not in classed and y not in classed and any(
                    words.synonyms(u, v) for u in forms_a[x] for v in forms_b[y]):
                synonyms.add((x, y))
    return contrast, synonyms


def _implied(word: str, other: Signature) -> bool:
    """A tool or language named on one side only, when the other side names something only it has
    (an identifier such as ``useEffect`` counts too)."""
    named = set(other.words) | {fact[2:].lower() for fact in other.facts if fact.startswith("i:")}
    return bool(_vocabulary().implied_by.get(word, frozenset()) & named)


class _Vocabulary:
    """``lexicon``'s lists in canonical form, built on first use (like :class:`_Patterns`)."""

    def __init__(self) -> None:
        self.light = frozenset(canonical(w) for w in lexicon.LIGHT)
        self.answer_nouns = frozenset(canonical(w) for w in lexicon.ANSWER_NOUNS)
        self.classed = frozenset(_canonical_table().values())  # words with a curated synonym class
        self.doing = frozenset(canonical(w) for w in ("show", "write", "create", "convert", "check"))
        self.implied_by = {canonical(tool): frozenset(canonical(w.lower()) for w in words.split())
                           for tool, words in lexicon.IMPLIED_BY.items()}
        self.contrasts = frozenset(frozenset((canonical(x), canonical(y))) for group in lexicon.CONTRAST_GROUPS
                                   for x in group.split() for y in group.split() if canonical(x) != canonical(y))


@functools.cache
def _vocabulary() -> _Vocabulary:
    return _Vocabulary()


def contrasting(x: str, y: str) -> bool:
    """True when canonical words ``x`` and ``y`` name opposite or sibling actions or qualities: listed
    together in ``lexicon.CONTRAST_GROUPS``, or one is the other with a reversing prefix (un-, de-, dis-)."""
    if frozenset((x, y)) in _vocabulary().contrasts:
        return True
    return any((x == p + y or y == p + x) and min(len(x), len(y)) >= 3 for p in lexicon.REVERSING_PREFIXES)


def _role_conflict(a: Signature, b: Signature) -> tuple[str, str, str] | None:
    """The same preposition with another word after it ("to an int" / "to a string"), or the same word
    after another preposition ("to the server" / "from the server")."""
    after_a = dict(a.roles)
    before_a = {item: preposition for preposition, item in a.roles}
    for preposition, item in b.roles:
        if preposition in after_a and after_a[preposition] != item:
            return preposition, after_a[preposition], item
        if item in before_a and before_a[item] != preposition:
            return item, before_a[item], preposition
    return None


def same_question(a: str, b: str) -> str | None:
    """``None`` when the guard rails let ``a`` and ``b`` share an answer, else the reason they don't."""
    sa, sb = signature(a), signature(b)
    return compare(sa, sb)


def compare(sa: Signature, sb: Signature) -> str | None:
    """:func:`same_question` for signatures computed once (a lookup compares one question with many)."""
    if sa.facts != sb.facts:
        return "identifiers, numbers, paths, flags or quoted strings differ"
    if (sa.negations > 0) != (sb.negations > 0):
        return "one question is negated"
    if sa.lead != sb.lead:
        return "another kind of yes/no question"
    if not sa.words and not sa.facts:
        return "nothing to compare"
    unmatched = _unmatched(sa, sb)
    if unmatched.contrast is not None:
        return f"contrasting words: {unmatched.contrast[0]} / {unmatched.contrast[1]}"
    only_a, only_b = unmatched.only_a, unmatched.only_b
    if only_a and only_b:
        return f"different words: {'/'.join(sorted(only_a))} vs {'/'.join(sorted(only_b))}"
    if only_a or only_b:
        return f"words on one side only: {'/'.join(sorted(only_a or only_b))}"
    if sa.explains != sb.explains and _vocabulary().doing & (set(sa.words) ^ set(sb.words)):
        return "one asks for an explanation, the other for something done"
    if sa.particles != sb.particles:
        return f"direction differs: {'/'.join(sorted(sa.particles ^ sb.particles))}"
    conflict = _role_conflict(sa, sb)
    if conflict is not None:
        return f"direction differs: {conflict[0]}: {conflict[1]} / {conflict[2]}"
    return None
