"""Demo and test data: stores, their programs and terminals, and card personas.

Everything here is documented in docs/testing.md; keep the two in step. Card numbers are
fictional test numbers (Luhn-valid, club range 987911); they are stored like any other card
number: as a keyed hash and the last 4 digits.

Terminal identities follow one deterministic scheme: terminal number n has terminal id
"VT" + 6 digits and initial key id "56414641" ("VAFA" in ASCII) + n as 8 decimal digits, so
terminal 1 is VT000001 with initial key id 5641464100000001. Its initial key is
derive_initial_key(TEST_BDK, initial key id).
"""

from simulator.club_server import accounts, tehran
from simulator.club_server.cards import CardVault, load_or_create_secret, secret_path_for
from simulator.club_server.outcomes import SEEDED_CARD_CODES, magic_card
from simulator.club_server.program import (
    DEFAULT_SETTINGS,
    PRODUCT_DEFAULTS,
    PROGRAM_DEFAULTS,
    product_key,
    program_key,
)
from simulator.club_server.storage import Storage

DAY = 86400.0
IKID_PREFIX = "56414641"  # "VAFA"
LOAD_TERMINALS_FIRST = 1001

# fmt: off
# code -> program knobs (simulator.club_server.program.Program.KNOBS); every program also
# gets the settings rows of program.PROGRAM_DEFAULTS (earn_on_redemption: no)
PROGRAMS = {
    "hyper": dict(name="hypermarket: 1 point per 10,000 rials; every 100 points become 100,000 "
                  "rials of store credit at once; 15/10/5 % off for A/B/C; fee 5,000",
                  rials_per_point=10_000, convert_points=100, convert_credit=100_000,
                  convert_threshold=0, discount_a_bp=1500, discount_b_bp=1000,
                  discount_c_bp=500, discount_accounts="40,60", fee_fixed=5_000, fee_bp=0,
                  credit_validity_days=90, max_amount=10_000_000_000),
    "pool": dict(name="pool: 1 point per 5,000 rials; from 1,000 points, every 500 points become "
                 "500,000 rials; 20/10/0 % off; fee 1 %",
                 rials_per_point=5_000, convert_points=500, convert_credit=500_000,
                 convert_threshold=1_000, discount_a_bp=2000, discount_b_bp=1000,
                 discount_c_bp=0, discount_accounts="40,60", fee_fixed=0, fee_bp=100,
                 credit_validity_days=180, max_amount=10_000_000_000),
    "books": dict(name="bookshop: 1 point per 20,000 rials, no conversion; 10/5/0 % off on bank "
                  "cards only; no fee",
                  rials_per_point=20_000, convert_points=0, convert_credit=0,
                  convert_threshold=0, discount_a_bp=1000, discount_b_bp=500, discount_c_bp=0,
                  discount_accounts="40", fee_fixed=0, fee_bp=0, credit_validity_days=60,
                  max_amount=2_000_000_000),
}

# merchant id (15 characters) -> (English name, Persian name, program)
MERCHANTS = {
    "VAFA00000000001": ("Vafa Demo Hypermarket", "هایپرمارکت نمونه وفا", "hyper"),
    "VAFA00000000002": ("Abi Pool", "استخر آبی", "pool"),
    "VAFA00000000003": ("Ketab Bookshop", "کتاب‌فروشی کتاب", "books"),
    "VAFA00000000004": ("Vafa Demo Hypermarket, Branch 2", "هایپرمارکت نمونه وفا، شعبه ۲",
                        "hyper"),
}
DEMO_MERCHANT = "VAFA00000000001"

# chain id -> (English name, Persian name, its stores). The hypermarket's program spends store
# credit anywhere in its chain (PROGRAM_KNOBS): a gift from one branch is spent at the other.
CHAINS = {
    "VAFA-HYPER": ("Vafa Hypermarkets", "هایپرمارکت‌های وفا",
                   ("VAFA00000000001", "VAFA00000000004")),
}
# program code -> knobs other than PROGRAM_DEFAULTS (settings rows program.<id>.<knob>)
PROGRAM_KNOBS = {"hyper": {"store_credit_scope": "chain"}}


