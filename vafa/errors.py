"""The `vafa` command's own errors: one line for a person and an exit status (docs/errors.md).

    VafaError (Exception)        exit_code 1: the operation was tried and failed
        BadInput (ValueError)    exit_code 2: an input is not what the command expects

A job raises them (or its package's own errors, mapped by the job's ERRORS table) and the one
boundary in vafa/cli.py prints `vafa JOB COMMAND: message` on stderr (and a JSON object on
stdout with --json), then exits with the status. `detail` lines, when there are any, follow the
message (make's last lines of a failed firmware build).
"""


class VafaError(Exception):
    """An operation that failed; the message says what and why, in the user's words."""

    exit_code = 1

    def __init__(self, message, *, exit_code=None, detail=()):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
        self.detail = list(detail)


class BadInput(VafaError, ValueError):
    """An argument, a file or a port that is not what the command expects; `name` is the input
    (an option such as --db, or a positional's name)."""

    exit_code = 2

    def __init__(self, message, name=None, **kwargs):
        super().__init__(message, **kwargs)
        self.name = name
