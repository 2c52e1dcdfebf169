"""A synthetic shop drawn from known BG/NBD and Gamma-Gamma parameters.

It feeds `retentio demo` with plausible Russian customers, a product catalogue and orders, and
gives the model tests data whose truth is known. It is pure and deterministic: numbers in, frozen
dataclasses out, no database, no I/O, the same seed always gives the same shop.

Time is measured in **days** throughout (purchase rates are per day, `TruthParams.alpha` is in
days); money is in roubles. Only acquisition is seasonal: repeat purchases follow the stationary
BG/NBD process exactly, so a model fitted to the orders can be checked against `TruthParams`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CATEGORY_NAMES",
    "Customer",
    "DemoShop",
    "Order",
    "OrderItem",
    "Product",
    "TruthParams",
    "catalogue",
    "generate",
    "summary_rfm",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_DAY_SECONDS = 86_400
_ACQUISITION_DAYS = 730
# Relative number of first purchases by calendar month: a mild November-December peak.
_MONTH_WEIGHTS = (0.90, 0.85, 0.95, 0.95, 1.00, 0.85, 0.85, 0.90, 1.00, 1.05, 1.35, 1.55)
# Number of lines in an order before de-duplication: most orders hold one or two products.
_LINE_WEIGHTS = (0.50, 0.30, 0.13, 0.07)
_MAX_LINES = len(_LINE_WEIGHTS)
# Baskets worth more than this get more lines, so each line stays a plausible purchase.
_ROUBLES_PER_LINE = 8_000.0
# ... and cheap baskets fewer, so no line is asked to be worth less than this.
_MIN_LINE_ROUBLES = 1_000.0
_MAX_QUANTITY = 10
# A line whose category has nothing within a factor e^0.5 of its target looks elsewhere.
_FAR_LOG_PRICE = 0.5
# Spread (in log-price) of which product a line picks around its target price.
_PRICE_NOISE = 0.2
# Sum of the Dirichlet concentration of a customer's category tastes: small means focused.
_AFFINITY_CONCENTRATION = 2.0


@dataclass(frozen=True, slots=True)
class TruthParams:
    """The population parameters the shop is drawn from.

    BG/NBD (Fader, Hardie & Lee 2005): a customer's purchase rate lam ~ Gamma(shape=r,
    rate=alpha) per **day** (so alpha is in days and E[lam] = r / alpha), and the drop-out
    probability p ~ Beta(a, b). Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"): the value
    of one order z ~ Gamma(shape=p, rate=nu) with nu ~ Gamma(shape=q, rate=gamma), so gamma is in
    **roubles** and a customer's true mean order value is p / nu (population mean
    p * gamma / (q - 1), about 3,200 roubles with the defaults).

    The defaults are close to the published CDNOW estimates (r 0.24, alpha 4.41 weeks, a 0.79,
    b 2.43), with alpha restated in days: a living customer buys about three times a year.
    """

    r: float = 0.25
    alpha: float = 30.0
    a: float = 0.8
    b: float = 2.5
    p: float = 6.0
    q: float = 3.8
    gamma: float = 1500.0

    def __post_init__(self) -> None:
        values = (self.r, self.alpha, self.a, self.b, self.p, self.q, self.gamma)
        if min(values) <= 0:
            raise ValueError("every TruthParams value must be positive")
        if self.q <= 1:
            raise ValueError("q must exceed 1, or the mean order value is infinite")


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    category: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class Customer:
    """A shopper with the latent truth the models try to recover.

    `lam` is the purchase rate per day while alive, `p_drop` the chance of dropping out after
    each repeat purchase, `mean_spend` the true mean order value in roubles, and `alive_until`
    the moment of the purchase after which the customer dropped out (None: still alive at the
    end of the observed window).
    """

    key: str
    first_name: str
    last_name: str
    gender: Literal["f", "m"]
    birthday: date
    city: str
    email: str
    phone: str
    first_purchase_at: datetime
    lam: float
    p_drop: float
    mean_spend: float
    alive_until: datetime | None


@dataclass(frozen=True, slots=True)
class OrderItem:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class Order:
    external_id: str
    customer_key: str
    placed_at: datetime
    items: tuple[OrderItem, ...]
    total: Decimal


@dataclass(frozen=True, slots=True)
class DemoShop:
    """Customers in order of acquisition, orders in order of time (their numbers increase)."""

    products: tuple[Product, ...]
    customers: tuple[Customer, ...]
    orders: tuple[Order, ...]
    truth: TruthParams


CATEGORY_NAMES: dict[str, str] = {
    "shoes": "Обувь",
    "clothing": "Одежда",
    "electronics": "Электроника",
    "appliances": "Бытовая техника",
    "coffee_tea": "Кофе и чай",
    "beauty": "Красота и уход",
    "home": "Дом и кухня",
    "sports": "Спорт и отдых",
}

# (category, SKU prefix, share of customers' attention, ((name, price in roubles), ...))
_CATALOGUE: tuple[tuple[str, str, float, tuple[tuple[str, int], ...]], ...] = (
    ("shoes", "SHO", 0.13, (
        ("Кроссовки беговые", 6990), ("Кеды текстильные", 3490), ("Ботинки зимние мужские", 8990),
        ("Сапоги женские кожаные", 12990), ("Тапочки домашние", 790), ("Сандалии летние", 2490),
        ("Стельки ортопедические", 1290), ("Крем для обуви", 390),
    )),
    ("clothing", "CLO", 0.18, (
        ("Футболка хлопковая", 990), ("Джинсы прямые", 3990), ("Худи с капюшоном", 3490),
        ("Пуховик зимний", 14990), ("Платье трикотажное", 2990), ("Рубашка оксфорд", 2790),
        ("Шапка вязаная", 890), ("Носки хлопковые, 5 пар", 590),
    )),
    ("electronics", "ELE", 0.12, (
        ("Наушники беспроводные", 4990), ("Кабель USB-C, 1 м", 490),
        ("Зарядное устройство 65 Вт", 2490), ("Умные часы", 9990), ("Портативная колонка", 3990),
        ("Внешний аккумулятор 10000 мА·ч", 1990), ("Смартфон 128 ГБ", 24990),
        ("Клавиатура беспроводная", 2790),
    )),
    ("appliances", "APP", 0.09, (
        ("Чайник электрический", 2490), ("Блендер погружной", 3290),
        ("Пылесос беспроводной", 15990), ("Кофемашина капсульная", 8990), ("Утюг с паром", 3490),
        ("Мультиварка", 5990), ("Фен для волос", 2990),
    )),
    ("coffee_tea", "COF", 0.14, (
        ("Кофе в зёрнах 1 кг", 1590), ("Кофе молотый 250 г", 490),
        ("Чай чёрный листовой 100 г", 390), ("Чай зелёный с жасмином 100 г", 420),
        ("Капсулы для кофемашины, 10 шт", 390), ("Шоколад горький 100 г", 190),
        ("Сироп карамельный 250 мл", 350), ("Френч-пресс 600 мл", 1290),
    )),
    ("beauty", "BEA", 0.13, (
        ("Крем для лица увлажняющий", 1290), ("Шампунь 400 мл", 490), ("Бальзам для губ", 290),
        ("Парфюмерная вода 50 мл", 5990), ("Сыворотка с витамином C", 1890),
        ("Набор кистей для макияжа", 1490), ("Гель для душа 250 мл", 350),
    )),
    ("home", "HOM", 0.13, (
        ("Сковорода 28 см", 2290), ("Набор ножей", 3990), ("Постельное бельё евро", 4490),
        ("Полотенце махровое", 790), ("Плед флисовый", 1490), ("Кружка керамическая", 390),
        ("Контейнеры для хранения, 5 шт", 690), ("Свеча ароматическая", 590),
    )),
    ("sports", "SPO", 0.08, (
        ("Коврик для йоги", 1490), ("Гантели 2 × 3 кг", 2190), ("Фитнес-резинки, набор", 590),
        ("Бутылка для воды 750 мл", 490), ("Велосипед городской", 29990),
        ("Рюкзак спортивный", 2490), ("Скакалка", 390),
    )),
)  # fmt: skip

# City and population in thousands, used as the weight of drawing it.
_CITIES: tuple[tuple[str, int], ...] = (
    ("Москва", 13_100), ("Санкт-Петербург", 5_600), ("Новосибирск", 1_630),
    ("Екатеринбург", 1_540), ("Казань", 1_310), ("Нижний Новгород", 1_210),
    ("Челябинск", 1_190), ("Красноярск", 1_190), ("Самара", 1_160), ("Уфа", 1_160),
    ("Ростов-на-Дону", 1_140), ("Омск", 1_120), ("Краснодар", 1_100), ("Воронеж", 1_050),
    ("Пермь", 1_030),
)  # fmt: skip

_MALE_NAMES = (
    "Александр", "Алексей", "Андрей", "Артём", "Владимир", "Дмитрий", "Евгений", "Егор",
    "Денис", "Иван", "Игорь", "Илья", "Кирилл", "Максим", "Михаил", "Никита", "Николай",
    "Олег", "Павел", "Роман", "Сергей", "Станислав", "Тимур", "Фёдор", "Юрий",
)  # fmt: skip
_FEMALE_NAMES = (
    "Анастасия", "Анна", "Алина", "Алёна", "Валерия", "Вера", "Виктория", "Дарья",
    "Евгения", "Екатерина", "Елена", "Ирина", "Кристина", "Ксения", "Людмила", "Мария",
    "Марина", "Наталья", "Ольга", "Полина", "Светлана", "София", "Татьяна", "Юлия", "Яна",
)  # fmt: skip
# Surnames in their masculine form; `_feminine` derives the other.
_SURNAMES = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
    "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
    "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв",
    "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв",
    "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев",
    "Антонов", "Тарасов", "Жуков", "Баранов", "Комаров", "Давыдов", "Беляев", "Калинин",
    "Островский", "Вишневский", "Покровский", "Шевченко", "Ким", "Галкин", "Воронин", "Фомин",
)  # fmt: skip
_DOMAINS = ("example.ru", "example.com")

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip


def catalogue() -> tuple[Product, ...]:
    """The demo shop's products, in a fixed order (about 60 across 8 categories)."""
    return tuple(
        Product(f"{prefix}-{n:03d}", name, category, Decimal(price).quantize(Decimal("0.01")))
        for category, prefix, _, items in _CATALOGUE
        for n, (name, price) in enumerate(items, start=1)
    )


