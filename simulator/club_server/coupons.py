"""Coupon and campaign codes (docs/protocol.md 5.10): the club's side.

A coupon is made by the club's operator (`vafa club-server coupon add`, coupon_cli.py): a
percentage (basis points) or a fixed amount off, N uses, optionally for one member, one store
or one chain, from a minimum purchase, until a last Tehran day. A sale's 0100 names it in
field 48 tag 0F; phase_one asks `check` (refusal: 78 with the reason in tag 11), prices the
sale with `discount`, and after an approval `hold` records one use (held) and adds the
coupon's tags 10 and 12 (and D1/P1 where the sale had none). phase_two then `consume`s the use
at the 0220, `release`s it at a 0420 or when the hold window passes, and `give_back` at a void.

The tables are coupon_tables.py's (brought into any database, new or old, when storage.Storage
opens it); their SQL lives here, over the Storage's connection.
A use is one row per transaction (txn_id unique): the hooks of phase two find it by its
transaction in one indexed statement, and do nothing for the transactions without a coupon.
"""

from simulator.club_server import tehran
from simulator.club_server.context import Reply
from simulator.club_server.coupon_tables import CONSUMED, HELD, RELEASED
from simulator.club_server.outcomes import COUPON_REFUSALS
from simulator.club_server.split import APPROVALS

TAG_COUPON_CODE = 0x0F
TAG_COUPON_TEXT = 0x10
TAG_COUPON_REASON = 0x11
TAG_COUPON_DISCOUNT = 0x12

REFUSED = "78"  # ISO 8583:1987 keeps 76..89 for private use; 77 is the holder's details

CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
CODE_MIN, CODE_MAX = 4, 16
TEXT_MAX = 40  # characters of a description (tag 10)

# reason (tag 11) -> what it means (docs/protocol.md 5.10), in the order the checks run
REASONS = COUPON_REFUSALS
PURCHASES = ("000000", "004000", "006000", "007000")
KINDS = ("percent", "fixed")
BP = 10000  # basis points in 100 %


def valid_code(code):
    """True for 4..16 uppercase ASCII letters and digits (48 tag 0F)."""
    return CODE_MIN <= len(code) <= CODE_MAX and all(ch in CODE_CHARS for ch in code)


# -- phase one -------------------------------------------------------------------------------


def check(ctx, card, proc, amount):
    """None when the request names no coupon or its coupon applies (then ctx.coupon is the
    row, for `discount` and `hold`); else the 78 Reply (or 30 for a field 48 that does not
    parse). Runs after the card checks, before the sale's own."""
    ctx.coupon = None
    try:
        code = ctx.request_tags().get(TAG_COUPON_CODE)
    except (ValueError, UnicodeError):
        return Reply("30")
    if code is None:
        return None
    reason = _refusal(ctx, card, proc, amount, code)
    if reason:
        return Reply(REFUSED, {TAG_COUPON_REASON: reason})
    return None


def _refusal(ctx, card, proc, amount, code):
    if proc not in PURCHASES:
        return "TX"
    rule = ctx.outcomes.coupon(code)
    if rule is not None:  # a QA code of the outcome table: QA78 + reason
        return rule.argument
    if not valid_code(code):
        return "UK"
    coupon = ctx.store._one("SELECT * FROM coupons WHERE code = ?", (code,))
    if coupon is None:
        return "UK"
    if coupon["status"] != "active":
        return "DS"
    if coupon["valid_until"] and tehran.local_date(ctx.now).isoformat() > coupon["valid_until"]:
        return "EX"
    if coupon["merchant_id"] and coupon["merchant_id"] != ctx.merchant_id:
        return "ST"
    if coupon["chain_id"] and coupon["chain_id"] != ctx.merchant.get("chain_id"):
        return "ST"
    if coupon["member_id"] and coupon["member_id"] != card["member_id"]:
        return "MB"
    if amount < coupon["min_amount"]:
        return "MN"
    if uses_taken(ctx.store, code) >= coupon["max_uses"]:
        return "US"
    ctx.coupon = {"row": coupon, "discount": 0}
    return None


