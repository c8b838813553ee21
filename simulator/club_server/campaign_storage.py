"""The campaigns' tables and every SQL statement the campaigns run (campaigns.py,
return_offer.py, referral.py, survey.py, rfm.py), over a storage.Storage connection.

Tables (brought into any database at open by schema_additions, idempotently):

- campaign_grants: one row per member per campaign per period, UNIQUE (campaign, member_id,
  period). The row is written in the same database transaction as the credit or SMS it stands
  for, with INSERT OR IGNORE: a re-run, or a run after a crash, finds the row and gives
  nothing twice. A "winback" row is also the return offer (offer_bp, valid_until) and says
  which transaction used it (used_txn_id) and for how much (amount).
- referrals: the new member (primary key: referred once), the referrer, and the first
  confirmed purchase that rewarded both (rewarded_txn_id, set once: WHERE ... IS NULL).
- campaign_marks: when a member last got a campaign that repeats by days (the survey SMS).
"""

PURCHASE_PROCS = ("000000", "004000", "006000", "007000")
_PROCS = ", ".join(f"'{p}'" for p in PURCHASE_PROCS)

TABLES = {
    "campaign_grants": (
        "CREATE TABLE IF NOT EXISTS campaign_grants (id INTEGER PRIMARY KEY, "
        "campaign TEXT NOT NULL, member_id INTEGER NOT NULL REFERENCES members(id), "
        "period TEXT NOT NULL, card_id INTEGER REFERENCES cards(id), "
        "merchant_id TEXT NOT NULL, amount INTEGER NOT NULL DEFAULT 0, "
        "offer_bp INTEGER NOT NULL DEFAULT 0, valid_until REAL, used_txn_id INTEGER, "
        "created_at REAL NOT NULL, UNIQUE (campaign, member_id, period))"
    ),
    "referrals": (
        "CREATE TABLE IF NOT EXISTS referrals (member_id INTEGER PRIMARY KEY "
        "REFERENCES members(id), referrer_id INTEGER NOT NULL REFERENCES members(id), "
        "merchant_id TEXT NOT NULL, created_at REAL NOT NULL, rewarded_txn_id INTEGER, "
        "rewarded_at REAL)"
    ),
    "campaign_marks": (
        "CREATE TABLE IF NOT EXISTS campaign_marks (member_id INTEGER NOT NULL, "
        "campaign TEXT NOT NULL, last_at REAL NOT NULL, txn_id INTEGER, "
        "PRIMARY KEY (member_id, campaign)) WITHOUT ROWID"
    ),
}
INDEXES = {
    "campaign_grants_member": (
        "CREATE INDEX IF NOT EXISTS campaign_grants_member ON campaign_grants(member_id, campaign)"
    ),
    "campaign_grants_used": (
        "CREATE INDEX IF NOT EXISTS campaign_grants_used ON campaign_grants(used_txn_id) "
        "WHERE used_txn_id IS NOT NULL"
    ),
    "members_phone": "CREATE INDEX IF NOT EXISTS members_phone ON members(phone)",
}


# -- the job ------------------------------------------------------------------------------


def last_visits(store, before):
    """Per member, the last confirmed purchase before `before`: member_id, merchant_id, last_at
    (SQLite gives the bare columns of the row that holds the MAX)."""
    return store._all(
        "SELECT c.member_id AS member_id, t.merchant_id AS merchant_id, "
        "MAX(t.confirmed_at) AS last_at FROM txns t JOIN cards c ON c.id = t.card_id "
        f"WHERE t.state = 'confirmed' AND t.proc IN ({_PROCS}) AND c.member_id IS NOT NULL "
        "AND t.confirmed_at < ? GROUP BY c.member_id ORDER BY c.member_id",
        (before,),
    )


def members_with_birth_date(store):
    return store._all(
        "SELECT id, phone, birth_date FROM members WHERE birth_date IS NOT NULL "
        "AND birth_date != '' ORDER BY id"
    )


def active_card(store, member_id):
    """The member's newest active club card (not a linked bank card), or None."""
    return store._one(
        "SELECT * FROM cards WHERE member_id = ? AND status = 'active' AND kind = 'club' "
        "ORDER BY issued_at DESC, id DESC LIMIT 1",
        (member_id,),
    )


def add_grant(store, **values):
    """Insert a grant unless (campaign, member_id, period) has one; True when inserted."""
    keys = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cur = store._run(
        f"INSERT OR IGNORE INTO campaign_grants ({keys}) VALUES ({marks})",
        tuple(values.values()),
    )
    return cur.rowcount == 1


