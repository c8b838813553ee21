"""The expectation checks of a step (docs/testing.md "## Scenarios"): its result, screens,
receipts, queue and bank charges, and the club's database (balances, SMS outbox, ledger),
which an outside club leaves unchecked."""

from simulator.pos_emulator.scenario.card_reader import persona_number

CLUB_DATABASE_KEYS = ("balances", "ledger_ok", "sms")  # expectations read from the club database


def _collapse(lines):
    return " ".join(str(line).strip() for line in lines if str(line).strip())


def _same(expected, actual):
    if expected == actual:
        return True
    if (
        isinstance(actual, str)
        and isinstance(expected, int | float)
        and not isinstance(expected, bool)
    ):
        return str(expected) == actual
    if isinstance(expected, str) and isinstance(actual, int | float):
        return expected == str(actual)
    return False


def check(c, step, expect, result, screens, receipts, charges):
    """The failed expectations of one step, as sentences."""
    failed = []

    def want(key, expected, actual, extra=""):
        if not _same(expected, actual):
            failed.append(f"expected {key} {expected!r}, got {actual!r}{extra}")

    needs_result = {"outcome", "response_code", "reason", "message", "confirmed", "result"}
    if needs_result & set(expect) and result is None:
        return [f"expects {', '.join(sorted(needs_result & set(expect)))} but the step ran no flow"]
    why = ""
    if result is not None:
        why = (
            f" ({result.get('message') or 'no message'}; response code "
            f"{result.get('response_code')})"
        )
    for key in ("outcome", "response_code", "reason", "confirmed"):
        if key in expect:
            want(key, expect[key], result.get(key), why)
    if "message" in expect and str(expect["message"]) not in str(result.get("message")):
        failed.append(
            f"expected message containing {expect['message']!r}, got {result.get('message')!r}"
        )
    for key, expected in (expect.get("result") or {}).items():
        if key not in result:
            failed.append(
                f"expected result.{key} {expected!r}, but the result has no {key} "
                f"(keys: {', '.join(sorted(result))})"
            )
        else:
            want(f"result.{key}", expected, result[key])
    screen_text = "\n".join(_collapse(s) for s in screens).casefold()
    for text in expect.get("screen", ()):
        if text.casefold() not in screen_text:
            failed.append(  # noqa: PERF401
                f"expected a screen showing {text!r}; screens shown: "
                f"{' / '.join(_collapse(s) for s in screens) or 'none'}"
            )
    for text in expect.get("no_screen", ()):
        if text.casefold() in screen_text:
            failed.append(f"expected no screen showing {text!r}, but one did")  # noqa: PERF401
    receipt_text = "\n".join(_collapse(r) for r in receipts).casefold()
    for text in expect.get("receipt", ()):
        if text.casefold() not in receipt_text:
            failed.append(  # noqa: PERF401
                f"expected a receipt with {text!r}; "
                + (f"{len(receipts)} receipt(s) printed" if receipts else "no receipt printed")
            )
    if "receipts" in expect:
        want("receipts", expect["receipts"], len(receipts), " printed")
    if "pending" in expect:
        want("pending", expect["pending"], c.terminal.engine.pending(), " queued")
    if "bank_charges" in expect:
        want("bank_charges", expect["bank_charges"], charges)
    if c.world.club is None:  # an outside club: its database is not here
        c.world.unchecked.extend(key for key in CLUB_DATABASE_KEYS if key in expect)
        return failed
    for row in expect.get("balances", ()):
        pan = persona_number(row["card"]) or row["card"]
        merchant = row.get("merchant", c.merchant[0])
        found = c.world.balances(pan, merchant)
        if found is None:
            failed.append(f"expected balances of card {row['card']}, but the club has no such card")
            continue
        for kind in ("club_credit", "store_credit", "points"):
            if kind in row:
                want(f"{kind} of {row['card']}", row[kind], found[kind])
    sms = c.world.sms_texts() if expect.get("sms") else []
    for text in expect.get("sms", ()):
        if not any(text in t for t in sms):
            failed.append(f"expected an SMS with {text!r} in the club's outbox")  # noqa: PERF401
    if "ledger_ok" in expect:
        report = c.world.ledger()
        if report.ok != expect["ledger_ok"]:
            failed.append(
                f"expected ledger_ok {expect['ledger_ok']}, got {report.ok}: "
                + "; ".join(report.findings[:3])
            )
    return failed
