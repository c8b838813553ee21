"""What the device's serve loops do with an exception nothing else caught (a MemoryError on a
board's small heap first of all): the loop goes on serving the cashier (docs/hostlink.md
section 6, docs/ecr.md 6.2).

    try:
        ... one turn of the loop ...
    except Exception as e:
        say(guard.handled(engine, session, e, stopped))

`stopped`: the running command's work ended with this error (the cooperative runner ran it
in the loop); a command that runs on a thread of its own answers for itself and is left alone.
The open transaction such an error leaves is finished as the engine finishes one an error
ended (agent/engine.py: the bank leg's status, else a 0420 ER), and the command is answered
with that result; with nothing open, "failed". The line names the error's type only: an
exception's text may carry what the command was working on (never a card number in clear).
"""

import gc


def handled(engine, session, error, stopped=False):
    """Settle what the error left (see above); the console line to log."""
    gc.collect()
    line = "VAFA-ERROR " + type(error).__name__ + " outside a command: still serving"
    job = session.job
    if job is not None and not stopped:
        return line  # the command still runs on its thread
    try:
        if job is not None:
            if session.abort(error):  # finishes the open transaction through the engine
                line = (
                    "VAFA-ERROR " + type(error).__name__ + " in a command: answered, still serving"
                )
        elif engine.abandon(error) is not None:
            line = "VAFA-ERROR " + type(error).__name__ + ": open transaction finished"
    except Exception:  # (the heap again) the next restart finishes it (agent/recovery.py)
        gc.collect()
    return line
