"""The cardholder's PIN at the club (docs/protocol.md 4.5, docs/club_server.md "PINs").

What is kept: per card, a PIN verification value (CardVault.pin_value: HMAC-SHA256 under a key
derived from the server secret, of card number and PIN), the number of wrong PINs in a row and
when the PIN was blocked. Never the PIN, never a PIN block. Why a keyed hash and not an ISO 9564
PVV (the IBM 3624 offset or Visa PVV): those are built for DES hardware security modules and
keep 4 digits of a 10,000-value space under a DES key; the club has no HSM, and a keyed
SHA-256 under the secret that already protects the card numbers (kept beside the database,
never inside it) gives a thief of the SQLite file nothing to try PINs against.

Where it happens: the server's event loop opens field 52 with the PIN key of the request's KSN
(psec's ISO 9564-1 format 4 decipher, independent of the agent's agent/protocol/pinblock.py)
and hands the PIN to the request as secrets[PIN_SECRET] (RAM only; "" when the block does not
open); phase one calls `check` after the card is resolved, inside the request's database
transaction, so the try counter moves once per request: a repeat (0101) or a copy gets the
recorded answer and is not counted again.

Which payments need the PIN (`required`): club credit (006000) always; for the store's choice
the settings rows program.<id>.pin_accounts ("70" store credit, "80" points spent at the till
(008000), "00" cash purchases earning points, "40" bank-card purchases with the club's
discount, comma-separated) and
program.<id>.pin_floor (rials: below it those are not asked). Refunds, top-ups and balance
inquiries put no money in the member's way out of the card: never asked.
"""

import hmac

from psec import pinblock as psec_pinblock

from simulator.club_server.context import Reply
from simulator.club_server.program import PROGRAM_DEFAULTS, program_key
from simulator.club_server.protection import SECRET_CARD

PIN_TRIES = 3  # wrong PINs in a row that block the PIN (75 until the operator unblocks it)
PIN_SECRET = 0x152  # secrets key of the opened PIN: no field 62 tag (those are one byte)
NEW_PIN_SECRET = 0x153  # and of the new PIN of a PIN change
SECRET_NEW_PIN = 0x04  # field 62 tag: the new PIN's block, hex (docs/protocol.md 4.1)
UNREADABLE = ""
PIN_CHANGE = "920000"

INCORRECT_PIN = "55"
PIN_TRIES_EXCEEDED = "75"
SECURITY_VIOLATION = "63"
TAG_PIN_TRIES_LEFT = 0x13
TAG_PIN_STATE = 0x14
PIN_REQUIRED = "R"
PIN_WRONG = "W"

CLUB_CREDIT_PURCHASE = "006000"
# processing code -> the account a store may choose to protect with the PIN
CHOOSABLE = {"007000": "70", "000000": "00", "004000": "40", "008000": "80"}

TABLE = (
    "CREATE TABLE IF NOT EXISTS pins (card_id INTEGER PRIMARY KEY REFERENCES cards(id), "
    "value BLOB NOT NULL, wrong INTEGER NOT NULL DEFAULT 0, blocked_at REAL, "
    "changed_at REAL NOT NULL)"
)


def _open(key, block, pan):
    try:
        return psec_pinblock.decipher_pinblock_iso_4(key, bytes(block), pan)
    except (ValueError, TypeError):
        return UNREADABLE


def open_blocks(message, keys, secrets):
    """secrets with the PINs a request carries, opened (format 4 blocks under the PIN key of
    `keys`, bound to the card number of field 62): field 52 as PIN_SECRET, field 62 tag 04
    (a PIN change's new PIN, hex) as NEW_PIN_SECRET in its place; UNREADABLE for a block that
    does not open. The same secrets when there is neither."""
    if "52" not in message and SECRET_NEW_PIN not in secrets:
        return secrets
    out = dict(secrets)
    pan = secrets.get(SECRET_CARD)
    if "52" in message:
        out[PIN_SECRET] = _open(keys.pin, message["52"], pan)
    new = out.pop(SECRET_NEW_PIN, None)
    if new is not None:
        try:
            block = bytes.fromhex(new)
        except ValueError:
            block = b""
        out[NEW_PIN_SECRET] = _open(keys.pin, block, pan)
    return out


def _ready(store):
    if not getattr(store, "_pins_ready", False):
        store._run(TABLE)
        store._pins_ready = True


def record(store, card_id):
    """The pins row of a card, or None when the card has no PIN."""
    _ready(store)
    return store._one("SELECT * FROM pins WHERE card_id = ?", (card_id,))


def set_pin(store, vault, card_id, pan, pin, now):
    """Set (or replace) a card's PIN: a new value, the counter at zero, not blocked."""
    _ready(store)
    store._run(
        "INSERT INTO pins (card_id, value, wrong, blocked_at, changed_at) VALUES (?, ?, 0, NULL, ?)"
        " ON CONFLICT(card_id) DO UPDATE SET value = excluded.value, wrong = 0,"
        " blocked_at = NULL, changed_at = excluded.changed_at",
        (card_id, vault.pin_value(pan, pin), now),
    )


