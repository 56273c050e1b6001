"""Dollar figures: list prices with cache reads and writes, unknown models unpriced."""

from __future__ import annotations

import pytest

from lynkr_cli.ledger.pricing import cost_usd, price_for


def test_anthropic_cost_counts_cache_reads_and_writes():
    # Sonnet: $3/M in, $15/M out, cache write 1.25x, cache read 0.1x.
    cost = cost_usd("claude-sonnet-4-5-20250929", "anthropic", 1_000_000, 100_000, 2_000_000, 400_000)
    assert cost == pytest.approx(3.0 + 1.5 + 0.6 + 1.5)


@pytest.mark.parametrize(
    ("model", "input_price"),
    [("claude-opus-4-8", 5.0), ("claude-opus-4-1-20250805", 15.0), ("anthropic/claude-haiku-4-5", 1.0),
     ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.0), ("gpt-5-mini-2025-08-07", 0.25), ("gpt-5", 1.25)],
)
def test_model_names_from_every_provider_find_their_price(model, input_price):
    price = price_for(model)
    assert price is not None and price.input == input_price


def test_unknown_models_are_unpriced_and_local_ones_free():
    assert cost_usd("some-new-model", "openai", 10, 10) is None
    assert cost_usd("qwen2.5-coder:7b", "ollama", 10_000, 10_000) == 0.0
