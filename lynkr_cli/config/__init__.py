"""Reading and writing lynkr's configuration layers (files, profiles, environment, flags).

``lynkr_cli.settings`` holds the typed models; this package finds the layers, merges them with the
source of every value remembered, and writes TOML for ``lynkr init``.
"""
