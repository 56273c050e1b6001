"""A dated table of list prices, so every dollar figure lynkr prints can be traced and checked.

Prices are USD per million tokens. Token counts follow the Anthropic convention used throughout the
ledger: ``input`` is uncached input; cache reads and cache writes are counted separately and priced
separately (Anthropic: writes 1.25x input for the 5-minute cache, reads 0.1x; OpenAI: cached input at
its own rate, no write premium). A model missing from the table has an unknown cost (``None``), never a
guessed one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PRICES_AS_OF = "2026-11-01"
PRICE_SOURCE = "public list prices of Anthropic, OpenAI and DeepSeek (standard tier, no batch discount)"


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_read: float
    cache_write: float


def _anthropic(input_price: float, output_price: float) -> Price:
    return Price(input_price, output_price, round(input_price * 0.1, 6), round(input_price * 1.25, 6))


def _openai(input_price: float, output_price: float, cached: float) -> Price:
    return Price(input_price, output_price, cached, input_price)


# Longest matching prefix wins, so "claude-opus-4-5" beats "claude-opus-4".
PRICES: dict[str, Price] = {
    "claude-opus-4-5": _anthropic(5.0, 25.0),
    "claude-opus-4-6": _anthropic(5.0, 25.0),
    "claude-opus-4-7": _anthropic(5.0, 25.0),
    "claude-opus-4-8": _anthropic(5.0, 25.0),
    "claude-opus-4-9": _anthropic(5.0, 25.0),
    "claude-opus-4": _anthropic(15.0, 75.0),
    "claude-3-opus": _anthropic(15.0, 75.0),
    "claude-sonnet-4": _anthropic(3.0, 15.0),
    "claude-3-7-sonnet": _anthropic(3.0, 15.0),
    "claude-3-5-sonnet": _anthropic(3.0, 15.0),
    "claude-haiku-4": _anthropic(1.0, 5.0),
    "claude-3-5-haiku": _anthropic(0.8, 4.0),
    "claude-3-haiku": _anthropic(0.25, 1.25),
    "gpt-5-nano": _openai(0.05, 0.40, 0.005),
    "gpt-5-mini": _openai(0.25, 2.00, 0.025),
    "gpt-5": _openai(1.25, 10.00, 0.125),
    "gpt-4.1-nano": _openai(0.10, 0.40, 0.025),
    "gpt-4.1-mini": _openai(0.40, 1.60, 0.10),
    "gpt-4.1": _openai(2.00, 8.00, 0.50),
    "gpt-4o-mini": _openai(0.15, 0.60, 0.075),
    "gpt-4o": _openai(2.50, 10.00, 1.25),
    "o4-mini": _openai(1.10, 4.40, 0.275),
    "o3-mini": _openai(1.10, 4.40, 0.55),
    "o3": _openai(2.00, 8.00, 0.50),
    "deepseek-chat": _openai(0.28, 0.42, 0.028),
    "deepseek-reasoner": _openai(0.28, 0.42, 0.028),
}

_FREE_PROVIDERS = {"ollama", "llamacpp", "lmstudio"}
_VENDOR_PREFIX = re.compile(r"^(?:[a-z0-9_.-]+/)+")  # "anthropic/claude-..." (OpenRouter), "openai/gpt-..."
_BEDROCK_PREFIX = re.compile(r"^(?:[a-z]{2,4}\.)?anthropic\.")  # "us.anthropic.claude-...-v1:0"


def price_for(model: str | None, provider: str | None = None) -> Price | None:
    """The list price of ``model``; zero for local providers; ``None`` when unknown."""
    if provider in _FREE_PROVIDERS:
        return Price(0.0, 0.0, 0.0, 0.0)
    if not model:
        return None
    name = _BEDROCK_PREFIX.sub("", _VENDOR_PREFIX.sub("", model.lower()))
    best = None
    for prefix, price in PRICES.items():
        if name.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, price)
    return best[1] if best else None


def cost_usd(
    model: str | None,
    provider: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_tokens: int | None = 0,
    cache_write_tokens: int | None = 0,
) -> float | None:
    """Dollar cost of one request's usage, cache reads and writes included; ``None`` if unpriced."""
    price = price_for(model, provider)
    if price is None or (input_tokens is None and output_tokens is None):
        return None
    total = (
        (input_tokens or 0) * price.input
        + (output_tokens or 0) * price.output
        + (cache_read_tokens or 0) * price.cache_read
        + (cache_write_tokens or 0) * price.cache_write
    )
    return total / 1_000_000
