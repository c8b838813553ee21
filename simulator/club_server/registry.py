"""The club's register of stores, chains, terminals and programs, changed by its operator
(`vafa club-server store|chain|terminal|program ...`, registry_cli.py).

Each function takes an open Storage, runs in one transaction and raises AdminError with one
sentence for the operator. The running server sees a change at its next request: every
transaction of the server starts by reading PRAGMA data_version, which moves when another
connection committed, and then drops its cache of these rows (server_storage.py); a change
made through the server's own connection (Database.call) drops it too.

A terminal or store is never deleted (transactions name them): it is deactivated, and the
host answers its requests 03 (docs/protocol.md 4.3 step 6). A terminal is deactivated or moved
to another store only when it has no approval waiting for its confirmation: a 0220 refused
with 03 would leave the terminal's sale unconfirmed (wait for the hold window, or for the
terminal's 0220 or 0420).

The SQL of the tables schema_additions.py added lives here beside them (storage.py and its
storage_*.py mixins hold the request path's).
"""

import re

from simulator.club_server import program_settings
from simulator.club_server.admin import AdminError
from simulator.club_server.program import PROGRAM_DEFAULTS, Program, program_key

MERCHANT_ID = re.compile(r"[A-Za-z0-9]{1,15}\Z")  # field 42: 15 characters, space-padded
TERMINAL_ID = re.compile(r"[A-Za-z0-9]{8}\Z")  # field 41: 8 characters
CHAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}\Z")
IKID = re.compile(r"[0-9A-Fa-f]{16}\Z")
ACTIVE, INACTIVE = "active", "inactive"
TERMINAL_STATUSES = (ACTIVE, INACTIVE, "unregistered")
STORE_STATUSES = (ACTIVE, INACTIVE)
NO_CHAIN = "none"  # `store change --chain none`: the store leaves its chain
# a new program's columns (the schema's defaults): 1 point per 10,000 rials, nothing else
NEW_PROGRAM = {
    "rials_per_point": 10_000,
    "discount_accounts": "40,60",
    "credit_validity_days": 90,
    "max_amount": 10_000_000_000,
}


def _check(pattern, text, what, expected):
    if not isinstance(text, str) or not pattern.match(text):
        raise AdminError(f"{what} {text!r}: expected {expected}")
    return text


def check_merchant_id(text):
    return _check(MERCHANT_ID, text, "merchant id", "1..15 ASCII letters or digits")


def check_terminal_id(text):
    return _check(TERMINAL_ID, text, "terminal id", "8 ASCII letters or digits, e.g. VT000005")


def check_chain_id(text):
    return _check(CHAIN_ID, text, "chain id", "1..32 ASCII letters, digits, - or _")


def check_ikid(text):
    return _check(IKID, text, "initial key id", "16 hex digits").upper()


def _printable(text):
    """Printable, the zero-width non-joiner of Persian words (U+200C) included."""
    return text.replace("\u200c", "").isprintable()


def check_name(text, what="name"):
    text = (text or "").strip()
    if not 1 <= len(text) <= 100 or not _printable(text):
        raise AdminError(f"{what} {text!r}: expected 1..100 printable characters")
    return text


# -- chains ---------------------------------------------------------------------------------


def chain(store, chain_id):
    return store._one("SELECT * FROM chains WHERE chain_id = ?", (chain_id,))


def add_chain(store, chain_id, name, name_fa="", *, now):
    check_chain_id(chain_id)
    name = check_name(name)
    name_fa = check_name(name_fa, "Persian name") if name_fa else ""
    with store.transaction():
        if chain(store, chain_id) is not None:
            raise AdminError(f"chain {chain_id} exists already")
        store._run(
            "INSERT INTO chains (chain_id, name, name_fa, created_at) VALUES (?, ?, ?, ?)",
            (chain_id, name, name_fa, now),
        )
        return chain(store, chain_id)


def chains(store):
    return store._all(
        "SELECT c.chain_id, c.name, c.name_fa, c.status, c.created_at, "
        "(SELECT group_concat(m.merchant_id, ' ') FROM merchants m "
        "WHERE m.chain_id = c.chain_id) AS stores FROM chains c ORDER BY c.chain_id"
    )


def _known_chain(store, chain_id):
    if chain(store, chain_id) is None:
        known = ", ".join(r["chain_id"] for r in chains(store)) or "none yet"
        raise AdminError(f"no chain {chain_id} (chains: {known}); add it with `chain add`")


# -- stores (merchants) -----------------------------------------------------------------------


def _merchant(store, merchant_id):
    row = store.merchant(merchant_id)
    if row is None:
        known = ", ".join(m["merchant_id"] for m in store.merchants()) or "none yet"
        raise AdminError(f"no store {merchant_id} (stores: {known})")
    return row


