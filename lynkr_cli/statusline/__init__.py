"""lynkr in Claude Code's status line: the proxy keeps a small state file per session current
(``board.py``), and ``lynkr statusline`` (``command.py``) turns it into one line, fast."""
