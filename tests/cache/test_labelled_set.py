"""The labelled set is what the issue asks for, and its split is the one committed before tuning."""

from __future__ import annotations

import json
from collections import Counter

from tests.cache import labelled


def test_the_set_has_enough_of_each_kind_in_several_styles():
    pairs = labelled.load()
    labels = Counter(p.label for p in pairs)
    assert labels["paraphrase"] >= 150 and labels["near_miss"] >= 150
    assert len({(p.stored, p.asked) for p in pairs}) == len(pairs)
    kinds = Counter(p.differs_in for p in pairs if p.label == "near_miss")
    assert set(kinds) == {"action", "object", "identifier", "number", "version", "path", "flag", "quoted",
                          "negation", "direction"}
    styles = {side for p in pairs for side in p.style.split("->")}
    assert {"full", "terse", "non-native"} <= styles
    assert len({p.topic for p in pairs}) >= 10
    assert all(p.source for p in pairs)


def test_the_split_is_the_committed_one():
    split = json.loads(labelled.SPLIT_FILE.read_text())
    assert split["pairs_sha256"] == labelled.pairs_digest(), "pairs.jsonl changed after the split was made"
    recomputed = labelled.make_split(labelled.load(), split["seed"])
    assert (split["tuning"], split["test"]) == (recomputed["tuning"], recomputed["test"])
    assert not set(split["tuning"]) & set(split["test"])
    for name in ("tuning", "test"):
        labels = Counter(p.label for p in labelled.half(name))
        assert labels["paraphrase"] >= 84 and labels["near_miss"] >= 86
