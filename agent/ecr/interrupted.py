"""The ECR answer of a command a power cut interrupted (docs/ecr.md 6.3), given once at
power-up by EcrSession.recover (agent/ecr/session.py), which imports this only when the
session's store kept such a command."""

from agent.ecr import errored, spec
from agent.ecr.session import fit, leg_fields, local_time

STAN_WINDOW = 100  # STANs handed out after a "run" record that may belong to its command
# recovery action on the interrupted transaction -> result code
RECOVERED = {"confirmed": spec.APPROVED, "reversed": spec.REVERSED, "closed": spec.FAILED}
# result of a sale a restart cut after its 0220 was queued -> its message
CUT = {spec.APPROVED: "Completed before a restart", spec.DECLINED: errored.REFUSED_0220}


def _stan_after(stan, before):
    """Whether STAN `stan` was handed out shortly after `before` (STANs wrap at 999999)."""
    try:
        step = (int(stan) - int(before)) % 999999
    except (TypeError, ValueError):
        return False
    return 0 < step <= STAN_WINDOW


def answer(session, rec, report):
    """The result of a command whose run a power cut interrupted (docs/ecr.md 6.3): from the
    engine's recovery report, or the ledger's last transaction when it had finished."""
    fields = {"invoice": rec["i"], "result": spec.FAILED}
    message = "Interrupted by a restart before the club answered"
    before = rec.get("s")
    last = getattr(getattr(session.engine, "ledger", None), "last", None)
    if rec["c"] in spec.CLUB_RECOVERED and before is not None:
        for action, stan in report.get("actions", ()):
            if _stan_after(stan, before) and action in RECOVERED:
                fields["result"] = RECOVERED[action]
                fields["amount"] = rec.get("a")
                fields["stan"] = stan
                message = "Interrupted by a restart; recovery " + action + " it"
                break
        else:
            if (
                last is not None
                and _stan_after(last["q"].get("txn"), before)
                and last["state"] in ("pending", "confirmed", "conflict")
            ):
                q = last["q"]
                fields["result"] = spec.APPROVED
                if last["state"] == "conflict":  # the club refused its 0220 (12)
                    fields["result"] = spec.DECLINED
                fields["amount"] = int(q["f"]["4"])
                fields["stan"] = q["txn"]
                fields["rrn"] = fit("rrn", q["f"].get("37"))
                if q.get("card"):
                    fields["card"] = "****" + q["card"]
                message = CUT[fields["result"]]
    elif rec["c"] in ("void", "settlement"):
        message = "Interrupted by a restart: see the terminal's day report"
    q = last["q"] if last is not None else {}
    if fields["result"] == spec.APPROVED and q.get("legs") and _stan_after(q["txn"], before):
        from agent.split import legs_of  # a split sale: its legs (docs/ecr.md 3.6)

        leg_fields(fields, legs_of(q))
    fields["message"] = message
    fields["flow"] = rec["c"]
    fields["time"] = local_time(session._now(), getattr(session.engine, "offset_s", 0))
    out = {}
    for key in fields:
        if fields[key] is not None:
            out[key] = fields[key]
    return out
