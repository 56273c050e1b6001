"""The shipped WordNet table (lynkr_cli/data/synonyms) is exactly what scripts/build-synonyms produces,
carries WordNet's licence, and is read only by a semantic lookup."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lynkr_cli.cache.wordnet import TABLE, Thesaurus, thesaurus
from tests.cache.provenance import actual_digests, recorded_digests
from tests.conftest import REPO_ROOT

DATA = TABLE.parent
WORDNET = Path("/usr/share/wordnet")


def test_committed_files_match_their_provenance():
    digests = recorded_digests(DATA)
    assert set(digests) == {"LICENSE", "wordnet.txt"}
    assert actual_digests(DATA, digests) == digests
    assert "WordNet 3.0 Copyright 2006 by Princeton University" in (DATA / "LICENSE").read_text()
    assert "wordnet-base 1:3.0" in (DATA / "PROVENANCE").read_text()
    assert TABLE.stat().st_size < 1_000_000


@pytest.mark.skipif(not os.environ.get("LYNKR_TEST_SYNONYMS") or not (WORDNET / "cntlist.rev").exists(),
                    reason="needs Debian's wordnet-base (apt-get install wordnet-base): set LYNKR_TEST_SYNONYMS=1")
def test_building_again_gives_byte_identical_files(tmp_path: Path):
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "build-synonyms"), str(tmp_path)], check=True, timeout=600)
    for name in ("wordnet.txt", "LICENSE", "PROVENANCE"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_the_table_knows_common_synonyms_derived_forms_and_antonyms():
    words = thesaurus()
    assert words.synonyms("choose", "select") and words.synonyms("chose", "selected")  # irregular and regular forms
    assert words.synonyms("differ", "differences")  # derived forms, another part of speech
    assert words.antonymous("push", "pull") and words.antonymous("first", "second")
    assert not words.synonyms("install", "uninstall") and not words.synonyms("python", "rust")
    assert not words.synonyms("time", "clock")  # "clock" as a verb is too rare a sense of "time" to count
    assert not words.synonyms("server", "serve")  # an adjective's "-er" is not taken off a noun


def test_endings_are_taken_off_only_where_they_belong():
    words = Thesaurus("v choose select\nn header heading\n~ v chose choose\n")
    assert words.bases("chose") == {("v", "choose")}
    assert words.bases("choosing") == {("v", "choose")}
    assert words.bases("headers") == {("n", "header")}
    assert words.bases("head") == frozenset()
    assert Thesaurus("").synonyms("choose", "select") is False  # no table: the guard only gets stricter


def test_the_table_is_read_by_a_semantic_lookup_only():
    probe = ("import sys, lynkr_cli.cache.service; from lynkr_cli.cache import guard; "
             "print('lynkr_cli.cache.wordnet' in sys.modules); guard.same_question('choose a file', 'select a file'); "
             "print('lynkr_cli.cache.wordnet' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]
