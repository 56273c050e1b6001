"""The in-process HTTP proxy the agent talks to."""
