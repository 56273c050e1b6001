"""What a request cost, from a maintained price catalogue, and which source said so.

Prices come from ``genai-prices`` (pydantic's catalogue, pinned in pyproject; its data ships inside the
package, so pricing never touches the network). It knows each model's tiered prices (e.g. a higher
rate past 200k input tokens), its cache read and write prices (Claude Opus 5.5 reads the cache at
0.05x input, not the 0.1x a hand-written rule assumed) and dated price changes. A hand-written table
fell behind: the newest Claude model was billed as $0 until someone edited it.

Resolution of ``(model, provider)``, first match wins:

1. a local provider (Ollama, llama.cpp, LM Studio): free, labelled ``local``;
2. the ``[prices.models]`` table of the config (exact names or globs): labelled ``[prices] config``;
3. the catalogue, by the provider's id, then by the model name alone, then without a vendor prefix
   (``anthropic/claude-…``, ``us.anthropic.claude-…``);
4. the same family's newest catalogued model (``claude-opus-6`` -> ``claude-opus-5-5``), labelled
   ``family fallback`` everywhere it is shown; ``[prices] family_fallback = false`` turns it off.

Anything else is unpriced (``None``): counted apart in every report, never shown as $0.

Token counts follow the ledger's Anthropic convention: ``input`` is uncached input, cache reads and
writes are separate. The catalogue counts cache tokens inside the input, so they are added back
before pricing (which also picks the right tier from the whole prompt's size).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, Provider

CATALOGUE = "genai-prices"
CATALOGUE_VERSION = "0.2.3"  # pinned in pyproject.toml; a test checks the installed one matches
CATALOGUE_RELEASED = "2026-11"  # when that version (and its price data) was published on PyPI
PRICES_AS_OF = CATALOGUE_RELEASED
PRICE_SOURCE = f"{CATALOGUE} {CATALOGUE_VERSION} (released {CATALOGUE_RELEASED})"

LOCAL = "local"
CONFIG = "[prices] config"
FAMILY = "family fallback"

_FREE_PROVIDERS = {"ollama", "llamacpp", "lmstudio"}
_VENDOR_PREFIX = re.compile(r"^(?:[a-z0-9_.-]+/)+")  # "anthropic/claude-..." (OpenRouter), "openai/gpt-..."
_REGION_PREFIX = re.compile(r"^(?:[a-z]{2,4}\.)?(?=anthropic\.|meta\.|amazon\.|mistral\.)")  # "us.anthropic..."
_BEDROCK_PREFIX = re.compile(r"^(?:[a-z]{2,4}\.)?anthropic\.")
_VERSION_TAIL = re.compile(r"(?:[-@:.](?:v?\d+(?:[.:]\d+)*|latest))+$")  # "-5-5", "-20250929", "-v1:0"


@dataclass(frozen=True)
class Price:
    """USD per million tokens at the base tier, and where the figures come from.

    ``source`` is one of ``local``, ``[prices] config``, ``genai-prices`` and ``family fallback``;
    ``model_id`` is the catalogue's (or the config's) name for what priced the request.
    """

    input: float
    output: float
    cache_read: float
    cache_write: float
    source: str = CATALOGUE
    model_id: str = ""
    tiered: bool = False  # the rate changes with the prompt's size (the cost uses the right tier)

    @property
    def label(self) -> str:
        """How a report names the source: ``genai-prices 0.2.3 (released 2026-11)``, ``family
        fallback: as claude-opus-5-5 (genai-prices …)``, ``[prices] config``, ``local (free)``."""
        if self.source == LOCAL:
            return "local (free)"
        if self.source == CONFIG:
            return CONFIG
        if self.source == FAMILY:
            return f"{FAMILY}: as {self.model_id} ({PRICE_SOURCE})"
        return PRICE_SOURCE

    def as_dict(self) -> dict[str, Any]:
        """The compact form stored with each ledger row (``details["price"]``): a report prices the
        savings at the rates that priced the request, and says where they came from."""
        out: dict[str, Any] = {"source": self.source, "model": self.model_id, "in": self.input,
                               "out": self.output, "cr": self.cache_read, "cw": self.cache_write}
        if self.source in (CATALOGUE, FAMILY):
            out["version"] = CATALOGUE_VERSION
        if self.tiered:
            out["tiered"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Price":
        return cls(float(data.get("in") or 0), float(data.get("out") or 0), float(data.get("cr") or 0),
                   float(data.get("cw") or 0), str(data.get("source") or CATALOGUE), str(data.get("model") or ""),
                   bool(data.get("tiered")))


@dataclass(frozen=True)
class Priced:
    """One request's cost and the price that gave it (``cost`` None: the usage was unknown)."""

    cost: float | None
    price: Price


