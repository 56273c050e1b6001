"""Stage names and the ``--stage NAME=on|off`` switch, importable on the start-up path (no pydantic)."""

from __future__ import annotations

# Every stage and whether it runs by default (README, "Optimization", says why for each); the order
# here is the order of ``--stage`` help and reports, not the order stages run in (``build.py``).
DEFAULTS: dict[str, bool] = {
    "compress": True,
    "prune": False,
    "terminal": True,
    "paths": True,
    "dedup": True,
    "linenums": True,
}
STAGE_NAMES = tuple(DEFAULTS)


def parse_stage_switch(text: str) -> tuple[str, bool]:
    """``NAME=on|off`` (also true/false/1/0) from ``--stage``; a clear error names what is wrong."""
    from lynkr_cli.errors import UsageError

    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or name not in STAGE_NAMES:
        raise UsageError(f"--stage expects NAME=on|off with NAME one of {', '.join(STAGE_NAMES)}, not {text!r}")
    switch = value.strip().lower()
    if switch in ("on", "true", "1", "yes"):
        return name, True
    if switch in ("off", "false", "0", "no"):
        return name, False
    raise UsageError(f"--stage {name}= expects on or off, not {value!r}")
