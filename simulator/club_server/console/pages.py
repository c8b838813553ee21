"""What each console page shows, rendered with Jinja2 (autoescaped). Pure: rows, stories and
reports in (from simulator.club_server.queries), HTML out; the form's inputs are read with the
same parsers as the command line (simulator.club_server.listing)."""

from pathlib import Path

import jinja2

from simulator.club_server import listing, queries, reports
from simulator.club_server.cards import mask
from simulator.club_server.console.chart import hourly_svg

TEMPLATES = Path(__file__).parent / "templates"
TITLES = {
    "txns": "Transactions",
    "members": "Members",
    "cards": "Cards",
    "holds": "Holds",
    "settlements": "Settlements",
    "outbox": "SMS outbox",
}
NAV = [
    ("/", "Overview"),
    *((f"/{n}", t) for n, t in TITLES.items()),
    ("/report", "Daily report"),
    ("/settlements-due", "Settlements due"),
]
# form field -> (label, placeholder)
FIELDS = {
    "last4": ("card (last 4)", "1234"),
    "terminal": ("terminal", "VT000001"),
    "store": ("store", "VAFA00000000001"),
    "since": ("from day", "1405/09/13"),
    "until": ("to day", "1405/09/13"),
}
PARSERS = {"last4": listing.parse_last4, "since": listing.parse_day, "until": listing.parse_day}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["money"] = lambda n: "" if n is None else f"{n:,}"
_env.filters["signed"] = lambda n: f"{n:+,}"
_env.filters["jalali"] = listing.jalali_time
_env.filters["utc"] = listing.utc_time
_env.filters["card"] = lambda last4: mask(last4) if last4 else "-"


class BadFilter(ValueError):
    """A form field the console cannot use; the message names the field."""


def render(template, **context):
    return _env.get_template(template).render(nav=NAV, **context)


def parse_filters(name, query):
    """(filters, the inputs as typed, limit) of a list page's query string."""
    spec = queries.LISTS[name]
    filters, typed = {}, {}
    for key in (*spec.filters, "since", "until"):
        text = query.get(key, "").strip()
        typed[key] = text
        if not text:
            continue
        if key == "status" and text not in queries.STATUSES[name]:
            raise BadFilter(f"status {text!r}: one of {', '.join(queries.STATUSES[name])}")
        try:
            filters[key] = PARSERS.get(key, str)(text)
        except ValueError as e:
            shown = "" if key == "last4" else f" {text!r}"
            raise BadFilter(f"{FIELDS[key][0]}{shown}: {e}") from None
    limit_text = query.get("limit", "").strip() or str(queries.DEFAULT_LIMIT)
    if not (limit_text.isascii() and limit_text.isdigit()) or not (
        1 <= int(limit_text) <= queries.MAX_LIMIT
    ):
        raise BadFilter(f"rows {limit_text!r}: a whole number from 1 to {queries.MAX_LIMIT}")
    typed["limit"] = limit_text
    return filters, typed, int(limit_text)


def list_context(name, rows, typed, as_of):
    """What list.html and list_live.html show."""
    headers = listing.headers(name)
    link = headers.index("rrn") if "rrn" in headers else None
    return {
        "name": name,
        "title": TITLES[name],
        "headers": headers,
        "rows": [
            {"cells": listing.cells(name, r), "rrn": r.get("rrn"), "state": r.get("state")}
            for r in rows
        ],
        "link": link,
        "fields": [(k, *FIELDS[k]) for k in queries.LISTS[name].filters if k in FIELDS]
        + [(k, *FIELDS[k]) for k in ("since", "until")],
        "statuses": queries.STATUSES[name],
        "status_label": "tier" if name == "members" else "state",
        "typed": typed,
        "as_of": as_of,
    }


def report_context(report, date, as_of):
    return {
        "title": "Daily report",
        "date": date.isoformat(),
        "date_jalali": listing.jalali_date(date),
        "chart": hourly_svg(report["hours"]),
        "hours": report["hours"],
        "rows": listing.report_rows(report),
        "columns": listing.REPORT_COLUMNS,
        # what the purchases were paid with, per leg (docs/protocol.md 5.11)
        "legs": [(key, reports.LEG_TITLES[key]) for key in reports.LEGS.values()],
        "as_of": as_of,
    }