def _program_id(store, program_id):
    if store.program(program_id) is None:
        known = ", ".join(str(p["id"]) for p in programs(store)) or "none yet"
        raise AdminError(f"no program {program_id} (programs: {known}); add one with "
                         f"`program add`")  # fmt: skip
    return program_id


def add_store(store, merchant_id, name, name_fa, program_id, chain_id=None):
    check_merchant_id(merchant_id)
    name, name_fa = check_name(name), check_name(name_fa, "Persian name")
    with store.transaction():
        if store.merchant(merchant_id) is not None:
            raise AdminError(f"store {merchant_id} exists already")
        _program_id(store, program_id)
        if chain_id:
            _known_chain(store, check_chain_id(chain_id))
        store.add_merchant(
            merchant_id=merchant_id,
            name=name,
            name_fa=name_fa,
            program_id=program_id,
            chain_id=chain_id or None,
        )
        return store.merchant(merchant_id)


def change_store(store, merchant_id, *, name=None, name_fa=None, program_id=None, chain_id=None,
                 status=None):  # fmt: skip
    """Change what is given; chain_id NO_CHAIN takes the store out of its chain."""
    values = {}
    if name is not None:
        values["name"] = check_name(name)
    if name_fa is not None:
        values["name_fa"] = check_name(name_fa, "Persian name")
    if status is not None:
        if status not in STORE_STATUSES:
            raise AdminError(f"status {status!r}: expected {' or '.join(STORE_STATUSES)}")
        values["status"] = status
    with store.transaction():
        _merchant(store, merchant_id)
        if program_id is not None:
            values["program_id"] = _program_id(store, program_id)
        if chain_id is not None:
            if chain_id == NO_CHAIN:
                values["chain_id"] = None
            else:
                _known_chain(store, check_chain_id(chain_id))
                values["chain_id"] = chain_id
        if not values:
            raise AdminError("nothing to change: give --name, --name-fa, --program, --chain "
                             "or --status")  # fmt: skip
        if values.get("status") == INACTIVE:
            _no_open_approvals(store, "merchant_id", merchant_id, f"store {merchant_id}")
        store._update("merchants", "merchant_id", merchant_id, values)
        return store.merchant(merchant_id)


def deactivate_store(store, merchant_id):
    return change_store(store, merchant_id, status=INACTIVE)


def stores(store):
    return store._all(
        "SELECT m.merchant_id, m.name, m.name_fa, m.program_id, p.name AS program, "
        "m.chain_id, m.status, (SELECT COUNT(*) FROM terminals t "
        "WHERE t.merchant_id = m.merchant_id AND t.status = 'active') AS active_terminals "
        "FROM merchants m LEFT JOIN programs p ON p.id = m.program_id ORDER BY m.merchant_id"
    )


# -- terminals ------------------------------------------------------------------------------


def terminal(store, terminal_id):
    return store._one("SELECT * FROM terminals WHERE terminal_id = ?", (terminal_id,))


def _no_open_approvals(store, column, value, what):
    """Refuse while approvals of a terminal or store wait for their 0220 (a 0220 answered
    03 would leave the sale unconfirmed)."""
    row = store._one(
        f"SELECT COUNT(*) AS n, MAX(expires_at) AS until FROM txns "
        f"WHERE state = 'approved' AND {column} = ?",
        (value,),
    )
    if row["n"]:
        from simulator.club_server import listing

        raise AdminError(
            f"{what} has {row['n']} approval(s) waiting for confirmation; try again once "
            f"they are confirmed or reversed (at the latest {listing.jalali_time(row['until'])}"
            f" Tehran, the end of the hold window)"
        )


def add_terminal(store, terminal_id, merchant_id, ikid):
    check_terminal_id(terminal_id)
    ikid = check_ikid(ikid)
    with store.transaction():
        if terminal(store, terminal_id) is not None:
            raise AdminError(f"terminal {terminal_id} exists already")
        taken = store._one("SELECT terminal_id FROM terminals WHERE ikid = ?", (ikid,))
        if taken is not None:
            raise AdminError(f"initial key id {ikid} is terminal {taken['terminal_id']}'s")
        _merchant(store, merchant_id)
        store.add_terminal(terminal_id=terminal_id, merchant_id=merchant_id, ikid=ikid,
                           status=ACTIVE)  # fmt: skip
        return terminal(store, terminal_id)


def change_terminal(store, terminal_id, *, merchant_id=None, status=None):
    values = {}
    if status is not None:
        if status not in TERMINAL_STATUSES:
            raise AdminError(f"status {status!r}: expected {', '.join(TERMINAL_STATUSES)}")
        values["status"] = status
    with store.transaction():
        row = terminal(store, terminal_id)
        if row is None:
            raise AdminError(f"no terminal {terminal_id}")
        if merchant_id is not None:
            _merchant(store, merchant_id)
            values["merchant_id"] = merchant_id
        if not values:
            raise AdminError("nothing to change: give --store or --status")
        leaving = (
            values.get("status", ACTIVE) != ACTIVE
            or values.get("merchant_id", row["merchant_id"]) != row["merchant_id"]
        )
        if leaving:
            _no_open_approvals(store, "terminal_id", terminal_id, f"terminal {terminal_id}")
        store._update("terminals", "terminal_id", terminal_id, values)
        return terminal(store, terminal_id)


