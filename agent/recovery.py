"""Power-up: replay the journal, finish what a power cut left open, send what is queued.

Rules for a transaction whose "txn" record has no outcome (docs/terminal.md "Recovery"):
- single phase (310000): closed, nothing is held;
- a "rsp" with a final code that is not an approval (messages.FINAL_0110 but not APPROVALS):
  closed, nothing is held; an approval (00, or 10, a split sale's credit part: the club holds
  it) goes on below; a "rsp" with a code that is not final (journals of earlier versions) is
  reversed below;
- a "pay" (the bank leg was asked): the bank leg's status of that payment decides: approved ->
  the 0220 is queued (tag 05 = its reference); anything else, or a bank leg without a status
  inquiry -> a 0420 PF is queued (a split sale's "pay" also says what the customer paid and
  its legs: the 0220 carries them, agent/split.py);
- anything else (the 0100 may or may not have reached the club, approved or not): a 0420 PF.
  This includes a transaction whose "rsp" a cut lost (it waits in RAM for the next synced
  record, agent/ledger.py DEFERRED): harmless, as the club answers 00 to the reversal of a
  0100 it declined or never approved, and a "pay" is never on flash without its "rsp".

Items created here carry field 25 = 06 (re-sent after a restart). Then the queue is drained
once, in order: items queued before the cut go first, as repeats (every item read back from
the journal counts as sent; one whose "qd" a cut lost is sent again, and answered as before).
"""

from agent import steps
from agent.protocol import messages as m

RESTART = m.CONDITION_RESENT_AFTER_RESTART


def finish_open(eng, entry, reason="PF", condition=RESTART, why="restart"):
    """Finish one open transaction; returns (action, stan). Also used, with reason ER and no
    condition, when an error escapes a flow (agent/engine.py): nothing waits for a restart."""
    txn = entry["txn"]
    rsp = entry["rsp"]
    stan = txn["s"]
    if txn.get("single"):
        steps.end(eng, stan, why)
        return ("closed", stan)
    if rsp is not None and rsp.get("rc") not in m.APPROVALS and rsp.get("rc") in m.FINAL_0110:
        steps.end(eng, stan, why)
        return ("closed", stan)
    pay = entry["pay"]
    if pay is not None:
        outcome = steps.bank_status(eng, pay["bid"])
        if outcome is not None and outcome.get("status") == "approved":
            ref = outcome.get("reference")
            paid = pay.get("paid", pay["amt"])
            legs = pay.get("legs")
            item = steps.followup(eng, entry, "0220", None, ref, condition, paid, legs)
            eng.saf.add(item)
            return ("confirmed", stan)
    eng.saf.add(steps.followup(eng, entry, "0420", reason=reason, condition=condition))
    return ("reversed", stan)


def recover(eng):
    """Load the journal and finish everything; a report dict (docs/terminal.md)."""
    torn = eng.ledger.load()
    actions = []
    if eng.ledger.open or eng.ledger.saf:
        eng.display.show("recovering", open=len(eng.ledger.open), queued=len(eng.ledger.saf))
    for entry in list(eng.ledger.open):
        actions.append(finish_open(eng, entry))
    eng.saf.drain(force=True)
    eng.maybe_compact()
    return {
        "torn": torn,
        "actions": actions,
        "pending": len(eng.saf),
        "parked": len(eng.ledger.parked),
    }