def generate(
    customers: int,
    *,
    seed: int,
    start: date,
    end: date,
    truth: TruthParams = TruthParams(),
) -> DemoShop:
    """Draw a shop of `customers` customers observed over the days `start`..`end` inclusive.

    First purchases fall in the first two years of the window (or all of it, if shorter) with
    more of them in November-December. After it, each customer follows BG/NBD exactly (Fader,
    Hardie & Lee 2005, assumptions i-iv): purchases come as a Poisson process with rate lam and,
    after each *repeat* purchase, the customer drops out with probability p. The first purchase
    never ends a life: the model's individual likelihood gives a customer with no repeat
    purchases e^(-lam T), i.e. alive for sure (the trial purchase at time 0 is not one of the
    "transactions" of assumption iii). Observation stops at midnight UTC after `end`.

    Order values are Gamma-Gamma draws; see `_baskets` for how they become order lines.
    """
    if customers < 0:
        raise ValueError("customers must not be negative")
    if end < start:
        raise ValueError("end must not be before start")
    rng = np.random.default_rng(seed)
    window_days = min(_ACQUISITION_DAYS, (end - start).days + 1)
    first_s = _epoch_seconds(start) + _acquisition_seconds(rng, customers, start, window_days)
    latent = _Latent(
        first_s,
        rng.gamma(truth.r, 1.0 / truth.alpha, customers),
        rng.beta(truth.a, truth.b, customers),
        truth.p / rng.gamma(truth.q, 1.0 / truth.gamma, customers),
    )
    owner, placed_s, alive_until_s = _purchases(rng, latent, _epoch_seconds(end) + _DAY_SECONDS)
    value = rng.standard_gamma(truth.p, owner.size) * latent.mean_spend[owner] / truth.p
    affinity = rng.dirichlet(_affinity_alpha(), customers)
    products = catalogue()
    lines = _baskets(rng, value, affinity[owner], products)
    buyers = _customers(_people(rng, customers, start), latent, alive_until_s)
    orders = _orders(owner, placed_s, lines, [c.key for c in buyers], [p.sku for p in products])
    return DemoShop(products, buyers, orders, truth)