# terminal number -> (merchant id, status); "unregistered" is answered 03
TERMINALS = {
    1: ("VAFA00000000001", "active"),
    2: ("VAFA00000000001", "active"),
    3: ("VAFA00000000002", "active"),
    4: ("VAFA00000000003", "active"),
    5: ("VAFA00000000004", "active"),
    99: ("VAFA00000000001", "unregistered"),
}

# card product -> (name, club credit multiplier of the card's sale (its first top-up),
# validity of that credit in days (None: none), card validity in months from issue); later
# top-ups get the settings row product.<code>.topup_multiplier (PRODUCT_DEFAULTS: 1)
PRODUCTS = {
    "standard": ("standard club card", 1, 365, 36),
    "pool": ("prepaid pool card: the top-up that sells it gives 10X for X, valid one year; "
             "later top-ups 1X", 10, 365, 12),
}

# Personas: card number -> details. Balances: club credit (rials), store credit per merchant
# (rials, valid 90 days), points per merchant. tier: a tier the club granted (floor).
CARDS = {
    "9879110000000014": dict(persona="active, tier A, with balances", status="active",
                             tier="A", phone="09120000001", club=5_000_000,
                             store={"VAFA00000000001": 500_000},
                             points={"VAFA00000000001": 80}, bank="6037990000000014"),
    "9879110000000022": dict(persona="active, tier B", status="active", tier="B",
                             phone="09120000002", club=2_000_000,
                             points={"VAFA00000000001": 40}),
    "9879110000000030": dict(persona="active, tier C, no balances", status="active",
                             phone="09120000003"),
    "9879110000000048": dict(persona="low balance", status="active", phone="09120000004",
                             club=10_000, store={"VAFA00000000001": 5_000}),
    "9879110000000055": dict(persona="blocked (62)", status="blocked", phone="09120000005",
                             club=1_000_000),
    "9879110000000063": dict(persona="expired 2023-12 (54)", status="active",
                             expiry="2312", phone="09120000006", club=300_000),
    "9879110000000071": dict(persona="prepaid pool card (top-up x10, one year)",
                             status="active", product="pool", phone="09120000007",
                             club=10_000_000),
    "9879110000000089": dict(persona="store credit only at the pool (57 elsewhere)",
                             status="active", phone="09120000008",
                             store={"VAFA00000000002": 300_000}),
}
# Cards with a PIN (simulator/club_server/pins.py, docs/testing.md "PINs"): card number ->
# (details as in CARDS, the PIN, wrong PINs in a row already counted). The other cards have no
# PIN: nothing is asked of them until a 0100 brings one.
PIN_CARDS = {
    "9879110000000303": (dict(persona="PIN 1234 set", status="active", phone="09120000030",
                              club=3_000_000, store={"VAFA00000000001": 200_000}), "1234", 0),
    "9879110000000311": (dict(persona="PIN blocked after 3 wrong PINs (75)", status="active",
                              phone="09120000031", club=3_000_000), "1234", 3),
}
STOCK = [  # unissued cards (64 until enrolled)
    "9879110000000105", "9879110000000113", "9879110000000121", "9879110000000139",
    "9879110000000147", "9879110000000154", "9879110000000162", "9879110000000170",
    "9879110000000188", "9879110000000196",
]
POOL_STOCK = ["9879110000000204", "9879110000000212"]
# The holder who enrolls a stock card at its first use, as the demo's and the test tools'
# keypads type it (docs/protocol.md 5.6 tags 07-0A).
ENROLLMENT = {"phone": "09121112233", "gender": "F", "birth_date": "19900321", "education": "4"}
UNKNOWN_CARD = "9879110000000998"  # Luhn-valid, never in the database: 14
UNKNOWN_BANK_CARD = "6037990000000998"
# fmt: on

