"""A labelled set of question pairs for the semantic cache, written for this project.

``PARAPHRASES``: the same question asked differently; a hit is welcome (recall is measured).
``NEAR_MISSES``: questions that read alike but differ in one identifier, number, path, flag, quoted
string, negation or direction; a hit would be a wrong answer, so every one must miss.
"""

from __future__ import annotations

PARAPHRASES: list[tuple[str, str]] = [
    ("How do I reverse a list in Python?", "how can I reverse a list in python"),
    ("How do I reverse a list in Python?", "What's the best way to reverse lists in Python?"),
    ("Explain what a Python decorator is.", "Can you explain what a python decorator is?"),
    ("What does git rebase --onto do?", "what does `git rebase --onto` do"),
    ("What is the difference between TCP and UDP?", "Whats the difference between TCP and UDP"),
    ("How do I read a JSON file in Node?", "How can I read JSON files in Node?"),
    ("Why is my Docker build slow?", "why is my docker build so slow?"),
    ("Write a function that checks if a number is prime.", "Please write a function that checks if a number is prime"),
    ("How do I undo the last commit in git?", "How can I undo the last git commit?"),
    ("What is a race condition?", "Could you explain what a race condition is?"),
    ("How do I create a virtual environment?", "how do i create a virtual environment"),
    ("Summarize what this project does.", "Please summarize what this project does"),
    ("How do I sort a dictionary by value in Python?", "How to sort a dictionary by value in python?"),
    ("What does the -r flag of cp do?", "what does the -r flag of cp do"),
    ("How do I center a div with CSS?", "How can I center a div with css"),
    ("What is dependency injection?", "Explain dependency injection, please."),
    ("How do I kill the process listening on port 8080?", "how can I kill the process listening on port 8080"),
    ("What is the time complexity of quicksort?", "What's the time complexity of quicksort?"),
    ("How do I rename a branch in git?", "how do you rename a git branch?"),
    ("Explain closures in JavaScript.", "Can you explain closures in JavaScript?"),
    ("How do I parse command line arguments in Python?", "how to parse command-line arguments in python"),
    ("What is the purpose of __init__.py?", "what's the purpose of __init__.py"),
]

NEAR_MISSES: list[tuple[str, str]] = [
    # one identifier or acronym
    ("What is the difference between TCP and UDP?", "What is the difference between HTTP and FTP?"),
    ("How do I reverse a list in Python?", "How do I reverse a list in Rust?"),
    ("How do I read a JSON file in Node?", "How do I read a YAML file in Node?"),
    ("What does os.path.join do?", "What does os.path.split do?"),
    ("Why does useEffect run twice?", "Why does useMemo run twice?"),
    ("How do I install numpy?", "How do I install pandas?"),
    ("Explain the Python GIL.", "Explain the Ruby GIL."),
    ("Rename the function parse_args to parse_argv.", "Rename the function parse_args to parse_opts."),
    # one number or version
    ("How do I kill the process listening on port 8080?", "How do I kill the process listening on port 8081?"),
    ("Set the timeout to 30 seconds.", "Set the timeout to 60 seconds."),
    ("What changed in Python 3.12?", "What changed in Python 3.13?"),
    ("Show the last 5 commits.", "Show the last 50 commits."),
    # one path or file
    ("What does src/cache/store.py do?", "What does src/cache/key.py do?"),
    ("Fix the failing test in tests/test_api.py", "Fix the failing test in tests/test_cli.py"),
    ("Open README.md and summarize it.", "Open CHANGELOG.md and summarize it."),
    # one flag
    ("What does the -e flag of grep do?", "What does the -x flag of grep do?"),
    ("Run pytest with -x", "Run pytest with -q"),
    ("What does git push --force do?", "What does git push --force-with-lease do?"),
    ("What does the -r flag of cp do?", "What does the -R flag of cp do?"),
    # one quoted string
    ('Search the code for "retry_after"', 'Search the code for "retry_before"'),
    ("Replace 'foo' with 'bar' everywhere.", "Replace 'foo' with 'baz' everywhere."),
    # negation
    ("Why does this test pass?", "Why doesn't this test pass?"),
    ("Should I use async here?", "Should I not use async here?"),
    ("List the files that are tracked by git.", "List the files that are not tracked by git."),
    ("Is this function thread safe?", "Is this function never thread safe?"),
    # direction, order and one plain word
    ("Convert a string to an int in Python.", "Convert an int to a string in Python."),
    ("Copy the file from the server to my laptop.", "Copy the file from my laptop to the server."),
    ("How do I sort a list in Python?", "How do I reverse a list in Python?"),
    ("How do I enable logging?", "How do I disable logging?"),
    ("Add a column to the users table.", "Drop a column from the users table."),
    ("What is the difference between a list and a tuple?", "What is the difference between a list and a set?"),
    ("Make the button bigger.", "Make the button smaller."),
    ("Write a unit test for the parser.", "Write an integration test for the parser."),
    ("Increase the log level.", "Decrease the log level."),
    ("Merge main into my branch.", "Merge my branch into main."),
    ("Explain closures in JavaScript.", "Explain promises in JavaScript."),
    ("How many lines does this file have?", "How many functions does this file have?"),
    ("Why is the first request slow?", "Why is the second request slow?"),
]

NEAR_MISSES += [
    # the same words and facts in another order, or another way of asking
    ("Rename parse_args to parse_opts.", "Rename parse_opts to parse_args."),
    ("Does parse_config call load_file?", "Does load_file call parse_config?"),
    ("Copy the file to the server.", "Copy the file from the server."),
    ("Should I use async here?", "Can I use async here?"),
    ("When should I use a mutex?", "Why should I use a mutex?"),
    ("How do I use numpy?", "How do I get numpy?"),
    ("Explain the parse function.", "Show the parse function."),
    ("Run only the unit tests.", "Run the unit tests."),
    ("Turn logging on.", "Turn logging off."),
    ("Write a simple parser for INI files.", "Write a parser for INI files."),
]
