"""The guard rails on their own: what makes two wordings one question, and the reason given when not."""

from __future__ import annotations

import pytest

from lynkr_cli.cache.guard import same_question


@pytest.mark.parametrize(("a", "b"), [
    ("How do I merge two dicts in Python?", "python: combine two dictionaries"),
    ("How do I reverse a string in Python?", "reverse string python"),
    ("What is the difference between TCP and UDP?", "tcp vs udp"),
    ("How do I delete a git branch locally and remotely?", "git remove branch local and remote"),
    ("How do I count the lines in a file on Linux?", "linux file line count"),
    # phrases said in several ways, a noun for the answer, "get" as a way of asking
    ("How do I flatten an array of arrays in JavaScript?", "js flatten nested array"),
    ("How do I turn a list into a string in Python?", "convert list to string python"),
    ("How do I find the return code of a process in Python?", "python process exit status"),
    ("bash command for the current directory", "show the current directory in bash"),
    ("How do I get the number of items in a dict?", "dict length"),
    ("test whether a file exists in bash", "How do I check if a file exists in a shell script?"),
    # WordNet (lynkr_cli/data/synonyms): synonyms in common senses and derived forms, no curated entry
    ("How do I choose a random element from a list in Python?", "python select random element from list"),
    ("How do I allow a port in the firewall?", "How do I permit a port in the firewall?"),
    ("How do I validate the input?", "input validation"),
])
def test_rewordings_are_one_question(a: str, b: str):
    assert same_question(a, b) is None


@pytest.mark.parametrize(("a", "b", "reason"), [
    ("How do I install numpy?", "How do I uninstall numpy?", "contrasting words: install / uninstall"),
    ("git merge feature branch", "git rebase feature branch", "contrasting words: merg / rebas"),
    ("How do I enable a systemd service at boot?", "How do I disable a systemd service at boot?", "contrasting words"),
    ("How do I install numpy", "numpy", "words on one side only: install"),
    ("What does the -e flag of grep do?", "What does the -x flag of grep do?", "identifiers, numbers"),
    ("Why does this test pass?", "Why doesn't this test pass?", "one question is negated"),
    ("Convert a string to an int in Python.", "Convert an int to a string in Python.", "direction differs"),
    ("Copy the file to the server.", "Copy the file from the server.", "direction differs"),
    ("How do I scale up a deployment?", "How do I scale down a deployment?", "direction differs"),
    ("Copy the data from table a to table b.", "Copy the data from table b to table a.", "identifiers, numbers"),
    ("Should I use async here?", "Can I use async here?", "another kind of yes/no question"),
    ("Explain list comprehensions", "Write a list comprehension", "explanation"),
    ("What is a monad?", "What is a functor?", "different words: monad vs functor"),
    # light words (ways of asking, generic verbs) may be left out on one side, never swapped
    ("How do I create a branch?", "How do I find a branch?", "different words"),
    ("How do I implement a linked list?", "How do I use a linked list?", "different words"),
    ("Write a test for the parser", "Check the parser", "different words"),
    ("Show all branches", "Show a specific branch", "different words"),
    # a light word right after a tool is a subcommand
    ("What does git stash do?", "What does git stash show do?", "words on one side only: show"),
    ("docker image ls", "docker image", "words on one side only: ls"),
    ("How do I print a new line in Python?", "How do I print a line in Python?", "words on one side only: new"),
    # a tool named on one side is only implied by words no other tool has
    ("How do I rename a column?", "sql rename column", "words on one side only: sql"),
    ("How do I list running containers?", "docker list running containers", "words on one side only: docker"),
    ("How do I check if a file exists in a script?", "shell check if file exists", "words on one side only: shell"),
    ("How do I save the model?", "How do I load the model?", "contrasting words: writ / get"),
    # "test" is "check" as a verb only ("test if …"), never as a noun
    ("Write a test for the parser", "Check if the parser works", "different words"),
    # a light verb swapped for another stays a different question next to a noun for the answer
    ("git command to create a branch", "How do I find a git branch?", "different words"),
    # WordNet's antonyms veto; its synonyms never join siblings, and never a word the curated vocabulary
    # classes (its programming sense: "print" is "show", not WordNet's "publish")
    ("How do I accept a pull request?", "How do I reject a pull request?", "contrasting words: accept / reject"),
    ("How do I get the first element of a list?", "How do I get the second element of a list?",
     "contrasting words: first / second"),
    ("Why is my loop slow?", "Why is my loop fast?", "contrasting words: slow / fast"),
    ("How do I install Python on Ubuntu?", "How do I install Rust on Ubuntu?", "different words: python vs rust"),
    ("How do I set a timer in JavaScript?", "How do I set a clock in JavaScript?", "different words: timer vs clock"),
    ("How do I print the package version?", "How do I publish the package version?", "publish"),
])
def test_near_misses_are_vetoed_with_the_reason(a: str, b: str, reason: str):
    veto = same_question(a, b)
    assert veto is not None and reason in veto
    assert same_question(b, a) is not None


def test_the_guard_costs_nothing_until_a_semantic_lookup():
    """``lynkr run`` with the cache exact imports the cache service: neither the guard module nor its
    regular expressions (tens of ms of CPU on a loaded VM) may come with it."""
    import subprocess
    import sys

    probe = ("import sys, lynkr_cli.cache.service; print('lynkr_cli.cache.guard' in sys.modules); "
             "from lynkr_cli.cache import guard; print(guard._patterns.cache_info().currsize, guard._vocabulary.cache_info().currsize); "
             "guard.same_question('a b', 'b a'); print(guard._patterns.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:3] == ["False", "0 0", "1"]