def summary_rfm(
    shop: DemoShop, *, calibration_end: datetime
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The BG/NBD summary (x, t_x, T) of every customer who bought before `calibration_end`.

    Time is counted in whole UTC days, as `lifetimes` does with freq="D": x is the number of
    distinct days with a purchase after the first purchase's day, t_x the days from the first
    to the last purchase day, T the days from the first purchase day's midnight to
    `calibration_end` (a fraction when that is not a midnight). Rows follow `shop.customers`
    and skip customers without an order before `calibration_end`; as the generator orders
    customers by acquisition, the rows are `shop.customers[:len(x)]`.
    """
    if calibration_end.tzinfo is None:
        raise ValueError("calibration_end must be time-zone aware")
    index = {c.key: i for i, c in enumerate(shop.customers)}
    early = [o for o in shop.orders if o.placed_at < calibration_end]
    if not early:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    owner = np.fromiter((index[o.customer_key] for o in early), np.int64, len(early))
    seconds = np.fromiter((o.placed_at.timestamp() for o in early), np.float64, len(early))
    day = np.floor(seconds / _DAY_SECONDS).astype(np.int64)
    base = int(day.min())
    span = int(day.max()) - base + 1
    visits = np.unique(owner * span + (day - base))  # one row per customer and purchase day
    _, first_row, count = np.unique(visits // span, return_index=True, return_counts=True)
    first = visits[first_row] % span + base
    last = visits[first_row + count - 1] % span + base
    age = calibration_end.timestamp() / _DAY_SECONDS - first
    return (count - 1).astype(np.float64), (last - first).astype(np.float64), age


def _epoch_seconds(day: date) -> int:
    return int(datetime.combine(day, time(), UTC).timestamp())


def _acquisition_seconds(
    rng: np.random.Generator, n: int, start: date, window_days: int
) -> IntArray:
    """First-purchase moments, in seconds after `start`, sorted: day by month weight."""
    days = np.datetime64(start, "D") + np.arange(window_days)
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    weight = np.asarray(_MONTH_WEIGHTS)[month]
    picked = rng.choice(window_days, size=n, p=weight / weight.sum())
    seconds = np.floor((picked + rng.random(n)) * _DAY_SECONDS).astype(np.int64)
    return np.sort(seconds)


@dataclass(frozen=True, slots=True)
class _Latent:
    """Per customer: first purchase (epoch seconds), rate per day, drop-out chance, mean spend."""

    first_s: IntArray
    lam: FloatArray
    p_drop: FloatArray
    mean_spend: FloatArray


def _purchases(
    rng: np.random.Generator, latent: _Latent, horizon_s: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Every order's customer and moment (epoch seconds), in time order.

    First purchases included; also returns each customer's drop-out moment (-1: none before
    `horizon_s`).
    """
    n = latent.lam.size
    horizon = (horizon_s - latent.first_s) / _DAY_SECONDS
    owner, offset_s, drop_s = _repeat_purchases(rng, latent.lam, latent.p_drop, horizon)
    owner = np.concatenate([np.arange(n), owner])
    placed_s = latent.first_s[owner] + np.concatenate([np.zeros(n, np.int64), offset_s])
    chrono = np.lexsort((owner, placed_s))
    alive_until_s = np.where(drop_s >= 0, latent.first_s + drop_s, -1)
    return owner[chrono], placed_s[chrono], alive_until_s


def _repeat_purchases(
    rng: np.random.Generator, lam: FloatArray, p_drop: FloatArray, horizon: FloatArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Repeat purchases of every customer, one round per purchase number.

    Returns each purchase's customer and offset from the first purchase in seconds, and per
    customer the offset of the purchase after which they dropped out (-1: never, in the window).
    """
    n = lam.size
    clock = np.zeros(n)
    dropped = np.full(n, -1, np.int64)
    active = np.arange(n)
    owners: list[IntArray] = [np.zeros(0, np.int64)]
    offsets: list[IntArray] = [np.zeros(0, np.int64)]
    with np.errstate(divide="ignore"):  # a rate that underflows to 0 just never buys again
        while active.size:
            moment = clock[active] + rng.standard_exponential(active.size) / lam[active]
            inside = moment < horizon[active]
            active, moment = active[inside], moment[inside]
            seconds = np.floor(moment * _DAY_SECONDS).astype(np.int64)
            owners.append(active)
            offsets.append(seconds)
            clock[active] = moment
            drop = rng.random(active.size) < p_drop[active]
            dropped[active[drop]] = seconds[drop]
            active = active[~drop]
    return np.concatenate(owners), np.concatenate(offsets), dropped


def _affinity_alpha() -> FloatArray:
    share = np.array([attention for _, _, attention, _ in _CATALOGUE], np.float64)
    alpha: FloatArray = _AFFINITY_CONCENTRATION * share / share.sum()
    return alpha


@dataclass(frozen=True, slots=True)
class _Lines:
    """Order lines grouped by order: order index, product index, quantity, unit price."""

    order: IntArray
    product: IntArray
    quantity: IntArray
    unit_cents: IntArray


def _baskets(
    rng: np.random.Generator, value: FloatArray, affinity: FloatArray, products: Sequence[Product]
) -> _Lines:
    """Lines for orders whose Gamma-Gamma values are `value` (roubles), one affinity row each.

    Each order gets 1-4 lines from categories drawn by the customer's tastes, each picking a
    product priced near its share of the value, with a quantity to match. The catalogue cannot
    hit every value, so the unit prices of an order are then scaled by one factor (a promotion
    or a surcharge: nine lines in ten sell within about ±35 % of the list price) so that the
    order total equals the drawn value to within half a kopeck per unit sold. The Gamma-Gamma
    truth thus holds for `Order.total` itself, not just approximately.
    """
    price = np.array([float(p.price) for p in products])
    order, product, target = _pick_lines(rng, value, affinity, products)
    quantity = np.clip(np.rint(target / price[product]), 1, _MAX_QUANTITY).astype(np.int64)
    list_total = np.bincount(order, weights=quantity * price[product], minlength=value.size)
    factor = (value / list_total)[order]
    unit_cents = np.maximum(1, np.rint(price[product] * factor * 100)).astype(np.int64)
    return _Lines(order, product, quantity, unit_cents)


def _pick_lines(
    rng: np.random.Generator, value: FloatArray, affinity: FloatArray, products: Sequence[Product]
) -> tuple[IntArray, IntArray, FloatArray]:
    """Order index, product index and target value (roubles) of every line, grouped by order.

    A product drawn twice for one order becomes one line carrying both targets.
    """
    drawn = rng.choice(_MAX_LINES, size=value.size, p=_LINE_WEIGHTS) + 1
    needed = np.ceil(value / _ROUBLES_PER_LINE).astype(np.int64)
    room = np.maximum(1, value // _MIN_LINE_ROUBLES).astype(np.int64)
    count = np.minimum(np.clip(needed, drawn, _MAX_LINES), room)
    order = np.repeat(np.arange(value.size), count)
    target = (value / count)[order]
    cumulative = np.cumsum(affinity, axis=1)[order]
    category = (cumulative < rng.random(order.size)[:, None]).sum(axis=1)
    category = np.minimum(category, len(CATEGORY_NAMES) - 1)  # guards cumsum rounding below 1
    log_target = np.log(target) + rng.normal(0.0, _PRICE_NOISE, order.size)
    product = _nearest_product(products, category, log_target)
    merged, where = np.unique(order * len(products) + product, return_inverse=True)
    merged_target: FloatArray = np.bincount(where, weights=target).astype(np.float64)
    return merged // len(products), merged % len(products), merged_target


def _nearest_product(
    products: Sequence[Product], line_category: IntArray, log_target: FloatArray
) -> IntArray:
    """For each line, the product of its category whose log-price is nearest its target.

    When even that one is far off (a 500-rouble target in appliances), the line takes the
    nearest product of the whole catalogue instead, so price factors stay plausible.
    """
    log_price = np.log([float(p.price) for p in products])
    category = np.array([list(CATEGORY_NAMES).index(p.category) for p in products])
    product = np.zeros(line_category.size, np.int64)
    for c in range(len(CATEGORY_NAMES)):
        lines = np.flatnonzero(line_category == c)
        product[lines] = _nearest(log_price, np.flatnonzero(category == c), log_target[lines])
    far = np.flatnonzero(np.abs(log_price[product] - log_target) > _FAR_LOG_PRICE)
    product[far] = _nearest(log_price, np.arange(len(products)), log_target[far])
    return product


def _nearest(log_price: FloatArray, members: IntArray, log_target: FloatArray) -> IntArray:
    """The member (a product index) whose log-price is nearest each target."""
    members = members[np.argsort(log_price[members])]
    prices = log_price[members]
    above = np.clip(np.searchsorted(prices, log_target), 0, members.size - 1)
    below = np.maximum(above - 1, 0)
    closer_above = np.abs(prices[above] - log_target) < np.abs(prices[below] - log_target)
    nearest: IntArray = members[np.where(closer_above, above, below)]
    return nearest


@dataclass(frozen=True, slots=True)
class _Person:
    first_name: str
    last_name: str
    gender: Literal["f", "m"]
    birthday: date
    city: str
    email: str
    phone: str


def _people(rng: np.random.Generator, n: int, start: date) -> list[_Person]:
    """Names, birthdays, cities, unique emails and unique +79… phones for `n` customers."""
    names = _names(rng, n)
    city_weight = np.array([population for _, population in _CITIES], np.float64)
    cities = rng.choice(len(_CITIES), size=n, p=city_weight / city_weight.sum()).tolist()
    age_days = np.clip(rng.normal(36.0, 11.0, n), 18.0, 75.0) * 365.25
    birthdays: list[date] = (np.datetime64(start, "D") - age_days.astype(np.int64)).tolist()
    phones = rng.choice(10**9, size=n, replace=False).tolist()
    emails = _emails(rng, names, birthdays)
    return [
        _Person(first, last, gender, birthday, _CITIES[city][0], email, f"+79{phone:09d}")
        for (first, last, gender), birthday, city, email, phone in zip(
            names, birthdays, cities, emails, phones, strict=True
        )
    ]


def _names(rng: np.random.Generator, n: int) -> list[tuple[str, str, Literal["f", "m"]]]:
    """First name, gender-matched surname and gender; a little over half are women."""
    female = (rng.random(n) < 0.55).tolist()
    first = rng.integers(0, len(_FEMALE_NAMES), n).tolist()
    surname = rng.integers(0, len(_SURNAMES), n).tolist()
    return [
        (_FEMALE_NAMES[f], _feminine(_SURNAMES[s]), "f")
        if is_female
        else (_MALE_NAMES[f], _SURNAMES[s], "m")
        for is_female, f, s in zip(female, first, surname, strict=True)
    ]


def _emails(
    rng: np.random.Generator, names: Sequence[tuple[str, str, str]], birthdays: Sequence[date]
) -> list[str]:
    """Transliterated, unique addresses such as ivan.petrov123@example.ru."""
    n = len(names)
    style = rng.integers(0, 4, n).tolist()
    suffix = rng.choice(3, size=n, p=[0.3, 0.3, 0.4]).tolist()
    number = rng.integers(1, 1000, n).tolist()
    domain = rng.integers(0, len(_DOMAINS), n).tolist()
    seen: set[str] = set()
    emails = []
    for i, (first, last, _) in enumerate(names):
        tail = ("", str(birthdays[i].year), str(number[i]))[suffix[i]]
        local = _local_part(first, last, style[i]) + tail
        emails.append(_unique_email(local, _DOMAINS[domain[i]], seen))
    return emails


def _feminine(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith("ий"):
        return surname[:-2] + "ая"
    return surname


def _translit(text: str) -> str:
    return "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())


def _local_part(first_name: str, last_name: str, style: int) -> str:
    first, last = _translit(first_name), _translit(last_name)
    return (f"{first}.{last}", f"{first[0]}.{last}", f"{last}.{first}", f"{first}{last}")[style]


def _unique_email(local: str, domain: str, seen: set[str]) -> str:
    email, extra = f"{local}@{domain}", 1
    while email in seen:
        email, extra = f"{local}.{extra}@{domain}", extra + 1
    seen.add(email)
    return email


def _customers(
    people: Sequence[_Person], latent: _Latent, alive_until_s: IntArray
) -> tuple[Customer, ...]:
    first_s, lam, p_drop = latent.first_s.tolist(), latent.lam.tolist(), latent.p_drop.tolist()
    mean_spend, alive_until = latent.mean_spend.tolist(), alive_until_s.tolist()
    return tuple(
        Customer(
            f"C{i + 1:07d}", person.first_name, person.last_name, person.gender, person.birthday,
            person.city, person.email, person.phone, _utc(first_s[i]), lam[i], p_drop[i],
            mean_spend[i], _utc(alive_until[i]) if alive_until[i] >= 0 else None,
        )
        for i, person in enumerate(people)
    )  # fmt: skip


def _orders(
    owner: IntArray, placed_s: IntArray, lines: _Lines, keys: Sequence[str], skus: Sequence[str]
) -> tuple[Order, ...]:
    total_cents = np.bincount(
        lines.order, weights=lines.quantity * lines.unit_cents, minlength=owner.size
    )
    bounds = np.searchsorted(lines.order, np.arange(owner.size + 1)).tolist()
    product, quantity = lines.product.tolist(), lines.quantity.tolist()
    units = [Decimal(cents).scaleb(-2) for cents in lines.unit_cents.tolist()]
    items = [OrderItem(skus[product[j]], quantity[j], units[j]) for j in range(len(units))]
    owners, moments, totals = owner.tolist(), placed_s.tolist(), total_cents.tolist()
    return tuple(
        Order(
            f"SO-{i + 1:08d}",
            keys[owners[i]],
            _utc(moments[i]),
            tuple(items[bounds[i] : bounds[i + 1]]),
            Decimal(int(totals[i])).scaleb(-2),
        )
        for i in range(owner.size)
    )


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
