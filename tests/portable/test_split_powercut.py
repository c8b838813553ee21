"""Power cuts in a split sale (agent/split.py): at every storage write of a split sale whose
remainder is paid on the bank leg, or in cash, the terminal is thrown away, rebuilt over what
the storage holds and recovered (tests/portable/test_powercut.py does the cutting). Then the
credit part and the remainder are both done or both undone: the club confirmed the sale (its
credit part debited) exactly when the bank leg charged the remainder (tender 40), nothing is
held, and the terminal goes on selling.
"""

import gc

from tests.portable.fakehost import PAN, START_CREDIT
from tests.portable.splithost import SplitHost
from tests.portable.test_powercut import (
    MODES,
    RESERVES,
    check_after_recovery,
    run_with_cut,
    write_with,
    writes_of,
)

# As test_powercut.py (see its note), with the split host and agent/split.py besides.
MICROPYTHON_HEAP = 417792

SALE = START_CREDIT + 1085000


def bank_split(eng):
    from tests.portable.fakehost import card

    eng.purchase_split(SALE, "60", "40", card())


def cash_split(eng):
    from tests.portable.fakehost import card

    eng.purchase_split(SALE, "60", "00", card())


def both_or_neither(t, tender):
    """The split's two legs agree: confirmed with the bank's charge, or reversed without it."""
    sale = [x for x in t.host.txns.values() if x.get("split")]
    assert len(sale) <= 1, t.host.txns  # none: cut before the 0100 left
    state = sale[0]["state"] if sale else None
    charges = [c for c in t.bank.charges() if c["amount"] == SALE - START_CREDIT]
    if tender == "40":
        assert (state == "confirmed") == (len(charges) == 1), (state, charges)
        if charges:
            assert sale[0]["bank_ref"] == charges[0]["reference"]
    else:
        assert charges == []
    debited = START_CREDIT if state == "confirmed" else 0
    assert t.host.credit.get(PAN, START_CREDIT) == START_CREDIT - debited, t.host.credit


def sweep(sale, tender, bank_script=()):
    cuts = 0
    for reserve in RESERVES:
        total = len(writes_of(sale, bank_script, reserve, SplitHost))
        for at in range(total):
            for mode in MODES:
                storage, t, was_cut = run_with_cut(sale, at, mode, bank_script, reserve, SplitHost)
                assert was_cut, (reserve, at, mode)
                check_after_recovery(storage, t)
                both_or_neither(t, tender)
                cuts += 1
                gc.collect()
        storage, t, was_cut = run_with_cut(sale, None, None, bank_script, reserve, SplitHost)
        assert not was_cut
        check_after_recovery(storage, t)
        both_or_neither(t, tender)
        assert [x["state"] for x in t.host.txns.values() if x.get("split")] == ["confirmed"]
        cuts += 1
    return cuts


def test_cut_at_every_write_of_a_split_with_the_bank_leg():
    assert sweep(bank_split, "40") >= 30


def test_cut_at_every_write_of_a_split_whose_bank_answer_was_lost():
    # the bank leg charged but its answer was lost: found by the status inquiry
    sweep(bank_split, "40", ["timeout_charged"])


def test_cut_at_every_write_of_a_split_with_cash():
    assert sweep(cash_split, "00") >= 20


def test_a_cut_between_the_legs_finishes_by_the_bank_legs_status():
    """The cut comes just after the bank leg charged the remainder, before the 0220 was
    queued: recovery asks the bank leg, finds the charge and confirms the split (0220 with
    the bank reference, both legs), which the day report then counts on each leg."""
    log = writes_of(bank_split, host_type=SplitHost)
    storage, t, _ = run_with_cut(bank_split, write_with(log, "q"), "before", host_type=SplitHost)
    assert len(t.bank.charges()) == 1 and t.host.states() == ["held"]
    t2 = check_after_recovery(storage, t)
    both_or_neither(t, "40")
    assert t.host.credit[PAN] == 0
    assert t2.engine.ledger.legs == {"60": START_CREDIT, "40": SALE - START_CREDIT, "00": 20000}


def test_durable_writes_of_a_split_sale():
    """What a split sale costs the flash, as test_powercut.py counts the other flows: the bank
    remainder as a bank-card sale (txn; pay with the 10's rsp; q), the cash one as a credit
    sale (txn; q with the rsp)."""
    from agent.storage import RESERVE, MemoryStorage
    from tests.portable.fakehost import Terminal, card

    storage = MemoryStorage(None, RESERVE)
    t = Terminal(storage, host=SplitHost(), compact_bytes=1 << 30)
    t.engine.recover()
    assert t.engine.purchase_cash(20000, card())["confirmed"]  # reserves STANs and counters
    for tender, want in (("40", (3, 0)), ("00", (2, 0))):
        t.host.credit[PAN] = START_CREDIT
        before = (storage.fsyncs, storage.renames)
        res = t.engine.purchase_split(SALE, "60", tender, card())
        assert res["outcome"] == "approved" and res["response_code"] == "10", res
        got = (storage.fsyncs - before[0], storage.renames - before[1])
        assert got == want, (tender, got, want)