FREE = Price(0.0, 0.0, 0.0, 0.0, source=LOCAL)


@dataclass
class PriceBook:
    """Prices for one process: the catalogue plus the config's ``[prices]`` table.

    Lookups are memoised per ``(model, provider)``: the catalogue's matching runs once per model.
    """

    overrides: Mapping[str, Price] = field(default_factory=dict)
    family_fallback: bool = True
    _found: dict[tuple[str, str, str], tuple[Price, CatalogueRates | None] | None] = field(
        default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, config: Any) -> "PriceBook":
        """From ``settings.prices`` (``ledger/price_config.py``)."""
        return cls(config.overrides(), family_fallback=config.family_fallback)

    def warm(self) -> None:
        """Load the catalogue now (~0.2 s of imports), so the first priced request does not wait."""
        _catalogue()

    def price(self, model: str | None, provider: str | None = None) -> Price | None:
        """The price of ``model`` on ``provider`` at its base tier; ``None`` when nobody knows it."""
        found = self._lookup(model, provider)
        return found[0] if found else None

    def priced(self, model: str | None, provider: str | None, input_tokens: int | None, output_tokens: int | None,
               cache_read_tokens: int | None = 0, cache_write_tokens: int | None = 0,
               when: datetime | None = None) -> Priced | None:
        """The cost of one request's usage (tiers, cache reads and writes, dated prices included);
        ``None`` when the model is unpriced."""
        found = self._lookup(model, provider)
        if found is None:
            return None
        price, rates = found
        if input_tokens is None and output_tokens is None:
            return Priced(None, price)
        uncached, out = input_tokens or 0, output_tokens or 0
        reads, writes = cache_read_tokens or 0, cache_write_tokens or 0
        if rates is None:  # local or the config: flat rates
            cost = (uncached * price.input + out * price.output + reads * price.cache_read
                    + writes * price.cache_write) / 1_000_000
            return Priced(cost, price)
        return Priced(rates.cost(uncached, out, reads, writes), price)

    def cost(self, model: str | None, provider: str | None, input_tokens: int | None, output_tokens: int | None,
             cache_read_tokens: int | None = 0, cache_write_tokens: int | None = 0) -> float | None:
        priced = self.priced(model, provider, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
        return priced.cost if priced is not None else None

    def _lookup(self, model: str | None, provider: str | None) -> tuple[Price, CatalogueRates | None] | None:
        if provider in _FREE_PROVIDERS:
            return FREE, None
        if not model:
            return None
        key = (model, provider or "", _today())  # the day too: the catalogue has dated price changes
        found = self._found.get(key, _MISSING)
        if found is _MISSING:
            found = self._found[key] = self._resolve(model.lower(), provider)
        return found  # type: ignore[return-value]

    def _resolve(self, model: str, provider: str | None) -> tuple[Price, CatalogueRates | None] | None:
        for name in _names(model):
            for pattern, price in self.overrides.items():
                if name == pattern.lower() or fnmatch.fnmatchcase(name, pattern.lower()):
                    return replace(price, source=CONFIG, model_id=pattern), None
        for name in _names(model):
            found = _find(name, provider)
            if found is not None:
                return CatalogueRates.of(found[1], CATALOGUE)
        if self.family_fallback:
            found = _family(model, provider)
            if found is not None:
                return CatalogueRates.of(found[1], FAMILY)
        return None


_MISSING = object()


@dataclass(frozen=True)
class CatalogueRates:
    """A catalogued model's prices today, tiers kept: the catalogue's ``TieredPrices`` apply one
    rate to all tokens once the whole prompt (uncached + cache reads + writes) passes a tier's start.
    Computed here from the catalogue's figures (the library's own ``calc_price`` validates every call
    and took ~250 µs a request on the proxy's path); ``tests/ledger/test_pricing.py`` checks the two
    agree, tiers included."""

    input: Any
    output: Any
    cache_read: Any
    cache_write: Any
    _tables: "tuple[Table, ...]" = field(init=False, repr=False, compare=False)

    @classmethod
    def of(cls, info: ModelInfo, source: str) -> tuple[Price, "CatalogueRates"]:
        prices = info.get_prices(_now())
        values = {name: getattr(prices, f"{name}_mtok", None)
                  for name in ("input", "output", "cache_read", "cache_write")}
        values["cache_read"] = values["cache_read"] if values["cache_read"] is not None else values["input"]
        values["cache_write"] = values["cache_write"] if values["cache_write"] is not None else values["input"]
        rates = cls(**values)
        tiered = any(_is_tiered(v) for v in values.values())
        price = Price(_base(values["input"]), _base(values["output"]), _base(values["cache_read"]),
                      _base(values["cache_write"]), source=source, model_id=info.id, tiered=tiered)
        return price, rates

    def __post_init__(self) -> None:
        # Each rate as floats once (base, tiers from the highest start down): ``cost`` runs for every
        # request the proxy answers and twice per request ``lynkr replay`` bills.
        object.__setattr__(self, "_tables", tuple(_table(v) for v in (self.input, self.output, self.cache_read,
                                                                     self.cache_write)))

    def cost(self, uncached: int, out: int, reads: int, writes: int) -> float:
        prompt = uncached + reads + writes
        rate_in, rate_out, rate_read, rate_write = self._tables
        return (uncached * _rate_at(rate_in, prompt) + out * _rate_at(rate_out, prompt)
                + reads * _rate_at(rate_read, prompt) + writes * _rate_at(rate_write, prompt)) / 1_000_000


def _names(model: str) -> list[str]:
    """The model's name as sent, then without a vendor or region prefix."""
    names = [model]
    for pattern in (_VENDOR_PREFIX, _REGION_PREFIX, _BEDROCK_PREFIX):
        stripped = pattern.sub("", names[-1])
        if stripped and stripped not in names:
            names.append(stripped)
    return names


def _catalogue() -> Any:
    from genai_prices import data_snapshot

    return data_snapshot.get_snapshot()


def _find(name: str, provider: str | None) -> tuple[Provider, ModelInfo] | None:
    snapshot = _catalogue()
    for provider_id in ([provider, None] if provider else [None]):
        try:
            return snapshot.find_provider_model(name, None, provider_id, None)
        except LookupError:
            continue
    return None


def _family(model: str, provider: str | None) -> tuple[Provider, ModelInfo] | None:
    """The newest catalogued model of ``model``'s family: its name without the version tail, then the
    catalogued model ids that start with it, newest version first."""
    name = _names(model)[-1]
    family = _VERSION_TAIL.sub("", name)
    if not family or family == name or len(family) < 4:
        return None
    snapshot = _catalogue()
    candidates = []
    for catalogue_provider in snapshot.providers:
        for info in catalogue_provider.models:
            if info.id.startswith(family + "-") and not info.deprecated:
                candidates.append((catalogue_provider, info))
    if provider:
        own = [c for c in candidates if c[0].id == provider or c[0].id.startswith(provider)]
        candidates = own or candidates
    if not candidates:
        return None
    return max(candidates, key=lambda c: _version_key(c[1].id[len(family):]))


def _version_key(tail: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", tail) if len(part) < 8)  # dates are not versions


def _is_tiered(value: Any) -> bool:
    from genai_prices.types import TieredPrices

    return isinstance(value, TieredPrices)


def _base(value: Any) -> float:
    if value is None:
        return 0.0
    return float(value.base) if _is_tiered(value) else float(value)


Table = tuple[float, tuple[tuple[int, float], ...]]  # base rate, (tier start, rate) from the highest start


def _table(value: Any) -> Table:
    if value is None:
        return 0.0, ()
    if not _is_tiered(value):
        return float(value), ()
    return float(value.base), tuple((tier.start, float(tier.price)) for tier in reversed(value.tiers))


def _rate_at(table: Table, prompt_tokens: int) -> float:
    """The rate for a prompt of ``prompt_tokens``: the highest tier whose start it passes."""
    base, tiers = table
    for start, price in tiers:
        if prompt_tokens > start:
            return price
    return base


def _today() -> str:
    import time

    return time.strftime("%Y-%m-%d", time.gmtime())


def _now() -> datetime:
    return datetime.now(tz=timezone.utc)


DEFAULT_BOOK = PriceBook()


def price_for(model: str | None, provider: str | None = None) -> Price | None:
    """The base-tier price of ``model`` from the catalogue (no config); ``None`` when unknown."""
    return DEFAULT_BOOK.price(model, provider)


def cost_usd(
    model: str | None,
    provider: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_tokens: int | None = 0,
    cache_write_tokens: int | None = 0,
) -> float | None:
    """Dollar cost of one request's usage, cache reads and writes included; ``None`` if unpriced."""
    return DEFAULT_BOOK.cost(model, provider, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
