"""The ECR answer of a command an error ended (agent/ecr/session.py), kept apart from the
session (its size): the engine finishes the transaction the error left open, and when the full
answer cannot be made (MemoryError) its outcome still goes out (docs/terminal.md "Errors inside
a flow", docs/hostlink.md section 6)."""

from agent.ecr import spec

REFUSED_0220 = "Not completed: the club refused the confirmation"


def result(engine, error):
    """The engine's result for the transaction the error left open (reversed ER, or
    confirmed when the bank leg charged), else failed."""
    abandon = getattr(engine, "abandon", None)
    if abandon is not None:
        try:
            res = abandon(error)
        except Exception:  # still open: the next restart finishes it (agent/recovery.py)
            res = None
        if res is not None:
            return res
    return {"outcome": "failed", "message": "terminal error: " + str(error)}


def bare(res, invoice, error):
    """The answer when the full one cannot be made: the outcome, the invoice, the STAN."""
    fields = {"result": spec.OUTCOMES.get(res.get("outcome"), spec.FAILED)}
    fields["message"] = "terminal error: " + type(error).__name__
    if invoice:
        fields["invoice"] = invoice
    if res.get("stan"):
        fields["stan"] = res["stan"]
    return fields
