"""Deterministic raw data for the `retail` dbt project: six current-state tables at any scale.

The tables mirror what a replication tool lands in a raw schema: `stores`, `products`, `customers`,
`orders`, `order_lines` and `payments`, each with an `updated_at` (last change in the source system)
and a `_loaded_at` (when the replica received the row). Everything is drawn from one seeded numpy
`Generator` per chunk of orders, with vectorised numpy/pandas operations only, so the same
`(orders, seed)` always yields identical frames and 10 million orders stay within a few hundred MB
per chunk.

A second batch is made by `apply_anomalies`, which returns the full tables again with in-place update
semantics: late updates to existing orders (status and amount changes), late-arriving orders with old
order dates, and customers who changed segment and city.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from quality.engines.base import Engine

RAW_TABLES: tuple[str, ...] = ("stores", "products", "customers", "orders", "order_lines", "payments")
CHUNK_ORDERS = 500_000

CUSTOMERS_FROM = np.datetime64("2023-01-01T00:00:00", "s")
CUSTOMERS_UNTIL = np.datetime64("2025-09-30T00:00:00", "s")
ORDERS_FROM = np.datetime64("2024-01-01T00:00:00", "s")
ORDERS_UNTIL = np.datetime64("2025-12-31T00:00:00", "s")
BATCH_ONE_LOADED_AT = np.datetime64("2026-01-01T06:00:00", "s")
DEFAULT_BATCH_TWO_AT = np.datetime64("2026-01-15T06:00:00", "s")

CITIES: tuple[tuple[str, str], ...] = (
    ("Amsterdam", "NL"),
    ("Rotterdam", "NL"),
    ("Berlin", "DE"),
    ("Hamburg", "DE"),
    ("Munich", "DE"),
    ("Paris", "FR"),
    ("Lyon", "FR"),
    ("Madrid", "ES"),
    ("Barcelona", "ES"),
    ("Milan", "IT"),
    ("Rome", "IT"),
    ("Vienna", "AT"),
    ("Brussels", "BE"),
    ("Copenhagen", "DK"),
    ("Stockholm", "SE"),
    ("Dublin", "IE"),
)
SEGMENTS: tuple[str, ...] = ("consumer", "small_business", "corporate")
SEGMENT_WEIGHTS = (0.75, 0.18, 0.07)
STORE_TYPES: tuple[str, ...] = ("flagship", "mall", "outlet", "online")
STORE_TYPE_WEIGHTS = (0.1, 0.5, 0.3, 0.1)
CATEGORIES: tuple[str, ...] = ("apparel", "footwear", "home", "kitchen", "toys", "beauty", "sports", "books")
ORDER_STATUSES: tuple[str, ...] = ("placed", "shipped", "delivered", "returned", "cancelled")
ORDER_STATUS_WEIGHTS = (0.05, 0.08, 0.72, 0.07, 0.08)
# A late update moves an order one step on in its life; returned and cancelled orders stay as they are.
NEXT_STATUS: dict[str, str] = {
    "placed": "shipped",
    "shipped": "delivered",
    "delivered": "returned",
    "returned": "returned",
    "cancelled": "cancelled",
}
# Codes must match dbt/seeds/payment_methods.csv.
PAYMENT_METHODS: tuple[str, ...] = ("visa", "mastercard", "amex", "paypal", "gift_card", "cash")
PAYMENT_METHOD_WEIGHTS = (0.38, 0.27, 0.06, 0.2, 0.04, 0.05)
SHIPPING_CENTS = np.array([0, 499, 999], dtype=np.int64)
SHIPPING_WEIGHTS = (0.5, 0.35, 0.15)
DISCOUNT_PERCENTS = np.array([0, 5, 10, 20], dtype=np.int64)
DISCOUNT_WEIGHTS = (0.7, 0.15, 0.1, 0.05)
FIRST_NAMES = np.array(
    ["Anna", "Ben", "Chloe", "David", "Emma", "Finn", "Greta", "Hugo", "Ines", "Jonas", "Karin", "Liam"]
)
LAST_NAMES = np.array(["Jansen", "Schmidt", "Martin", "Garcia", "Rossi", "Novak", "Berg", "Murphy", "Dubois", "Weber"])

WriteChunk = Callable[[str, pd.DataFrame], None]


@dataclass(frozen=True)
class RawScale:
    """How many rows of each dimension a given number of orders comes with."""

    orders: int
    customers: int
    stores: int
    products: int

    @classmethod
    def for_orders(cls, orders: int) -> RawScale:
        if orders < 1:
            raise ValueError(f"orders must be at least 1, got {orders}")
        return cls(
            orders=orders,
            customers=max(10, orders // 10),
            stores=min(50, max(5, orders // 20)),
            products=min(1000, max(50, orders // 3)),
        )


@dataclass(frozen=True)
class _Dimensions:
    """What order chunks need to know about the dimension tables."""

    customer_created: np.ndarray  # epoch seconds, indexed by customer_id - 1
    product_price_cents: np.ndarray  # indexed by product_id - 1
    product_popularity: np.ndarray  # probabilities, indexed by product_id - 1
    stores: int


@dataclass
class _IdCounters:
    """Running ids for line and payment rows, continued from chunk to chunk."""

    next_line_id: int = 1
    next_payment_id: int = 1


def generate_raw(orders: int, seed: int, *, chunk_orders: int = CHUNK_ORDERS) -> dict[str, pd.DataFrame]:
    """All six raw tables for `orders` orders, as one DataFrame each (use `write_raw` at large scale).

    The data depend on `(orders, seed, chunk_orders)`: each chunk of orders draws from its own seed.
    """
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in RAW_TABLES}
    for table, frame in iter_raw_chunks(orders, seed, chunk_orders=chunk_orders):
        parts[table].append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}


def write_raw(orders: int, seed: int, write: WriteChunk, *, chunk_orders: int = CHUNK_ORDERS) -> None:
    """Hand every chunk to `write(table, frame)`; the first chunk of a table replaces, later ones append."""
    for table, frame in iter_raw_chunks(orders, seed, chunk_orders=chunk_orders):
        write(table, frame)


def iter_raw_chunks(orders: int, seed: int, *, chunk_orders: int = CHUNK_ORDERS) -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield `(table, frame)`: the three dimensions first, then orders, lines and payments per chunk."""
    scale = RawScale.for_orders(orders)
    seeds = np.random.SeedSequence(seed)
    dimension_rng = np.random.default_rng(seeds.spawn(1)[0])
    stores = _stores(scale.stores, dimension_rng)
    products = _products(scale.products, dimension_rng)
    customers = _customers(scale.customers, dimension_rng)
    yield "stores", stores
    yield "products", products
    yield "customers", customers
    dimensions = _Dimensions(
        customer_created=_epoch_seconds(customers["created_at"]),
        product_price_cents=np.rint(products["unit_price"].to_numpy() * 100).astype(np.int64),
        product_popularity=_popularity(scale.products, dimension_rng),
        stores=scale.stores,
    )
    counters = _IdCounters()
    chunk_count = -(-orders // chunk_orders)
    for index, chunk_seed in enumerate(np.random.SeedSequence([seed, chunk_orders]).spawn(chunk_count)):
        first_order_id = index * chunk_orders + 1
        size = min(chunk_orders, orders - index * chunk_orders)
        chunk = _order_chunk(first_order_id, size, dimensions, counters, np.random.default_rng(chunk_seed))
        yield from chunk.items()


def apply_anomalies(
    tables: dict[str, pd.DataFrame],
    *,
    late_updates: float = 0.0,
    customer_changes: float = 0.0,
    seed: int = 0,
    batch_time: np.datetime64 | pd.Timestamp | str = DEFAULT_BATCH_TWO_AT,
) -> dict[str, pd.DataFrame]:
    """The second batch: full current-state tables after the changes that arrived by `batch_time`.

    `late_updates` = f changes `round(f * orders)` existing orders (next status, one more unit on
    their first line, new `updated_at`) and adds `round(f * orders / 2)` new orders whose order
    dates lie in the first batch's period. `customer_changes` = g moves `round(g * customers)`
    customers to another segment and city. Changed and new rows get `_loaded_at = batch_time`.
    """
    for name, fraction in (("late_updates", late_updates), ("customer_changes", customer_changes)):
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"{name} must be a fraction between 0 and 1, got {fraction}")
    batch_moment = pd.Timestamp(batch_time).to_datetime64().astype("datetime64[s]")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    result = {name: frame.copy() for name, frame in tables.items()}
    if late_updates > 0:
        result.update(_late_order_updates(result, late_updates, batch_moment, rng))
        new_orders = round(late_updates * len(tables["orders"]) / 2)
        result.update(_late_new_orders(result, new_orders, batch_moment, rng))
    if customer_changes > 0:
        result["customers"] = _changed_customers(result["customers"], customer_changes, batch_moment, rng)
    return result


