"""Replacing a lost or damaged club card (`vafa club-server replace-card`), in one transaction:

- the new card is issued to the old card's member: a number new to the club is added (the old
  card's product), or a card from stock (unissued, same product, no accounts) is taken;
- the old card's accounts move to the new card: club credit, store credit and points, with
  their lots, holds and ledger rows (those hang on the account, not on the card), so balances,
  validity and the ledger check stay as they were;
- its transactions move too (a refund or a void of an earlier purchase works with the new
  card; the tier, which is the member's, is unchanged), and bank cards linked to the old card
  are linked to the new one;
- the old card is blocked (answered 62), and a card_replacements row records which card
  number the moved transactions were made with.

Refused while an approval of the old card waits for its 0220: the confirmation would name the
old card (a replacement can wait for the hold window). docs/club_server.md "Replacing a lost
or damaged card".

The PIN cannot move (the club keeps only HMAC(card number, PIN), pins.py): when the old card
had one, the new card's PIN is the one given here (`pin`, read by the CLI like `pin reset`),
else it is held (pins.hold: answered 75) until the operator sets it with `pin reset`; never
set by whoever first brings a PIN in a 0100.
"""

from simulator.club_server import pins, seed, tehran
from simulator.club_server.admin import AdminError
from simulator.club_server.cards import luhn_valid, mask

REASONS = ("lost", "damaged", "stolen")
REPLACEABLE = ("active", "blocked", "expired")


def find_old(store, last4=None, card_id=None):
    """The club card to replace, by its id or its last 4 digits (which must name one card)."""
    if card_id is not None:
        card = store.card(card_id)
        if card is None or card["kind"] != "club":
            raise AdminError(f"no club card with id {card_id}")
        return card
    rows = store._all("SELECT * FROM cards WHERE last4 = ? AND kind = 'club' ORDER BY id",
                      (last4,))  # fmt: skip
    if not rows:
        raise AdminError(f"no club card ending in {last4}")
    if len(rows) > 1:
        ids = ", ".join(str(r["id"]) for r in rows)
        raise AdminError(f"{len(rows)} club cards end in {last4} (ids {ids}): give --old-id")
    return rows[0]


def replace_card(
    store, vault, new_pan, *, old_last4=None, old_id=None, reason="lost", now, pin=None
):
    """Replace a card; a summary dict (last 4 digits only). pin: the new card's PIN (RAM
    only, never in the summary)."""
    if not luhn_valid(new_pan) or not 12 <= len(new_pan) <= 19:
        raise AdminError("--new: a card number is 12..19 digits with a valid Luhn check digit")
    if reason not in REASONS:
        raise AdminError(f"reason {reason!r}: expected {', '.join(REASONS)}")
    with store.transaction():
        old = find_old(store, old_last4, old_id)
        if old["status"] not in REPLACEABLE or not old["member_id"]:
            raise AdminError(f"card {mask(old['last4'])} is {old['status']}: only an issued "
                             f"card ({', '.join(REPLACEABLE)}) is replaced")  # fmt: skip
        replaced = store._one(
            "SELECT c.last4 FROM card_replacements r JOIN cards c ON c.id = r.new_card_id "
            "WHERE r.old_card_id = ?",
            (old["id"],),
        )
        if replaced is not None:
            raise AdminError(f"card {mask(old['last4'])} was replaced already, by card "
                             f"{mask(replaced['last4'])}")  # fmt: skip
        waiting = store._one(
            "SELECT COUNT(*) AS n FROM txns WHERE card_id = ? AND state = 'approved'",
            (old["id"],),
        )["n"]
        if waiting:
            raise AdminError(f"card {mask(old['last4'])} has {waiting} approval(s) waiting for "
                             f"confirmation; replace it once they are confirmed or reversed "
                             f"(at the latest at the end of the hold window)")  # fmt: skip
        new_id = _issue_new(store, vault, new_pan, old, now)
        if pin is not None:
            pins.set_pin(store, vault, new_id, new_pan, pin, now)
        elif pins.record(store, old["id"]) is not None:
            pins.hold(store, new_id, now)
        moved_accounts = store._run(
            "UPDATE accounts SET card_id = ? WHERE card_id = ?", (new_id, old["id"])
        ).rowcount
        moved_txns = store._run(
            "UPDATE txns SET card_id = ? WHERE card_id = ?", (new_id, old["id"])
        ).rowcount
        relinked = store._run(
            "UPDATE cards SET linked_card_id = ? WHERE linked_card_id = ?", (new_id, old["id"])
        ).rowcount
        store.update_card(old["id"], status="blocked")
        store._run(
            "INSERT INTO card_replacements (old_card_id, new_card_id, member_id, reason, "
            "txns_moved, accounts_moved, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (old["id"], new_id, old["member_id"], reason, moved_txns, moved_accounts, now),
        )
        new = store.card(new_id)
        return {
            "old_card_id": old["id"],
            "old_last4": old["last4"],
            "new_card_id": new_id,
            "new_last4": new["last4"],
            "member_id": old["member_id"],
            "expiry": new["expiry"],
            "accounts_moved": moved_accounts,
            "txns_moved": moved_txns,
            "bank_cards_relinked": relinked,
            "reason": reason,
            "pin": pins.state(pins.record(store, new_id))["pin"],
        }


def _issue_new(store, vault, pan, old, now):
    """The new card's id: a number new to the club, or a stock card of the same product."""
    product = store.product(old["product"])
    expiry = tehran.add_months_yymm(now, product["card_validity_months"])
    found = store.card_by_hash(vault.lookup_hash(pan))
    if found is None:
        return seed.add_card(store, vault, pan, status="active", product=old["product"],
                             expiry=expiry, member_id=old["member_id"], now=now)  # fmt: skip
    if found["kind"] != "club" or found["status"] != "unissued":
        raise AdminError(f"--new: card {mask(pan)} is {found['status']} in the club; the new "
                         f"card is a new number or one from stock (unissued)")  # fmt: skip
    if found["product"] != old["product"]:
        raise AdminError(f"--new: card {mask(pan)} is a {found['product']} card, the old one "
                         f"a {old['product']} card")  # fmt: skip
    if store.accounts_of_card(found["id"]):
        raise AdminError(f"--new: card {mask(pan)} has accounts already")
    store.update_card(found["id"], member_id=old["member_id"], status="active", issued_at=now,
                      expiry=expiry)  # fmt: skip
    return found["id"]
