"""Upstream providers: one module per family behind ``base.HttpProvider``; ids in ``presets``."""

from lynkr_cli.providers.base import (
    HttpProvider,
    ModelRef,
    ProviderConfig,
    ProviderPreset,
    UpstreamCall,
    get_registry,
    parse_model_ref,
    register,
    resolve_provider,
)

__all__ = [
    "HttpProvider", "ModelRef", "ProviderConfig", "ProviderPreset", "UpstreamCall", "get_registry",
    "parse_model_ref", "register", "resolve_provider",
]