def grants(store, campaign=None, member_id=None):
    where, args = [], []
    if campaign is not None:
        where.append("campaign = ?")
        args.append(campaign)
    if member_id is not None:
        where.append("member_id = ?")
        args.append(member_id)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return store._all(f"SELECT * FROM campaign_grants{clause} ORDER BY id", tuple(args))


# -- the return offer at the till ----------------------------------------------------------


def open_offer(store, member_id, merchant_id, now):
    """The member's return offer at this store still valid at `now` and not used by a live
    transaction (one reversed, released or voided gives it back), the newest first."""
    return store._one(
        "SELECT g.* FROM campaign_grants g LEFT JOIN txns t ON t.id = g.used_txn_id "
        "WHERE g.member_id = ? AND g.campaign = 'winback' AND g.merchant_id = ? "
        "AND g.valid_until > ? AND g.offer_bp > 0 "
        "AND (g.used_txn_id IS NULL OR t.state NOT IN ('approved', 'confirmed')) "
        "ORDER BY g.id DESC LIMIT 1",
        (member_id, merchant_id, now),
    )


def use_offer(store, grant_id, txn_id, extra):
    """The offer is taken by `txn_id` for `extra` rials (amount: what it gave)."""
    store._run(
        "UPDATE campaign_grants SET used_txn_id = ?, amount = ? WHERE id = ?",
        (txn_id, extra, grant_id),
    )


def offer_of_txn(store, txn_id):
    return store._one(
        "SELECT * FROM campaign_grants WHERE used_txn_id = ? AND campaign = 'winback'", (txn_id,)
    )


# -- referral --------------------------------------------------------------------------------


def member_by_phone(store, phone):
    return store._one("SELECT * FROM members WHERE phone = ? ORDER BY id LIMIT 1", (phone,))


def add_referral(store, member_id, referrer_id, merchant_id, now):
    store._run(
        "INSERT OR IGNORE INTO referrals (member_id, referrer_id, merchant_id, created_at) "
        "VALUES (?, ?, ?, ?)",
        (member_id, referrer_id, merchant_id, now),
    )


def referral(store, member_id):
    return store._one("SELECT * FROM referrals WHERE member_id = ?", (member_id,))


def claim_referral(store, member_id, txn_id, now):
    """Mark the member's referral rewarded by `txn_id`; True only the first time."""
    cur = store._run(
        "UPDATE referrals SET rewarded_txn_id = ?, rewarded_at = ? "
        "WHERE member_id = ? AND rewarded_txn_id IS NULL",
        (txn_id, now, member_id),
    )
    return cur.rowcount == 1


# -- marks (the survey) ----------------------------------------------------------------------


def mark_if_older(store, member_id, campaign, now, older_than, txn_id):
    """Set the member's mark for `campaign` to `now` when it is missing or not after
    `older_than`; True when it was set (then the campaign goes out)."""
    cur = store._run(
        "INSERT INTO campaign_marks (member_id, campaign, last_at, txn_id) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (member_id, campaign) DO UPDATE SET last_at = excluded.last_at, "
        "txn_id = excluded.txn_id WHERE campaign_marks.last_at <= ?",
        (member_id, campaign, now, txn_id, older_than),
    )
    return cur.rowcount == 1


# -- RFM -------------------------------------------------------------------------------------


def purchase_totals(store, since, before):
    """Per member with a confirmed purchase in [since, before): the last one's time, how many
    and what they cost the member (amount - discount, less confirmed refunds of the window)."""
    return store._all(
        "SELECT c.member_id AS member_id, MAX(CASE WHEN t.proc IN "
        f"({_PROCS}) THEN t.confirmed_at END) AS last_at, "
        f"SUM(t.proc IN ({_PROCS})) AS purchases, "
        f"SUM(CASE WHEN t.proc IN ({_PROCS}) THEN t.amount - t.discount "
        "WHEN t.proc LIKE '20%' THEN -t.amount ELSE 0 END) AS spent "
        "FROM txns t JOIN cards c ON c.id = t.card_id "
        "WHERE t.state = 'confirmed' AND c.member_id IS NOT NULL "
        "AND t.confirmed_at >= ? AND t.confirmed_at < ? "
        "GROUP BY c.member_id HAVING purchases > 0 ORDER BY c.member_id",
        (since, before),
    )
