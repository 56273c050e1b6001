"""The ``[prices]`` table of the config: prices for models the catalogue lacks or prices wrongly.

Example ``lynkr.toml``::

    [prices]
    family_fallback = true              # price an uncatalogued model as its family's newest (labelled)

    [prices.models."my-finetune*"]      # a name or a glob, matched case-insensitively
    input = 2.0                         # USD per million uncached input tokens
    output = 8.0
    cache_read = 0.2                    # optional: defaults to the input price (no discount assumed)
    cache_write = 2.5                   # optional: defaults to the input price

Entries here win over the catalogue; reports label them ``[prices] config``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lynkr_cli.ledger.pricing import CONFIG, Price


class ModelPriceConfig(BaseModel):
    """One model's list prices in USD per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, description="Uncached input, USD per million tokens")
    output: float = Field(ge=0, description="Output, USD per million tokens")
    cache_read: float | None = Field(default=None, ge=0, description="Cache reads (default: the input price)")
    cache_write: float | None = Field(default=None, ge=0, description="Cache writes (default: the input price)")

    def price(self, name: str) -> Price:
        read = self.input if self.cache_read is None else self.cache_read
        write = self.input if self.cache_write is None else self.cache_write
        return Price(self.input, self.output, read, write, source=CONFIG, model_id=name)


class PricesConfig(BaseModel):
    """Model prices: the genai-prices catalogue, with these overrides and additions."""

    model_config = ConfigDict(extra="forbid")

    family_fallback: bool = Field(
        default=True, description="Price an uncatalogued model as its family's newest model (labelled as such)")
    models: dict[str, ModelPriceConfig] = Field(
        default_factory=dict, description="Model name or glob -> prices in USD per million tokens")

    def overrides(self) -> dict[str, Price]:
        return {name: entry.price(name) for name, entry in self.models.items()}