def hold(store, card_id, now):
    """A card whose PIN must be set by the operator (a replacement of a card that had one,
    card_replace.py): no value, blocked, so it is answered 75 and no 0100 can set it."""
    _ready(store)
    store._run(
        "INSERT INTO pins (card_id, value, wrong, blocked_at, changed_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(card_id) DO UPDATE SET value = excluded.value, wrong = excluded.wrong,"
        " blocked_at = excluded.blocked_at, changed_at = excluded.changed_at",
        (card_id, b"", PIN_TRIES, now, now),
    )


def unblock(store, card_id):
    """The operator's unblock: the counter back to zero; False when the card has no PIN (or
    one still to set, `hold`: only `pin reset` sets it)."""
    row = record(store, card_id)
    if row is None or not row["value"]:
        return False
    store._run("UPDATE pins SET wrong = 0, blocked_at = NULL WHERE card_id = ?", (card_id,))
    return True


def count_wrong(store, card_id, now):
    """One more wrong PIN; the PIN is blocked (blocked_at) at PIN_TRIES. The new count."""
    row = record(store, card_id)
    wrong = row["wrong"] + 1
    blocked = now if wrong >= PIN_TRIES else row["blocked_at"]
    store._run(
        "UPDATE pins SET wrong = ?, blocked_at = ? WHERE card_id = ?", (wrong, blocked, card_id)
    )
    return wrong


def state(row):
    """What the operator sees: no PIN, set, or blocked, and the wrong tries in a row."""
    if row is None:
        return {"pin": "none", "wrong": 0, "tries_left": PIN_TRIES}
    if not row["value"]:  # hold(): a replacement card, 75 until the operator sets its PIN
        return {"pin": "to set", "wrong": row["wrong"], "tries_left": 0}
    blocked = row["wrong"] >= PIN_TRIES
    return {
        "pin": "blocked" if blocked else "set",
        "wrong": row["wrong"],
        "tries_left": max(PIN_TRIES - row["wrong"], 0),
    }


def required(ctx, proc, amount):
    """Whether this payment needs the cardholder's PIN (the store's program settings)."""
    if proc in (CLUB_CREDIT_PURCHASE, PIN_CHANGE):
        return True
    account = CHOOSABLE.get(proc)
    if account is None:
        return False
    settings = ctx.settings
    pid = ctx.program.id
    chosen = settings.get(program_key(pid, "pin_accounts"), PROGRAM_DEFAULTS["pin_accounts"])
    if account not in [a.strip() for a in chosen.split(",")]:
        return False
    floor = settings.get(program_key(pid, "pin_floor"), PROGRAM_DEFAULTS["pin_floor"])
    return amount >= int(floor or 0)


def check(ctx, card, pan, proc, amount):
    """None when the request may go on, else the refusal: 55 (tag 14 R: no PIN came and one is
    needed; W: wrong, tag 13 the tries left), 75 (blocked), 63 (field 52 did not open).

    A card without a PIN takes the first PIN a 0100 brings (enrollment, docs/protocol.md
    5.6; or the first PIN payment of a card issued before PINs); not a replacement of a card
    that had one (`hold`: blocked, 75, until the operator sets its PIN). A PIN that came is checked
    even where none is needed: a wrong one counts, a blocked one is refused."""
    pin = ctx.secrets.get(PIN_SECRET)
    if pin == UNREADABLE:
        return Reply(SECURITY_VIOLATION)
    if bytes(card["pan_hash"]) != ctx.vault.lookup_hash(pan):
        return None  # a linked bank card (004000): the bank leg verifies its own cardholder
    store = ctx.store
    row = record(store, card["id"])
    if row is None:
        if pin is not None:
            set_pin(store, ctx.vault, card["id"], pan, pin, ctx.now)
        return None
    if pin is None and not required(ctx, proc, amount):
        return None
    if row["wrong"] >= PIN_TRIES:
        return Reply(PIN_TRIES_EXCEEDED)
    if pin is None:
        left = str(PIN_TRIES - row["wrong"])
        return Reply(INCORRECT_PIN, {TAG_PIN_STATE: PIN_REQUIRED, TAG_PIN_TRIES_LEFT: left})
    if hmac.compare_digest(ctx.vault.pin_value(pan, pin), bytes(row["value"])):
        if row["wrong"]:
            store._run("UPDATE pins SET wrong = 0 WHERE card_id = ?", (card["id"],))
        return None
    if count_wrong(store, card["id"], ctx.now) >= PIN_TRIES:
        return Reply(PIN_TRIES_EXCEEDED)
    left = str(PIN_TRIES - row["wrong"] - 1)
    return Reply(INCORRECT_PIN, {TAG_PIN_STATE: PIN_WRONG, TAG_PIN_TRIES_LEFT: left})


def change(ctx, card, amount):
    """920000, PIN change (docs/protocol.md 4.5): the current PIN has passed `check`; the new
    one (field 62 tag 04) becomes the card's. 30 without it or with an amount; 63 when it does
    not open. Single phase: a txn row closed at once, for its RRN."""
    new = ctx.secrets.get(NEW_PIN_SECRET)
    if new is None or amount != 0:
        return Reply("30")
    if new == UNREADABLE:
        return Reply(SECURITY_VIOLATION)
    pan = ctx.secrets.get(SECRET_CARD)
    set_pin(ctx.store, ctx.vault, card["id"], pan, new, ctx.now)
    from simulator.club_server.phase_one import new_txn

    txn = new_txn(ctx, card, 0, state="done", closed_at=ctx.now)
    return Reply("00", txn=txn)