def uses_taken(store, code):
    """Uses held by unconfirmed sales or consumed by confirmed ones."""
    row = store._one(
        "SELECT COUNT(*) AS n FROM coupon_uses WHERE code = ? AND state IN (?, ?)",
        (code, HELD, CONSUMED),
    )
    return row["n"]


def off(coupon, base):
    """The coupon's discount on `base` rials (what is left after the tier discount)."""
    if base <= 0:
        return 0
    if coupon["kind"] == "percent":
        value = base * coupon["value"] // BP
        if coupon["cap"]:
            value = min(value, coupon["cap"])
    else:
        value = coupon["value"]
    return max(0, min(value, base))


def discount(ctx, base):
    """The discount of the request's coupon on `base` (0 without one), remembered for hold."""
    coupon = getattr(ctx, "coupon", None)
    if not coupon:
        return 0
    coupon["discount"] = off(coupon["row"], base)
    return coupon["discount"]


def hold(ctx, reply):
    """After the sale's handler: an approval holds one use of the coupon and answers its
    description (10) and discount (12); a cash or store-credit sale gets D1 and P1 items."""
    coupon = getattr(ctx, "coupon", None)
    if not coupon or reply.code not in APPROVALS or reply.txn is None:
        return reply
    txn = reply.txn
    row = coupon["row"]
    ctx.store._insert(
        "coupon_uses",
        {
            "code": row["code"],
            "txn_id": txn["id"],
            "terminal_id": ctx.terminal_id,
            "merchant_id": ctx.merchant_id,
            "card_id": txn["card_id"],
            "amount": txn["amount"],
            "discount": coupon["discount"],
            "state": HELD,
            "created_at": ctx.now,
        },
    )
    reply.tags[TAG_COUPON_TEXT] = row["description"]
    reply.tags[TAG_COUPON_DISCOUNT] = str(coupon["discount"])
    account = txn["proc"][2:4]
    if not any(kind == "D1" for _, kind, _ in reply.amounts):
        if reply.code != "00":  # a split (10) has its own P1 items (docs/protocol.md 5.11)
            reply.amounts = [(account, "D1", txn["discount"]), *reply.amounts]
        else:
            items = [(account, "D1", txn["discount"]), (account, "P1", txn["payable"])]
            reply.amounts = items + [a for a in reply.amounts if a[1] != "P1"]
    return reply


# -- phase two and the sweeper ---------------------------------------------------------------


def _close(store, txn_id, now, state, reason=None, only=HELD):
    store._run(
        "UPDATE coupon_uses SET state = ?, closed_at = ?, reason = ? "
        "WHERE txn_id = ? AND state = ?",
        (state, now, reason, txn_id, only),
    )


def consume(store, txn_id, now):
    """The 0220 of the sale: its use is spent for good."""
    _close(store, txn_id, now, CONSUMED)


def release(store, txn_id, now, reason=None):
    """A 0420 or the hold window: the use goes back (the code may be used again)."""
    _close(store, txn_id, now, RELEASED, reason)


def give_back(store, txn_id, now, reason="VD"):
    """A void of the confirmed sale: its consumed use goes back."""
    _close(store, txn_id, now, RELEASED, reason, only=CONSUMED)


# -- the operator's side (coupon_cli.py) -----------------------------------------------------


