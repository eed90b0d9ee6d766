"""The built-in transaction patterns on the shop data set (actions/shop.py): each a Script of
weighted transactions in SQL that MariaDB, PostgreSQL and Citus all take as written.

On Citus every customer's rows share a shard, so a transaction that names its customer is
routed to one worker; products and inventory are reference tables. Reports, OLAP and the
social feed (posts of the customers one follows) fan out to every shard.
"""

from __future__ import annotations

from clustertop.core.mixes import BUILTIN_PATTERNS
from clustertop.core.workloads import Script, Statement, Transaction, check_script

CUSTOMER = "key shop.customers.customer_id"
PRODUCT = "key shop.products.product_id"
DEVICE = "key shop.devices.device_id"
IOT_BATCH = 10  # readings per ingest transaction


def _t(name: str, weight: int, *statements: Statement, **variables: str) -> Transaction:
    return Transaction(name, weight, statements, tuple(variables.items()))


def _s(sql: str, *params: str, into: tuple[str, ...] = ()) -> Statement:
    return Statement(" ".join(sql.split()), params, into)


# -- the transactions, each named as it appears in the per-kind figures -----------------------


def get_customer(w: int) -> Transaction:
    return _t("get_customer", w, _s(
        "SELECT customer_id, name, email, country FROM shop.customers WHERE customer_id = %s",
        CUSTOMER))


def get_product(w: int) -> Transaction:
    return _t("get_product", w, _s(
        "SELECT p.product_id, p.name, p.price_cents, i.stock FROM shop.products p"
        " JOIN shop.inventory i ON i.product_id = p.product_id WHERE p.product_id = %s",
        PRODUCT))


def browse_product(w: int) -> Transaction:
    return _t(
        "browse_product", w,
        _s("SELECT p.product_id, p.name, p.price_cents, i.stock FROM shop.products p"
           " JOIN shop.inventory i ON i.product_id = p.product_id WHERE p.product_id = %s", "$p"),
        _s("INSERT INTO shop.events (customer_id, event_id, created_at, kind, product_id)"
           " VALUES (%s, %s, %s, 'view', %s)", "$c", "new shop.events.event_id", "now", "$p"),
        c=CUSTOMER, p=PRODUCT,
    )


def add_to_cart(w: int) -> Transaction:
    return _t(
        "add_to_cart", w,
        _s("UPDATE shop.sessions SET last_seen = %s, cart_items = cart_items + 1"
           " WHERE customer_id = %s", "now", "$c"),
        _s("INSERT INTO shop.events (customer_id, event_id, created_at, kind, product_id)"
           " VALUES (%s, %s, %s, 'cart', %s)", "$c", "new shop.events.event_id", "now", "$p"),
        c=CUSTOMER, p=PRODUCT,
    )


def place_order(w: int) -> Transaction:
    """One atomic order: the stock row locked, decremented, the order and its line written,
    the total summed from the lines. Its books: order_items quantities = stock taken."""
    return _t(
        "place_order", w,
        _s("SELECT price_cents FROM shop.products WHERE product_id = %s", "$p", into=("price",)),
        _s("SELECT stock FROM shop.inventory WHERE product_id = %s FOR UPDATE", "$p"),
        _s("UPDATE shop.inventory SET stock = stock - %s, updated_at = %s WHERE product_id = %s",
           "$q", "$t", "$p"),
        _s("INSERT INTO shop.orders (customer_id, order_id, status, total_cents, created_at)"
           " VALUES (%s, %s, 'placed', 0, %s)", "$c", "$o", "$t"),
        _s("INSERT INTO shop.order_items (customer_id, order_id, line, product_id, quantity,"
           " price_cents) VALUES (%s, %s, 1, %s, %s, %s)", "$c", "$o", "$p", "$q", "$price"),
        _s("UPDATE shop.orders SET total_cents = (SELECT SUM(quantity * price_cents)"
           " FROM shop.order_items WHERE customer_id = %s AND order_id = %s)"
           " WHERE customer_id = %s AND order_id = %s", "$c", "$o", "$c", "$o"),
        c=CUSTOMER, p=PRODUCT, q="int 1 3", o="new shop.orders.order_id", t="now",
    )