def deactivate_terminal(store, terminal_id):
    return change_terminal(store, terminal_id, status=INACTIVE)


def terminals(store, merchant_id=None):
    sql = (
        "SELECT t.terminal_id, t.merchant_id, m.name AS store, m.chain_id, t.ikid, t.status, "
        "m.status AS store_status, t.last_counter FROM terminals t "
        "LEFT JOIN merchants m ON m.merchant_id = t.merchant_id"
    )
    if merchant_id is None:
        return store._all(sql + " ORDER BY t.terminal_id")
    return store._all(sql + " WHERE t.merchant_id = ? ORDER BY t.terminal_id", (merchant_id,))


# -- programs --------------------------------------------------------------------------------


def programs(store):
    return store._all(
        "SELECT p.id, p.name, (SELECT group_concat(m.merchant_id, ' ') FROM merchants m "
        "WHERE m.program_id = p.id) AS stores FROM programs p ORDER BY p.id"
    )


def program_values(store, program_id):
    """Every setting of a program (program_settings.SETTINGS) -> its value."""
    row = store.program(program_id)
    if row is None:
        _program_id(store, program_id)
    settings = store.settings()
    values = {}
    for key, setting in program_settings.SETTINGS.items():
        if setting.where == "column":
            values[key] = row[key]
        else:
            raw = settings.get(program_key(program_id, key), PROGRAM_DEFAULTS[key])
            values[key] = program_settings.stored(key, raw)
    return values


def set_program(store, program_id, changes):
    """Check and save [(key, text)] in one transaction: each value against its setting, then
    the program as a whole; nothing is saved when any is wrong. The new values."""
    checked = {key: program_settings.check_value(key, text) for key, text in changes}
    with store.transaction():
        values = program_values(store, program_id)
        values.update({k: program_settings.stored(k, v) for k, v in checked.items()})
        problems = program_settings.check_program(values)
        if problems:
            raise AdminError(f"program {program_id} not changed: {'; '.join(problems)}")
        columns = {
            k: v for k, v in checked.items() if program_settings.SETTINGS[k].where == "column"
        }
        if columns:
            store._update("programs", "id", program_id, columns)
        for key, value in checked.items():
            if program_settings.SETTINGS[key].where == "knob":
                store.put_setting(program_key(program_id, key), value)
        Program(store.program(program_id))  # the server can build it
        return program_values(store, program_id)


def add_program(store, name, like=None):
    """A new program: a copy of program `like`, or every setting at its default; its id."""
    name = program_settings.check_value("name", name)
    with store.transaction():
        if like is not None:
            values = program_values(store, like)
        else:
            values = {
                key: program_settings.stored(key, PROGRAM_DEFAULTS[key])
                if s.where == "knob"
                else NEW_PROGRAM.get(key, 0)
                for key, s in program_settings.SETTINGS.items()
            }
        values["name"] = name
        columns = {
            k: v for k, v in values.items() if program_settings.SETTINGS[k].where == "column"
        }
        program_id = store.add_program(**columns)
        for key, setting in program_settings.SETTINGS.items():
            if setting.where == "knob":
                store.put_setting(program_key(program_id, key), values[key])
        return program_id


# -- the club's tier rule -------------------------------------------------------------------


def tier_values(store):
    """The tier rule's settings (tier_settings.TIER_SETTINGS) -> their values."""
    from simulator.club_server.program import DEFAULT_SETTINGS
    from simulator.club_server.tier_settings import TIER_SETTINGS

    settings = {**DEFAULT_SETTINGS, **store.settings()}
    return {key: int(settings[key]) for key in TIER_SETTINGS}


def set_tiers(store, changes):
    """Check and save [(key, text)] of the tier rule in one transaction; every member is
    marked for a new count, so each member's next request is priced at the tier the new rule
    gives (loyalty.current_tier) and the sweeper recounts them in full. The new values."""
    from simulator.club_server import tier_settings

    checked = {key: tier_settings.check_value(key, text) for key, text in changes}
    with store.transaction():
        values = {**tier_values(store), **checked}
        problems = tier_settings.check_tiers(values)
        if problems:
            raise AdminError(f"tiers not changed: {'; '.join(problems)}")
        for key, value in checked.items():
            store.put_setting(key, value)
        store._run("UPDATE members SET tier_dirty = 1")
        return tier_values(store)
