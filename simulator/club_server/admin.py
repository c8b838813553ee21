"""The club's back office: card administration on a database, by card number.

Each function takes an open Storage and the CardVault of its database (seed.vault_for) and
runs in one transaction. Errors are AdminError with a sentence for the operator; no message
carries a full card number.
"""

from simulator.club_server import accounts, seed, tehran
from simulator.club_server.cards import luhn_valid, mask

STATUSES = ("unissued", "active", "blocked", "expired")


class AdminError(ValueError):
    pass


def find_card(store, vault, pan):
    card = store.card_by_hash(vault.lookup_hash(pan))
    if card is None:
        raise AdminError(f"no card {mask(pan)}")
    return card


def add_card(
    store,
    vault,
    pan,
    *,
    status="unissued",
    product="standard",
    expiry=None,
    phone=None,
    club_credit=0,
    now,
):
    """Add a club card (to stock when unissued, else with a member); its id."""
    if not luhn_valid(pan) or not 12 <= len(pan) <= 19:
        raise AdminError("a card number is 12..19 digits with a valid Luhn check digit")
    if status not in STATUSES:
        raise AdminError(f"status is one of {', '.join(STATUSES)}")
    with store.transaction():
        if store.card_by_hash(vault.lookup_hash(pan)) is not None:
            raise AdminError(f"card {mask(pan)} exists already")
        if store.product(product) is None:
            raise AdminError(f"no card product {product!r}")
        member_id = None
        if status != "unissued":
            member_id = seed.add_member(store, now, phone)
            months = store.product(product)["card_validity_months"]
            expiry = expiry or tehran.add_months_yymm(now, months)
        card_id = seed.add_card(
            store,
            vault,
            pan,
            status=status,
            product=product,
            expiry=expiry,
            member_id=member_id,
            now=now,
        )
        if club_credit:
            days = store.product(product)["credit_validity_days"]
            seed.opening_balance(store, card_id, accounts.CLUB, "", club_credit, now, days)
        return card_id


def block_card(store, vault, pan):
    with store.transaction():
        card = find_card(store, vault, pan)
        store.update_card(card["id"], status="blocked")
        return store.card(card["id"])


def unblock_card(store, vault, pan):
    with store.transaction():
        card = find_card(store, vault, pan)
        if card["status"] != "blocked":
            raise AdminError(f"card {mask(pan)} is {card['status']}, not blocked")
        store.update_card(card["id"], status="active")
        return store.card(card["id"])


def renew_card(store, vault, pan, *, months=None, now):
    """A new expiry `months` from now (default: the product's card validity); an expired card
    becomes active again. A blocked card stays blocked; an unissued one cannot be renewed."""
    with store.transaction():
        card = find_card(store, vault, pan)
        if card["status"] == "unissued":
            raise AdminError(f"card {mask(pan)} is not issued yet")
        months = months or store.product(card["product"])["card_validity_months"]
        status = "active" if card["status"] == "expired" else card["status"]
        store.update_card(card["id"], expiry=tehran.add_months_yymm(now, months), status=status)
        return store.card(card["id"])