def add(store, code, description, kind, value, max_uses=1, cap=0, min_amount=0,
        member_id=None, merchant_id=None, chain_id=None, valid_until=None, now=0.0):  # fmt: skip
    """A new coupon; ValueError naming what is wrong."""
    if not valid_code(code):
        raise ValueError(f"code {code!r}: {CODE_MIN}..{CODE_MAX} letters A-Z and digits 0-9")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: one of {', '.join(KINDS)}")
    if not description or len(description) > TEXT_MAX:
        raise ValueError(f"description: 1..{TEXT_MAX} characters")
    if value <= 0 or (kind == "percent" and value > BP):
        raise ValueError("value: above 0 (a percentage at most 100)")
    if max_uses < 1 or cap < 0 or min_amount < 0:
        raise ValueError("uses at least 1; cap and minimum not negative")
    if store._one("SELECT code FROM coupons WHERE code = ?", (code,)) is not None:
        raise ValueError(f"code {code}: exists already")
    store._insert(
        "coupons",
        {
            "code": code,
            "description": description,
            "kind": kind,
            "value": value,
            "cap": cap,
            "max_uses": max_uses,
            "min_amount": min_amount,
            "member_id": member_id,
            "merchant_id": merchant_id,
            "chain_id": chain_id,
            "valid_until": valid_until,
            "status": "active",
            "created_at": now,
        },
    )
    return coupon(store, code)


def set_status(store, code, status):
    """Disable (or enable) a coupon; False when there is no such code. Held uses stay held:
    their sales finish as they would have."""
    cur = store._run("UPDATE coupons SET status = ? WHERE code = ?", (status, code))
    return cur.rowcount > 0


def coupon(store, code):
    """One coupon with its use counts, or None."""
    rows = listing(store, code)
    return rows[0] if rows else None


def listing(store, code=None):
    """Every coupon (or one) with its uses: held, consumed, released, and the discount its
    consumed uses gave (what the club's reports count)."""
    sql = (
        "SELECT c.*, "
        "COALESCE(SUM(u.state = 'held'), 0) AS held, "
        "COALESCE(SUM(u.state = 'consumed'), 0) AS consumed, "
        "COALESCE(SUM(u.state = 'released'), 0) AS released, "
        "COALESCE(SUM(CASE WHEN u.state = 'consumed' THEN u.discount END), 0) AS discount_given "
        "FROM coupons c LEFT JOIN coupon_uses u ON u.code = c.code"
    )
    args = ()
    if code is not None:
        sql += " WHERE c.code = ?"
        args = (code,)
    return store._all(sql + " GROUP BY c.code ORDER BY c.code", args)


def uses_between(store, start, end):
    """Coupon uses consumed in [start, end) (Unix seconds): count and discount per store."""
    return store._all(
        "SELECT merchant_id, COUNT(*) AS uses, SUM(discount) AS discount FROM coupon_uses "
        "WHERE state = 'consumed' AND closed_at >= ? AND closed_at < ? GROUP BY merchant_id "
        "ORDER BY merchant_id",
        (start, end),
    )


# The demo club's coupons (docs/testing.md "Coupon codes"), seeded with its stores.
DEMO = {
    "NOWRUZ10": {
        "description": "Nowruz 10% off",
        "kind": "percent",
        "value": 1000,
        "cap": 500_000,
        "max_uses": 1_000_000,
    },
    "WELCOME50K": {
        "description": "خوش آمدید: ۵۰٬۰۰۰ ریال",
        "kind": "fixed",
        "value": 50_000,
        "min_amount": 500_000,
        "max_uses": 1_000_000,
    },
}


def seed_demo(store, now):
    for code, knobs in DEMO.items():
        add(store, code, now=now, **knobs)


def day_uses(conn, start, end):
    """The coupons the club's reports count (queries.daily_report): per code, the uses consumed
    by confirmations in [start, end) (Unix seconds) and the discount they gave, as
    [{"code", "uses", "discount"}]; over any connection, a read-only one too ([] when the
    database has no coupon tables yet)."""
    names = conn.execute(
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'coupon_uses'"
    ).fetchone()
    if not (names["n"] if isinstance(names, dict) else names[0]):
        return []
    rows = conn.execute(
        "SELECT code, COUNT(*) AS uses, SUM(discount) AS discount FROM coupon_uses "
        "WHERE state = ? AND closed_at >= ? AND closed_at < ? GROUP BY code ORDER BY code",
        (CONSUMED, start, end),
    ).fetchall()
    keys = ("code", "uses", "discount")
    return [r if isinstance(r, dict) else dict(zip(keys, r, strict=True)) for r in rows]