def _stores(count: int, rng: np.random.Generator) -> pd.DataFrame:
    store_id = np.arange(1, count + 1, dtype=np.int64)
    city_index = rng.integers(0, len(CITIES), count)
    opened = _random_times(rng, np.datetime64("2012-01-01T00:00:00", "s"), CUSTOMERS_FROM, count)
    return pd.DataFrame(
        {
            "store_id": store_id,
            "store_name": "Store " + pd.Series(store_id).astype(str).str.zfill(3),
            "store_type": rng.choice(np.array(STORE_TYPES), count, p=STORE_TYPE_WEIGHTS),
            "city": np.array([city for city, _ in CITIES])[city_index],
            "country_code": np.array([country for _, country in CITIES])[city_index],
            "opened_on": _as_timestamps(opened).astype("date32[pyarrow]"),
            "updated_at": _as_timestamps(opened),
            "_loaded_at": _as_timestamps(np.full(count, BATCH_ONE_LOADED_AT)),
        }
    )


def _products(count: int, rng: np.random.Generator) -> pd.DataFrame:
    product_id = np.arange(1, count + 1, dtype=np.int64)
    price_cents = np.clip(np.rint(rng.lognormal(np.log(2500), 0.8, count)), 199, 99_999).astype(np.int64)
    cost_cents = np.rint(price_cents * rng.uniform(0.35, 0.75, count)).astype(np.int64)
    created = _random_times(rng, np.datetime64("2020-01-01T00:00:00", "s"), CUSTOMERS_FROM, count)
    return pd.DataFrame(
        {
            "product_id": product_id,
            "sku": "SKU-" + pd.Series(product_id).astype(str).str.zfill(6),
            "product_name": "Product " + pd.Series(product_id).astype(str),
            "category": rng.choice(np.array(CATEGORIES), count),
            "unit_price": price_cents / 100,
            "unit_cost": cost_cents / 100,
            "is_active": rng.random(count) < 0.95,
            "updated_at": _as_timestamps(created),
            "_loaded_at": _as_timestamps(np.full(count, BATCH_ONE_LOADED_AT)),
        }
    )