def order_history(w: int) -> Transaction:
    return _t("order_history", w, _s(
        "SELECT o.order_id, o.created_at, o.total_cents, COUNT(i.line) AS line_count"
        " FROM shop.orders o JOIN shop.order_items i"
        " ON i.customer_id = o.customer_id AND i.order_id = o.order_id"
        " WHERE o.customer_id = %s GROUP BY o.order_id, o.created_at, o.total_cents"
        " ORDER BY o.created_at DESC LIMIT 10", CUSTOMER))


def touch_session(w: int) -> Transaction:
    return _t("touch_session", w, _s(
        "UPDATE shop.sessions SET last_seen = %s WHERE customer_id = %s", "now", CUSTOMER))


def log_event(w: int) -> Transaction:
    return _t("log_event", w, _s(
        "INSERT INTO shop.events (customer_id, event_id, created_at, kind, product_id)"
        " VALUES (%s, %s, %s, %s, %s)", CUSTOMER, "new shop.events.event_id", "now",
        "choice view cart search login", PRODUCT))


def recent_events(w: int) -> Transaction:
    return _t("recent_events", w, _s(
        "SELECT event_id, created_at, kind, product_id FROM shop.events"
        " WHERE customer_id = %s AND created_at >= %s ORDER BY created_at DESC LIMIT 100",
        CUSTOMER, "now -86400"))


def sales_by_day(w: int) -> Transaction:
    return _t("sales_by_day", w, _s(
        "SELECT CAST(created_at AS DATE) AS day, COUNT(*), SUM(total_cents), AVG(total_cents),"
        " MAX(total_cents), MIN(total_cents) FROM shop.orders WHERE created_at >= %s"
        " GROUP BY CAST(created_at AS DATE) ORDER BY day", "now -604800"))


def sales_by_category(w: int) -> Transaction:
    return _t("sales_by_category", w, _s(
        "SELECT p.category, COUNT(*), SUM(i.quantity), SUM(i.quantity * i.price_cents),"
        " AVG(i.price_cents), MAX(i.price_cents), MIN(i.price_cents)"
        " FROM shop.order_items i JOIN shop.products p ON p.product_id = i.product_id"
        " GROUP BY p.category ORDER BY p.category"))


def top_products(w: int) -> Transaction:
    return _t("top_products", w, _s(
        "SELECT product_id, SUM(quantity) AS sold FROM shop.order_items"
        " GROUP BY product_id ORDER BY sold DESC LIMIT 10"))


def events_by_day(w: int) -> Transaction:
    return _t("events_by_day", w, _s(
        "SELECT CAST(created_at AS DATE) AS day, kind, COUNT(*) FROM shop.events"
        " WHERE created_at >= %s GROUP BY CAST(created_at AS DATE), kind ORDER BY day, kind",
        "now -259200"))


def top_customers(w: int) -> Transaction:
    return _t("top_customers", w, _s(
        "SELECT customer_id, COUNT(*) AS orders, SUM(total_cents) AS spent FROM shop.orders"
        " WHERE created_at >= %s GROUP BY customer_id ORDER BY spent DESC LIMIT 100",
        "now -2592000"))


def orders_in_range(w: int) -> Transaction:
    return _t("orders_in_range", w, _s(
        "SELECT customer_id, order_id, status, total_cents, created_at FROM shop.orders"
        " WHERE created_at >= %s ORDER BY created_at LIMIT 500", "now -1209600"))


def customer_page(w: int) -> Transaction:
    return _t("customer_page", w, _s(
        "SELECT customer_id, name, email, country FROM shop.customers WHERE customer_id > %s"
        " ORDER BY customer_id LIMIT 200", CUSTOMER))


