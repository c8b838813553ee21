"""The step actions of a scenario: what each step kind (card, keys, wait, drain, register,
campaigns, restart, flow) does on one copy's terminal, and the result it gives (a flow's
result, or one in its shape) for the expectations."""

import time

from simulator.pos_emulator.scenario.schema import ACCOUNTS, FLOWS
from simulator.pos_emulator.scenario.step_failed import StepFailed


def run_action(c, step, value, params):
    engine = c.terminal.engine
    if step.action == "card":
        c.reader.show(value)
        return None
    if step.action == "keys":
        if isinstance(value, dict):
            for k, v in value.items():
                if v is None:
                    c.keypad.answers.pop(k, None)
                else:
                    c.keypad.answers[k] = v
        else:
            c.keypad.confirms.extend(v == "confirm" for v in value)
        return None
    if step.action == "wait":
        time.sleep(value)
        return None
    if step.action == "drain":
        engine.saf.drain(force=True)
        left = engine.pending()
        return {"flow": "drain", "pending": left, "outcome": "approved" if not left else "failed"}
    if step.action == "register":
        if c.world.club is None:
            raise StepFailed("register: changes the club's register; the club is an outside one")
        ok, text = c.world.run_register(value)
        return {"flow": "register", "outcome": "approved" if ok else "declined", "message": text}
    if step.action == "campaigns":
        if c.world.club is None:
            raise StepFailed("campaigns: runs the club's job, but the club is an outside one")
        return {"flow": "campaigns", "outcome": "approved", **c.world.run_campaigns(value)}
    if step.action == "restart":
        report = c.restart_terminal()
        return {"flow": "restart", "outcome": "approved", "recovered": len(report["actions"])}
    if step.action == "flow":
        method = getattr(engine, FLOWS[value][0])
        if value in ("sign_on", "echo"):
            rc = method()
            outcome = "approved" if rc == "00" else "failed" if rc is None else "declined"
            return {"flow": value, "response_code": rc, "outcome": outcome}
        if value == "refund":
            account = ACCOUNTS[params.get("account", "club_credit")]
            return method(params["amount"], params["rrn"], account)
        if value == "split":  # docs/protocol.md 5.11
            account = ACCOUNTS[params.get("account", "club_credit")]
            tender = ACCOUNTS[params["tender"]]
            return method(params["amount"], account, tender, coupon=params.get("coupon"))
        if "amount" in params:
            amount = params["amount"]
            if not isinstance(amount, int):
                raise StepFailed(f"amount {amount!r} is not a whole number of rials")
            if "coupon" in params:  # keyed in before the card (docs/protocol.md 5.10)
                return method(amount, coupon=params["coupon"])
            return method(amount)
        return method()
    return None
