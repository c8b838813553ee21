"""Members by recency, frequency and monetary value (RFM), scored in quintiles; pure (the
numbers come from campaign_storage.purchase_totals). docs/club_server.md "RFM".

Each member with a confirmed purchase in the window gets three scores 1..5, one per measure:
recency (days from the last purchase to the report day: fewer is better), frequency (confirmed
purchases in the window) and monetary value (what they cost the member, amount - discount,
less confirmed refunds). A score is the member's quintile among all those members:
1 + floor(5 * w / n), w = how many members are strictly worse on that measure, n = how many
members there are; equal values get equal scores.

>>> quintiles([10, 20, 30, 40, 50])
[1, 2, 3, 4, 5]
>>> quintiles([7, 7, 9])
[1, 1, 4]
>>> segment(5, 5), segment(1, 1), segment(5, 1)
('champions', 'hibernating', 'new')
"""

import bisect

# (segment, recency scores, frequency scores, meaning): the first row that holds names it
SEGMENTS = (
    ("champions", (4, 5), (4, 5), "bought lately and often"),
    ("loyal", (3, 5), (4, 5), "buy often, not in the last weeks"),
    ("new", (4, 5), (1, 1), "a first purchase lately"),
    ("potential", (3, 5), (1, 3), "recent, not yet frequent"),
    ("at_risk", (1, 2), (3, 5), "used to buy often, not lately: a winback target"),
    ("hibernating", (1, 2), (1, 2), "long gone and rare"),
)
DAY = 86400.0


def quintiles(values):
    """The score 1..5 of each value (higher values are better)."""
    ordered = sorted(values)
    n = len(ordered)
    return [1 + 5 * bisect.bisect_left(ordered, v) // n for v in values]


def segment(r, f):
    for name, (r_low, r_high), (f_low, f_high), _ in SEGMENTS:
        if r_low <= r <= r_high and f_low <= f <= f_high:
            return name
    raise ValueError(f"no segment for R{r} F{f}")  # the table covers every pair


def score(totals, day_end):
    """Rows of campaign_storage.purchase_totals -> one dict per member with the measures, the
    scores, "rfm" ("545") and the segment; day_end: the end of the report day (Unix)."""
    recency = [int((day_end - t["last_at"]) // DAY) for t in totals]
    r_scores = quintiles([-d for d in recency])
    f_scores = quintiles([t["purchases"] for t in totals])
    m_scores = quintiles([t["spent"] for t in totals])
    rows = []
    for i, t in enumerate(totals):
        r, f, m = r_scores[i], f_scores[i], m_scores[i]
        rows.append(
            {
                "member_id": t["member_id"],
                "last_purchase": t["last_at"],
                "recency_days": recency[i],
                "frequency": t["purchases"],
                "monetary": t["spent"],
                "r": r,
                "f": f,
                "m": m,
                "rfm": f"{r}{f}{m}",
                "segment": segment(r, f),
            }
        )
    return rows


def summary(rows):
    """{segment: {"members": n, "monetary": rials}} for every segment, in table order."""
    out = {name: {"members": 0, "monetary": 0} for name, *_ in SEGMENTS}
    for row in rows:
        out[row["segment"]]["members"] += 1
        out[row["segment"]]["monetary"] += row["monetary"]
    return out
