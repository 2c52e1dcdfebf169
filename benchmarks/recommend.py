"""Next best offers against the popularity baseline: hit-rate@5 on a time split.

Run: .venv/bin/python benchmarks/recommend.py [--demo-customers 10000] [--cdnow-customers 20000]
     [--holdout-days 180] [--by-order]

Two shops, each in a SQLite file cached under /tmp/retentio-bench/ (keyed by size, seed and
GENERATOR_VERSION) and brought up to the current schema:

(a) **demo**: `retentio.demo.build.build_demo`, as `retentio demo` builds it (the last day
    fixed, so the cache is reproducible);
(b) **CDNOW-like**: purchase times and customers from `retentio.demo.synthetic.generate`
    with its CDNOW-like BG/NBD defaults over CDNOW's window (1997-01-01 … 1998-06-30), the
    number of CDs in each purchase drawn from CDNOW's own sample (`CDNOW_sample.txt`, column 4).
    CDNOW names no products, so the titles are generated (`_cdnow_titles`): 30 genres of 40
    titles, the titles of a genre grouped four by four into artists and popular by Zipf's law;
    each customer likes a few genres (Dirichlet(0.1)); each CD of a purchase is, with
    probability 0.25, another title of an artist the customer already bought (a complement),
    with 0.10 a title bought before (a repeat), otherwise a fresh draw: genre by taste, title
    by popularity.

Split: train on the orders placed before `end − holdout_days`. `service.recompute(now=split)`
computes the associations from them. Customers who bought both before and after the split are
evaluated: hit-rate@5 is the share of them who, after the split, bought any of the 5 products
recommended as of the split (never one they had bought before). Ours is
`queries.next_best_offers(now=split)`; the baseline is `queries.popular(now=split)`: the 5
products most customers bought in the 90 days before the split, not yet bought by this one.
Both come from the same run and the same database. `--by-order` counts co-occurrence per
basket instead of per customer, for comparison.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from retentio import migrate
from retentio.commerce.models import Order, OrderChannel, OrderItem, OrderStatus, Product
from retentio.contacts.models import Contact
from retentio.db import get_engine, session_scope
from retentio.demo import synthetic
from retentio.demo.build import build_demo
from retentio.models_registry import Base
from retentio.recommend import queries, service

CACHE = Path("/tmp/retentio-bench")  # noqa: S108 - a cache the benchmarks share, not a secret
GENERATOR_VERSION = 1
DEMO_END = date(2026, 3, 31)
CDNOW_START, CDNOW_END = date(1997, 1, 1), date(1998, 6, 30)
CDNOW_SAMPLE = "shared/data/cdnow/CDNOW_sample.txt"
TOP = 5
GENRES, TITLES_PER_GENRE, TITLES_PER_ARTIST = 30, 40, 4
P_COMPLEMENT, P_REPEAT, TASTE_CONCENTRATION = 0.25, 0.10, 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-customers", type=int, default=10_000)
    parser.add_argument("--cdnow-customers", type=int, default=20_000)
    parser.add_argument("--holdout-days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--by-order", action="store_true", help="co-occurrence per basket")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    demo = _cached(f"recommend-demo-{args.demo_customers}-{args.seed}", _build_demo, args)
    evaluate("demo", demo, DEMO_END, args.holdout_days, by_order=args.by_order)
    cdnow = _cached(f"recommend-cdnow-{args.cdnow_customers}-{args.seed}", _build_cdnow, args)
    evaluate("CDNOW-like", cdnow, CDNOW_END, args.holdout_days, by_order=args.by_order)


def evaluate(name: str, url: str, end: date, holdout_days: int, *, by_order: bool) -> None:
    split = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC) - timedelta(
        days=holdout_days
    )
    with session_scope(url) as session:
        started, cpu = time.perf_counter(), time.process_time()
        result = service.recompute(session, now=split, by_order=by_order)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        before, after = _bought(session, split)
        evaluated = sorted(c for c in after if c in before)
        ours = baseline = 0
        started_offers = time.perf_counter()
        for contact_id in evaluated:
            bought_later = after[contact_id]
            offers = queries.next_best_offers(session, contact_id, TOP, now=split)
            ours += any(o.product_id in bought_later for o in offers)
            exclude = queries.bought_products(contact_id, split)
            popular = queries.popular(session, TOP, now=split, exclude=exclude)
            baseline += any(o.product_id in bought_later for o in popular)
        offer_seconds = time.perf_counter() - started_offers
    n = max(len(evaluated), 1)
    per = "order" if by_order else "customer"
    print(f"\n== {name}: split {split.date()}, co-occurrence per {per} ==")
    print(f"   recompute: {result.pairs:,} pairs, {result.categories} category intervals, "
          f"{seconds:.2f} s wall, {cpu:.2f} s CPU")  # fmt: skip
    print(f"   customers evaluated (bought before and after the split): {len(evaluated):,}; "
          f"offers {1000 * offer_seconds / n:.1f} ms a customer")  # fmt: skip
    print(f"   hit-rate@{TOP}: next best offers {ours / n:.3f}   popularity {baseline / n:.3f}   "
          f"(target: above popularity; {'met' if ours > baseline else 'NOT met'})")  # fmt: skip


def _bought(session: Session, split: datetime) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """Products each customer bought before the split, and after it."""
    before: dict[int, set[int]] = defaultdict(set)
    after: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(
        select(Order.contact_id, OrderItem.product_id, Order.placed_at)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.status != OrderStatus.CANCELLED, OrderItem.product_id.is_not(None))
    )
    for contact_id, product_id, placed_at in rows:
        (before if placed_at < split else after)[contact_id].add(product_id)
    return before, after


def _cached(stem: str, build: Any, args: argparse.Namespace) -> str:
    path = CACHE / f"{stem}-v{GENERATOR_VERSION}.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        started = time.perf_counter()
        partial_url = f"sqlite:///{partial}"
        migrate.upgrade(partial_url)
        build(partial_url, args)
        get_engine(partial_url).dispose()
        partial.rename(path)
        print(f"built {path} in {time.perf_counter() - started:.0f} s")
    # The cached copy may predate the code: newer migrations, then tables an unreleased
    # migration gained since.
    migrate.upgrade(url)
    Base.metadata.create_all(get_engine(url))
    return url


def _build_demo(url: str, args: argparse.Namespace) -> None:
    with session_scope(url) as session:
        build_demo(
            session,
            customers=args.demo_customers,
            seed=args.seed,
            admin_password="benchmark-password",  # noqa: S106 - a throwaway database
            today=DEMO_END,
        )


def _build_cdnow(url: str, args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    shop = synthetic.generate(
        args.cdnow_customers, seed=args.seed, start=CDNOW_START, end=CDNOW_END
    )
    sizes = np.loadtxt(_find(CDNOW_SAMPLE), usecols=3, dtype=np.int64)
    titles = _cdnow_titles(rng, shop, sizes)
    with session_scope(url) as session:
        session.execute(
            insert(Product),
            [
                {"sku": f"CD-{t:05d}", "name": f"Album {t}", "price": Decimal("12.99"),
                 "category": f"genre-{t // TITLES_PER_GENRE:02d}", "currency": "USD"}
                for t in range(GENRES * TITLES_PER_GENRE)
            ],
        )  # fmt: skip
        product_ids = dict(session.execute(select(Product.sku, Product.id)).all())
        session.execute(
            insert(Contact), [{"first_name": c.key, "custom": {}} for c in shop.customers]
        )
        contact_ids = dict(session.execute(select(Contact.first_name, Contact.id)).all())
        orders = [
            {
                "external_id": o.external_id,
                "contact_id": contact_ids[o.customer_key],
                "status": OrderStatus.FULFILLED,
                "channel": OrderChannel.ONLINE,
                "currency": "USD",
                "total": Decimal("12.99") * len(titles[i]),
                "placed_at": o.placed_at,
                "custom": {},
            }
            for i, o in enumerate(shop.orders)
        ]
        session.execute(insert(Order), orders)
        order_ids = dict(session.execute(select(Order.external_id, Order.id)).all())
        session.execute(
            insert(OrderItem),
            [
                {"order_id": order_ids[o.external_id], "product_id": product_ids[f"CD-{t:05d}"],
                 "sku": f"CD-{t:05d}", "name": f"Album {t}",
                 "category": f"genre-{t // TITLES_PER_GENRE:02d}", "quantity": 1,
                 "unit_price": Decimal("12.99")}
                for i, o in enumerate(shop.orders)
                for t in titles[i]
            ],
        )  # fmt: skip


def _cdnow_titles(
    rng: np.random.Generator, shop: synthetic.DemoShop, sizes: np.ndarray[Any, Any]
) -> list[list[int]]:
    """The titles (product numbers) of each of the shop's orders, drawn as the module says."""
    keys = {c.key: i for i, c in enumerate(shop.customers)}
    taste = rng.dirichlet(np.full(GENRES, TASTE_CONCENTRATION), len(shop.customers))
    zipf = 1.0 / np.arange(1, TITLES_PER_GENRE + 1)
    zipf /= zipf.sum()
    owned: dict[int, list[int]] = defaultdict(list)
    titles: list[list[int]] = []
    for order in shop.orders:  # in time order: complements and repeats follow earlier buys
        customer = keys[order.customer_key]
        history = owned[customer]
        basket: set[int] = set()
        for _ in range(int(rng.choice(sizes))):
            pick = rng.random()
            if history and pick < P_COMPLEMENT:
                artist = int(rng.choice(history)) // TITLES_PER_ARTIST
                title = artist * TITLES_PER_ARTIST + int(rng.integers(TITLES_PER_ARTIST))
            elif history and pick < P_COMPLEMENT + P_REPEAT:
                title = int(rng.choice(history))
            else:
                genre = int(rng.choice(GENRES, p=taste[customer]))
                title = genre * TITLES_PER_GENRE + int(rng.choice(TITLES_PER_GENRE, p=zipf))
            basket.add(title)
        titles.append(sorted(basket))
        history.extend(basket)
    return titles


def _find(relative: str) -> Path:
    for folder in Path(__file__).resolve().parents:
        if (folder / relative).exists():
            return folder / relative
    sys.exit(f"cannot find {relative} above {Path(__file__).parent}")


if __name__ == "__main__":
    main()