# Handy names for tests and the demo.
CARD_A = "9879110000000014"
CARD_B = "9879110000000022"
CARD_C = "9879110000000030"
CARD_LOW = "9879110000000048"
CARD_BLOCKED = "9879110000000055"
CARD_EXPIRED = "9879110000000063"
CARD_POOL = "9879110000000071"
CARD_OTHER_STORE = "9879110000000089"
BANK_CARD_A = "6037990000000014"
CARD_PIN = "9879110000000303"
CARD_PIN_BLOCKED = "9879110000000311"
DEMO_PIN = "1234"  # the seeded PIN of CARD_PIN and CARD_PIN_BLOCKED (test data, never real)


def terminal_identity(n):
    """(terminal id, initial key id hex) of terminal number n."""
    return f"VT{n:06d}", f"{IKID_PREFIX}{n:08d}"


def behaviour_cards():
    return [magic_card(code) for code in SEEDED_CARD_CODES]


def all_card_numbers():
    """Every card number seeded into the database (for the 'never in clear' scans)."""
    numbers = list(CARDS) + list(PIN_CARDS) + STOCK + POOL_STOCK + behaviour_cards()
    numbers += [c["bank"] for c in CARDS.values() if "bank" in c]
    return numbers


def _open(db):
    if isinstance(db, Storage):
        return db, False
    return Storage(db), True


def vault_for(db_path, secret=None):
    return CardVault(secret or load_or_create_secret(secret_path_for(db_path)))


def seed_demo(db, secret=None, now=None):
    """Fill a new database with the demo stores, terminals and cards; does nothing when the
    demo merchant exists already. `db` is a path or a Storage. Returns a summary dict."""
    import time

    store, close = _open(db)
    now = time.time() if now is None else now
    vault = vault_for(store.path, secret)
    try:
        with store.transaction():
            if store.merchant(DEMO_MERCHANT) is None:
                _seed(store, vault, now)
                from simulator.club_server import coupons  # the demo coupons (docs/testing.md)

                coupons.seed_demo(store, now)
    finally:
        if close:
            store.close()
    return summary()


def _seed(store, vault, now):
    for key, value in DEFAULT_SETTINGS.items():
        store.put_setting(key, value)
    from simulator.club_server import registry  # registry -> admin -> seed

    program_ids = {code: store.add_program(**knobs) for code, knobs in PROGRAMS.items()}
    for code, program_id in program_ids.items():  # written out so that they can be found
        for knob, value in {**PROGRAM_DEFAULTS, **PROGRAM_KNOBS.get(code, {})}.items():
            store.put_setting(program_key(program_id, knob), value)
    for chain_id, (name, name_fa, _) in CHAINS.items():
        registry.add_chain(store, chain_id, name, name_fa, now=now)
    chain_of = {m: chain_id for chain_id, (*_, members) in CHAINS.items() for m in members}
    for merchant_id, (name, name_fa, program) in MERCHANTS.items():
        store.add_merchant(
            merchant_id=merchant_id,
            name=name,
            name_fa=name_fa,
            program_id=program_ids[program],
            chain_id=chain_of.get(merchant_id),
        )
    for n, (merchant_id, status) in TERMINALS.items():
        terminal_id, ikid = terminal_identity(n)
        store.add_terminal(
            terminal_id=terminal_id, merchant_id=merchant_id, ikid=ikid, status=status
        )
    for code, (name, multiplier, credit_days, card_months) in PRODUCTS.items():
        store.add_product(
            code=code,
            name=name,
            multiplier=multiplier,
            credit_validity_days=credit_days,
            card_validity_months=card_months,
        )
        for knob, value in PRODUCT_DEFAULTS.items():
            store.put_setting(product_key(code, knob), value)
    expiry = tehran.add_months_yymm(now, 36)
    for pan, spec in CARDS.items():
        _seed_card(store, vault, pan, spec, now, expiry)
    for pan in behaviour_cards():
        spec = dict(status="active", phone="09129000" + pan[-4:-1], club=100_000_000)
        _seed_card(store, vault, pan, spec, now, expiry)
    _seed_pin_cards(store, vault, now, expiry)
    for pan in STOCK:
        add_card(store, vault, pan, status="unissued", now=now)
    for pan in POOL_STOCK:
        add_card(store, vault, pan, status="unissued", product="pool", now=now)


