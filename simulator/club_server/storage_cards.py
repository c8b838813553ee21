"""Members and cards in the database (cards by keyed hash, never a card number).

Methods of storage.Storage, which composes this mixin: they rely on its _one, _all, _run,
_insert and _update helpers (the connection is Storage's).
"""


class CardRows:
    # -- members and cards ------------------------------------------------------------------

    def add_member(self, **values):
        return self._insert("members", values)

    def member(self, member_id):
        return self._one("SELECT * FROM members WHERE id = ?", (member_id,))

    def update_member(self, member_id, **values):
        self._update("members", "id", member_id, values)

    def members_to_retier(self, before, limit):
        return self._all(
            "SELECT * FROM members WHERE tier_dirty = 1 OR tier_checked_at IS NULL "
            "OR tier_checked_at < ? ORDER BY id LIMIT ?",
            (before, limit),
        )

    def add_card(self, **values):
        return self._insert("cards", values)

    def card_by_hash(self, pan_hash):
        return self._one("SELECT * FROM cards WHERE pan_hash = ?", (pan_hash,))

    def card(self, card_id):
        return self._one("SELECT * FROM cards WHERE id = ?", (card_id,))

    def update_card(self, card_id, **values):
        self._update("cards", "id", card_id, values)

    def cards_by_status(self, status):
        return self._all("SELECT * FROM cards WHERE status = ? ORDER BY id", (status,))

    def member_volume(self, member_id, since):
        """Confirmed purchases (amount - discount) minus confirmed refunds of a member's cards
        since a time."""
        # CROSS JOIN: from the member's cards (cards_member), then each card's txns by
        # txns_card. With a plain JOIN SQLite picked txns_open (state = 'confirmed') and read
        # every confirmed transaction of the club per call (docs/performance.md).
        row = self._one(
            "SELECT COALESCE(SUM(CASE WHEN t.proc LIKE '00%' THEN t.amount - t.discount "
            "WHEN t.proc LIKE '20%' THEN -t.amount ELSE 0 END), 0) AS v "
            "FROM cards c CROSS JOIN txns t ON t.card_id = c.id "
            "WHERE c.member_id = ? AND t.state = 'confirmed' AND t.confirmed_at >= ?",
            (member_id, since),
        )
        return row["v"]
