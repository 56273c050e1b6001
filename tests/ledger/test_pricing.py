"""Dollar figures from the genai-prices catalogue: the newest models, tiers, cache prices, the
``[prices]`` table, a labelled family fallback, and unknown models unpriced (never $0)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest
from genai_prices import Usage, calc_price

from lynkr_cli.ledger.price_config import PricesConfig
from lynkr_cli.ledger.pricing import CATALOGUE_VERSION, PriceBook, cost_usd, price_for


def test_the_installed_catalogue_is_the_pinned_one():
    assert version("genai-prices") == CATALOGUE_VERSION
    pyproject = (__import__("pathlib").Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert f'"genai-prices=={CATALOGUE_VERSION}"' in pyproject


def test_the_newest_claude_model_is_priced():
    # Claude Code 2.1.332 asks for claude-opus-5-5: $4/M in, $20/M out, cache reads 0.05x, writes 1.25x.
    price = price_for("claude-opus-5-5", "anthropic")
    assert price is not None and price.source == "genai-prices" and price.model_id == "claude-opus-5-5"
    assert (price.input, price.output, price.cache_read, price.cache_write) == (4.0, 20.0, 0.2, 5.0)
    cost = cost_usd("claude-opus-5-5", "anthropic", 1_000, 2_000, 100_000, 10_000)
    assert cost == pytest.approx((1_000 * 4 + 2_000 * 20 + 100_000 * 0.2 + 10_000 * 5) / 1e6)


def test_anthropic_cost_counts_cache_reads_and_writes():
    # Sonnet 4.5 under 200k tokens of prompt: $3/M in, $15/M out, cache write 1.25x, cache read 0.1x.
    cost = cost_usd("claude-sonnet-4-5-20250929", "anthropic", 10_000, 1_000, 100_000, 20_000)
    assert cost == pytest.approx((10_000 * 3 + 1_000 * 15 + 100_000 * 0.3 + 20_000 * 3.75) / 1e6)


@pytest.mark.parametrize(("model", "provider", "usage"), [
    ("claude-sonnet-4-5", "anthropic", (1_000, 300, 250_000, 5_000)),  # past the 200k tier: every token dearer
    ("claude-sonnet-4-5", "anthropic", (1_000, 300, 150_000, 5_000)),
    ("claude-opus-5-5", "anthropic", (3_000, 900, 80_000, 2_000)),
    ("gpt-5", "openai", (4_000, 700, 60_000, 0)),
    ("gemini-2.5-pro", "google", (10_000, 700, 250_000, 0)),
])
def test_costs_agree_with_the_catalogues_own_calculation(model, provider, usage):
    uncached, out, reads, writes = usage
    expected = calc_price(Usage(input_tokens=uncached + reads + writes, output_tokens=out, cache_read_tokens=reads,
                                cache_write_tokens=writes), model, provider_id=provider).total_price
    assert cost_usd(model, provider, uncached, out, reads, writes) == pytest.approx(float(expected))


def test_a_tiered_model_costs_more_per_token_past_its_tier():
    small = cost_usd("claude-sonnet-4-5", "anthropic", 0, 0, 150_000, 0)
    large = cost_usd("claude-sonnet-4-5", "anthropic", 0, 0, 250_000, 0)
    assert price_for("claude-sonnet-4-5", "anthropic").tiered
    assert large / 250_000 > small / 150_000


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
    assert price_for("some-new-model", "openai") is None
    assert cost_usd("qwen2.5-coder:7b", "ollama", 10_000, 10_000) == 0.0
    assert price_for("qwen2.5-coder:7b", "ollama").label == "local (free)"


def test_a_new_model_of_a_known_family_is_priced_as_its_newest_and_labelled():
    price = price_for("claude-opus-7", "anthropic")
    assert price is not None and price.source == "family fallback" and price.model_id == "claude-opus-5-5"
    assert price.label.startswith("family fallback: as claude-opus-5-5 (genai-prices ")
    assert PriceBook(family_fallback=False).price("claude-opus-7", "anthropic") is None


def test_the_prices_table_overrides_and_adds_models():
    config = PricesConfig.model_validate({"models": {
        "my-finetune*": {"input": 2.0, "output": 8.0},
        "claude-opus-5-5": {"input": 1.0, "output": 2.0, "cache_read": 0.1, "cache_write": 1.5},
    }})
    book = PriceBook.from_config(config)
    mine = book.price("My-Finetune-v2", "openai")
    assert mine is not None and mine.label == "[prices] config" and mine.model_id == "my-finetune*"
    assert (mine.cache_read, mine.cache_write) == (2.0, 2.0)  # no discount assumed
    assert book.cost("my-finetune-v2", "openai", 1_000_000, 1_000_000) == pytest.approx(10.0)
    assert book.cost("claude-opus-5-5", "anthropic", 1_000_000, 0, 1_000_000, 1_000_000) == pytest.approx(2.6)


def test_pricing_needs_no_network():
    code = ("import socket\n"
            "def refuse(*a, **k): raise OSError('no network in this test')\n"
            "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
            "from lynkr_cli.ledger.pricing import PriceBook\n"
            "print(PriceBook().cost('claude-opus-5-5', 'anthropic', 1000000, 0))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(4.0)