def _seed_pin_cards(store, vault, now, expiry):
    from simulator.club_server import pins

    for pan, (spec, pin, wrong) in PIN_CARDS.items():
        _seed_card(store, vault, pan, spec, now, expiry)
        card_id = store.card_by_hash(vault.lookup_hash(pan))["id"]
        pins.set_pin(store, vault, card_id, pan, pin, now)
        for _ in range(wrong):
            pins.count_wrong(store, card_id, now)


def add_card(
    store,
    vault,
    pan,
    *,
    status="active",
    product="standard",
    expiry=None,
    member_id=None,
    kind="club",
    linked_card_id=None,
    now,
):
    """Register a card number (stored as keyed hash + last 4 + AES-GCM blob); its id."""
    pan_hash = vault.lookup_hash(pan)
    return store.add_card(
        pan_hash=pan_hash,
        last4=pan[-4:],
        pan_enc=vault.encrypt(pan),
        kind=kind,
        linked_card_id=linked_card_id,
        member_id=member_id,
        product=product,
        status=status,
        expiry=expiry,
        created_at=now,
        issued_at=now if status != "unissued" else None,
    )


def add_member(
    store, now, phone=None, tier_floor=None, gender="F", birth="19900101", education="4"
):
    return store.add_member(
        phone=phone,
        gender=gender,
        birth_date=birth,
        education=education,
        tier=tier_floor or "C",
        tier_floor=tier_floor,
        tier_checked_at=now,
        created_at=now,
    )


def opening_balance(store, card_id, kind, merchant_id, amount, now, valid_days=None):
    """A balance given at seeding, written to the ledger like any other movement."""
    account = store.open_account(card_id, kind, merchant_id)
    expires_at = now + valid_days * DAY if valid_days else None
    accounts.credit(store, account, amount, None, "opening", now, expires_at)


def _seed_card(store, vault, pan, spec, now, expiry):
    member_id = add_member(store, now, spec.get("phone"), spec.get("tier"))
    card_id = add_card(
        store,
        vault,
        pan,
        status=spec["status"],
        product=spec.get("product", "standard"),
        expiry=spec.get("expiry", expiry),
        member_id=member_id,
        now=now,
    )
    if spec.get("club"):
        days = PRODUCTS[spec.get("product", "standard")][2]
        opening_balance(store, card_id, accounts.CLUB, "", spec["club"], now, days)
    for merchant_id, amount in spec.get("store", {}).items():
        opening_balance(store, card_id, accounts.STORE, merchant_id, amount, now, 90)
    for merchant_id, points in spec.get("points", {}).items():
        opening_balance(store, card_id, accounts.POINTS, merchant_id, points, now)
    if spec.get("bank"):
        add_card(
            store,
            vault,
            spec["bank"],
            kind="bank",
            linked_card_id=card_id,
            member_id=member_id,
            expiry=expiry,
            now=now,
        )


def add_load_terminals(db, count, first=LOAD_TERMINALS_FIRST, merchant_id=DEMO_MERCHANT):
    """Register `count` terminals numbered from `first` (for load tests); returns
    [(terminal id, initial key id hex)]. Existing ones are kept."""
    store, close = _open(db)
    made = []
    try:
        with store.transaction():
            for n in range(first, first + count):
                terminal_id, ikid = terminal_identity(n)
                if store.terminal_by_ikid(ikid) is None:
                    store.add_terminal(terminal_id=terminal_id, merchant_id=merchant_id, ikid=ikid)
                made.append((terminal_id, ikid))
    finally:
        if close:
            store.close()
    return made


def summary():
    return {
        "bdk": "FEDCBA9876543210F1F1F1F1F1F1F1F1 (X9.24-3 test BDK, TEST ONLY)",
        "merchants": {m: v[0] for m, v in MERCHANTS.items()},
        "terminals": {
            terminal_identity(n)[0]: (m, terminal_identity(n)[1], s)
            for n, (m, s) in TERMINALS.items()
        },
        "cards": {pan: spec["persona"] for pan, spec in CARDS.items()},
        "stock": STOCK + POOL_STOCK,
        "behaviour_cards": behaviour_cards(),
    }