def feed(w: int) -> Transaction:
    return _t("feed", w, _s(
        # A semi-join rather than a join: Citus cannot join posts to follows on a column that
        # is not the distribution column, but plans the subquery first and routes the rest.
        "SELECT p.customer_id, p.post_id, p.created_at, p.body, p.likes FROM shop.posts p"
        " WHERE p.customer_id IN (SELECT f.followee_id FROM shop.follows f"
        " WHERE f.customer_id = %s) ORDER BY p.created_at DESC LIMIT 20", CUSTOMER))


def write_post(w: int) -> Transaction:
    return _t("write_post", w, _s(
        "INSERT INTO shop.posts (customer_id, post_id, created_at, body, likes)"
        " VALUES (%s, %s, %s, %s, 0)", CUSTOMER, "new shop.posts.post_id", "now", "string 120"))


def like_post(w: int) -> Transaction:
    return _t(
        "like_post", w,
        _s("SELECT customer_id FROM shop.posts WHERE post_id = %s", "$post", into=("author",)),
        _s("UPDATE shop.posts SET likes = likes + 1 WHERE customer_id = %s AND post_id = %s",
           "$author", "$post"),
        post="key shop.posts.post_id",
    )


def ingest_readings(w: int) -> Transaction:
    rows = ", ".join(["(%s, %s, %s, %s)"] * IOT_BATCH)
    params = [DEVICE, "new shop.readings.reading_id", "now", "int 0 1000"] * IOT_BATCH
    return _t("ingest_readings", w, _s(
        f"INSERT INTO shop.readings (device_id, reading_id, read_at, value) VALUES {rows}",
        *params))


def latest_reading(w: int) -> Transaction:
    return _t("latest_reading", w, _s(
        "SELECT read_at, value FROM shop.readings WHERE device_id = %s"
        " ORDER BY read_at DESC LIMIT 1", DEVICE))


# -- the patterns -----------------------------------------------------------------------------

_SHOP: dict[str, tuple[str, tuple[Transaction, ...]]] = {
    "oltp": ("short reads and writes of one customer, some orders", (
        get_customer(45), touch_session(20), place_order(15), order_history(15), log_event(5))),
    "ecommerce": ("browse, add to cart, place an order (stock locked and taken), history", (
        browse_product(40), add_to_cart(25), place_order(20), order_history(15))),
    "olap": ("aggregations with joins and GROUP BY over days, products and categories", (
        sales_by_day(30), sales_by_category(25), top_products(25), events_by_day(20))),
    "reporting": ("large results: top-N, date ranges, pages of customers", (
        top_customers(25), orders_in_range(40), customer_page(35))),
    "time-series": ("events appended now, recent ranges read back", (
        log_event(70), recent_events(30))),
    "social": ("feeds (follows joined to posts), bursts of posts and likes", (
        feed(70), write_post(15), like_post(15))),
    "iot": (f"sensor readings inserted {IOT_BATCH} a statement, latest value per device", (
        ingest_readings(80), latest_reading(20))),
    "read-heavy": ("80% reads", (
        get_customer(40), get_product(25), order_history(15), place_order(10),
        touch_session(10))),
    "write-heavy": ("80% writes", (
        get_customer(20), place_order(30), touch_session(30), log_event(20))),
    "balanced": ("50% reads, 50% writes", (
        get_customer(25), get_product(25), place_order(25), touch_session(25))),
    "traffic": ("mostly appends, some reads and updates", (
        log_event(70), get_customer(20), touch_session(10))),
    "point-select": ("one customer by key", (get_customer(100),)),
}
SHOP_PATTERNS: tuple[str, ...] = tuple(p for p in BUILTIN_PATTERNS if p in _SHOP)
assert set(_SHOP) == set(BUILTIN_PATTERNS), "every built-in pattern has a shop form"
# Patterns with no single-table form: they always run on the shop data set.
SHOP_ONLY: frozenset[str] = frozenset({"ecommerce", "olap", "reporting", "social", "iot"})


def shop_script(pattern: str) -> Script:
    description, transactions = _SHOP[pattern]
    return check_script(Script(pattern, transactions, description, f"pattern {pattern}"),
                        f"pattern {pattern}")