def _customers(count: int, rng: np.random.Generator) -> pd.DataFrame:
    customer_id = np.arange(1, count + 1, dtype=np.int64)
    created = _random_times(rng, CUSTOMERS_FROM, CUSTOMERS_UNTIL, count)
    return pd.DataFrame(
        {
            "customer_id": customer_id,
            "first_name": rng.choice(FIRST_NAMES, count),
            "last_name": rng.choice(LAST_NAMES, count),
            "email": "customer" + pd.Series(customer_id).astype(str) + "@example.com",
            "segment": rng.choice(np.array(SEGMENTS), count, p=SEGMENT_WEIGHTS),
            "city": np.array([city for city, _ in CITIES])[rng.integers(0, len(CITIES), count)],
            "created_at": _as_timestamps(created),
            "updated_at": _as_timestamps(created),
            "_loaded_at": _as_timestamps(np.full(count, BATCH_ONE_LOADED_AT)),
        }
    )


def _popularity(count: int, rng: np.random.Generator) -> np.ndarray:
    weights = rng.pareto(1.5, count) + 0.05
    return np.asarray(weights / weights.sum())


def _order_chunk(
    first_order_id: int,
    size: int,
    dimensions: _Dimensions,
    counters: _IdCounters,
    rng: np.random.Generator,
) -> dict[str, pd.DataFrame]:
    order_id = np.arange(first_order_id, first_order_id + size, dtype=np.int64)
    customer_id = rng.integers(1, len(dimensions.customer_created) + 1, size)
    earliest = np.maximum(dimensions.customer_created[customer_id - 1], _seconds(ORDERS_FROM))
    ordered_at = earliest + (rng.random(size) * (_seconds(ORDERS_UNTIL) - earliest)).astype(np.int64)
    status = rng.choice(np.array(ORDER_STATUSES), size, p=ORDER_STATUS_WEIGHTS)
    # Orders keep changing for up to a week, but the first batch only saw changes until its load.
    updated_at = np.minimum(ordered_at + rng.integers(0, 7 * 86_400, size), _seconds(BATCH_ONE_LOADED_AT) - 3_600)
    shipping_cents = rng.choice(SHIPPING_CENTS, size, p=SHIPPING_WEIGHTS)
    lines = _order_lines(order_id, ordered_at, dimensions, counters, rng)
    line_totals = np.bincount(
        np.searchsorted(order_id, lines.pop("_order_id")), weights=lines.pop("_net_cents"), minlength=size
    ).astype(np.int64)
    payments = _payments(order_id, ordered_at, status, line_totals + shipping_cents, counters, rng)
    loaded = np.full(size, BATCH_ONE_LOADED_AT)
    orders = pd.DataFrame(
        {
            "order_id": order_id,
            "customer_id": customer_id,
            "store_id": rng.integers(1, dimensions.stores + 1, size),
            "ordered_at": _as_timestamps(ordered_at.astype("datetime64[s]")),
            "status": status,
            "shipping_amount": shipping_cents / 100,
            "updated_at": _as_timestamps(updated_at.astype("datetime64[s]")),
            "_loaded_at": _as_timestamps(loaded),
        }
    )
    return {"orders": orders, "order_lines": pd.DataFrame(lines), "payments": payments}


