"""``python -m lynkr_cli.statusline``: the command ``lynkr run claude`` installs as Claude Code's
``statusLine`` (the interpreter lynkr runs under, so it works without ``lynkr`` on PATH)."""

import sys

from lynkr_cli.statusline.command import main

sys.exit(main(sys.argv[1:]))
