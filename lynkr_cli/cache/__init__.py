"""The response cache: exact (whole request) and semantic (last user question, guarded).

A wrong answer in a coding session is far worse than a miss, so every hit must be justified: the
exact key covers everything that can change the model's answer, and the semantic cache only answers
a plain-text last user turn whose whole context is identical, after guard rails that require
identifiers, numbers, paths, flags, quoted strings and negations to match exactly.

Importing this package is cheap; numpy and model2vec are imported only when the semantic cache
first embeds a prompt.
"""

MODES = ("off", "exact", "semantic")