def _order_lines(
    order_id: np.ndarray,
    ordered_at: np.ndarray,
    dimensions: _Dimensions,
    counters: _IdCounters,
    rng: np.random.Generator,
) -> dict[str, np.ndarray | pd.Series]:
    line_counts = 1 + np.minimum(rng.poisson(2.0, len(order_id)), 9)
    total = int(line_counts.sum())
    first_line = np.cumsum(line_counts) - line_counts
    line_number = np.arange(total) - np.repeat(first_line, line_counts) + 1
    product_index = rng.choice(len(dimensions.product_popularity), total, p=dimensions.product_popularity)
    quantity = 1 + np.minimum(rng.poisson(0.6, total), 19)
    price_cents = dimensions.product_price_cents[product_index]
    discount_cents = quantity * price_cents * rng.choice(DISCOUNT_PERCENTS, total, p=DISCOUNT_WEIGHTS) // 100
    line_time = np.repeat(ordered_at, line_counts).astype("datetime64[s]")
    line_id = np.arange(counters.next_line_id, counters.next_line_id + total, dtype=np.int64)
    counters.next_line_id += total
    return {
        "order_line_id": line_id,
        "order_id": np.repeat(order_id, line_counts),
        "line_number": line_number.astype(np.int64),
        "product_id": (product_index + 1).astype(np.int64),
        "quantity": quantity.astype(np.int64),
        "unit_price": price_cents / 100,
        "discount_amount": discount_cents / 100,
        "updated_at": _as_timestamps(line_time),
        "_loaded_at": _as_timestamps(np.full(total, BATCH_ONE_LOADED_AT)),
        "_order_id": np.repeat(order_id, line_counts),
        "_net_cents": quantity * price_cents - discount_cents,
    }


def _payments(
    order_id: np.ndarray,
    ordered_at: np.ndarray,
    status: np.ndarray,
    order_total_cents: np.ndarray,
    counters: _IdCounters,
    rng: np.random.Generator,
) -> pd.DataFrame:
    split = rng.random(len(order_id)) < 0.1
    counts = 1 + split.astype(np.int64)
    total = int(counts.sum())
    first = np.cumsum(counts) - counts
    first_share = np.where(
        split, np.floor(order_total_cents * rng.uniform(0.2, 0.8, len(order_id))), order_total_cents
    ).astype(np.int64)
    amount_cents = np.empty(total, dtype=np.int64)
    amount_cents[first] = first_share
    amount_cents[first[split] + 1] = order_total_cents[split] - first_share[split]
    paid_at = (np.repeat(ordered_at, counts) + rng.integers(0, 3_600, total)).astype("datetime64[s]")
    payment_id = np.arange(counters.next_payment_id, counters.next_payment_id + total, dtype=np.int64)
    counters.next_payment_id += total
    return pd.DataFrame(
        {
            "payment_id": payment_id,
            "order_id": np.repeat(order_id, counts),
            "payment_method": rng.choice(np.array(PAYMENT_METHODS), total, p=PAYMENT_METHOD_WEIGHTS),
            "payment_status": np.where(np.repeat(status, counts) == "cancelled", "refunded", "captured"),
            "amount": amount_cents / 100,
            "paid_at": _as_timestamps(paid_at),
            "updated_at": _as_timestamps(paid_at),
            "_loaded_at": _as_timestamps(np.full(total, BATCH_ONE_LOADED_AT)),
        }
    )


