"""``lynkr replay``: what lynkr would have saved on the user's own past agent sessions.

A transcript (Claude Code's ``~/.claude/projects/**/*.jsonl``, Codex's ``~/.codex/sessions/**/*.jsonl``)
is read back into the sequence of requests the agent sent (``claude``, ``codex``), each request is run
through the very pipeline and per-session state the proxy builds (``engine``), and both the request
as the agent sent it and as lynkr would have forwarded it are billed with prompt-cache pricing
(``bill``). Nothing is sent anywhere: replay is offline.
"""
