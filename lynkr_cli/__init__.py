"""lynkr: run AI coding agents through a local optimizing proxy and report what it cost."""

__version__ = "0.1.0"