def _late_order_updates(
    tables: dict[str, pd.DataFrame], fraction: float, batch_time: np.datetime64, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    orders = tables["orders"].copy()
    lines = tables["order_lines"].copy()
    changed = np.sort(rng.choice(len(orders), round(fraction * len(orders)), replace=False))
    rows = orders.index[changed]
    changed_at = _as_timestamps(_times_before(batch_time, len(changed), rng))
    orders.loc[rows, "status"] = orders["status"].iloc[changed].map(NEXT_STATUS).to_numpy()
    orders.loc[rows, "updated_at"] = changed_at.to_numpy()
    orders.loc[rows, "_loaded_at"] = pd.Timestamp(batch_time)
    first_lines = lines.index[lines["order_id"].isin(orders["order_id"].iloc[changed]) & (lines["line_number"] == 1)]
    # Lines are stored in order_id order, so the first lines line up with the sorted changed orders.
    lines.loc[first_lines, "quantity"] += 1
    lines.loc[first_lines, "updated_at"] = changed_at.to_numpy()
    lines.loc[first_lines, "_loaded_at"] = pd.Timestamp(batch_time)
    return {"orders": orders, "order_lines": lines}


def _late_new_orders(
    tables: dict[str, pd.DataFrame], count: int, batch_time: np.datetime64, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    if count == 0:
        return {}
    customers, products = tables["customers"], tables["products"]
    dimensions = _Dimensions(
        customer_created=_epoch_seconds(customers["created_at"]),
        product_price_cents=np.rint(products["unit_price"].to_numpy() * 100).astype(np.int64),
        product_popularity=np.full(len(products), 1 / len(products)),
        stores=len(tables["stores"]),
    )
    counters = _IdCounters(
        next_line_id=int(tables["order_lines"]["order_line_id"].max()) + 1,
        next_payment_id=int(tables["payments"]["payment_id"].max()) + 1,
    )
    first_order_id = int(tables["orders"]["order_id"].max()) + 1
    chunk = _order_chunk(first_order_id, count, dimensions, counters, rng)
    arrived_at = _as_timestamps(_times_before(batch_time, count, rng))
    chunk["orders"]["updated_at"] = arrived_at
    for frame in chunk.values():
        frame["_loaded_at"] = pd.Timestamp(batch_time)
    return {name: pd.concat([tables[name], frame], ignore_index=True) for name, frame in chunk.items()}


def _changed_customers(
    customers: pd.DataFrame, fraction: float, batch_time: np.datetime64, rng: np.random.Generator
) -> pd.DataFrame:
    customers = customers.copy()
    changed = np.sort(rng.choice(len(customers), round(fraction * len(customers)), replace=False))
    rows = customers.index[changed]
    segments = np.array(SEGMENTS)
    segment_index = pd.Index(segments).get_indexer(customers["segment"].iloc[changed].to_numpy())
    new_segment = (segment_index + rng.integers(1, len(SEGMENTS), len(changed))) % len(SEGMENTS)
    cities = np.array([city for city, _ in CITIES])
    city_index = pd.Index(cities).get_indexer(customers["city"].iloc[changed].to_numpy())
    new_city = (city_index + rng.integers(1, len(CITIES), len(changed))) % len(CITIES)
    customers.loc[rows, "segment"] = segments[new_segment]
    customers.loc[rows, "city"] = cities[new_city]
    customers.loc[rows, "updated_at"] = _as_timestamps(_times_before(batch_time, len(rows), rng)).to_numpy()
    customers.loc[rows, "_loaded_at"] = pd.Timestamp(batch_time)
    return customers


def _times_before(moment: np.datetime64, count: int, rng: np.random.Generator) -> np.ndarray:
    """Times between six hours and one minute before `moment` (changes that arrived with the batch)."""
    return (moment - rng.integers(60, 6 * 3_600, count).astype("timedelta64[s]")).astype("datetime64[s]")


def _random_times(rng: np.random.Generator, start: np.datetime64, end: np.datetime64, count: int) -> np.ndarray:
    offsets = rng.integers(0, int((end - start) / np.timedelta64(1, "s")), count)
    return (start + offsets.astype("timedelta64[s]")).astype("datetime64[s]")


def _seconds(moment: np.datetime64) -> int:
    return int(moment.astype("datetime64[s]").astype(np.int64))


def _epoch_seconds(column: pd.Series) -> np.ndarray:
    return np.asarray(column.to_numpy().astype("datetime64[s]").astype(np.int64))


def _as_timestamps(values: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values).astype("datetime64[s]").astype("datetime64[us]"))


def load_generated(
    engine: Engine, schema: str, orders: int, seed: int, *, chunk_orders: int = CHUNK_ORDERS
) -> dict[str, int]:
    """Stream the generator's chunks straight into `schema` of an engine; memory stays flat at any scale.

    The first chunk of a table replaces it, later chunks append (no CSV round trip, no second copy).
    """
    counts: dict[str, int] = {}
    for table, frame in iter_raw_chunks(orders, seed, chunk_orders=chunk_orders):
        counts[table] = counts.get(table, 0) + engine.load_frame(schema, table, frame, replace=table not in counts)
    return counts
