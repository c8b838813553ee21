"""The cashier's client of the ECR link: one method per command, a Result per answer.

    with EcrClient("socket://127.0.0.1:9100") as ecr:           # or "/dev/ttyUSB0", "loop://"
        result = ecr.sale(1_200_000, invoice="INV-1001", cashier="07")
        if result.ok:
            print(result.payable, result.card, result.rrn)

Lost answers (docs/ecr.md section 7): when a sale, refund, void, settlement or top-up gets no
ACK, no answer within its timer, or the line breaks, the client does not guess. It asks the
terminal for the status of the invoice (reconnecting as needed, for up to Timers.recover_s): a
kept result is returned (`recovered` is True); "in progress" is asked again every T3; "unknown
invoice" means the command never arrived, so it is sent again, once (safe: the terminal never
runs an invoice twice). Only when the terminal cannot be reached at all does the call raise,
and the LinkError's `sent` says which case it is: False, the command never left (the port
could not be opened: PortError, raised at once, with no status inquiry since there is nothing
to ask about); True, it went out and neither it nor a status inquiry was answered: its
outcome is unknown.

Values are checked before anything is sent (check_fields): a MessageError says which field and
what it must be in the cashier's words ("amount must be a positive whole number of rials").
"""

import time
from dataclasses import dataclass, field

from construct import ConstructError

from hostbridge.deadline import Deadline
from hostbridge.errors import LinkError, MessageError, ResponseTimeout
from hostbridge.link import FrameLink, Timers
from hostbridge.protocol import (
    COMMAND_NAMES,
    COMMANDS,
    COUPON_METHODS,
    CREDIT_METHODS,
    FIELD_TAGS,
    FIELDS,
    METHODS,
    RESPONSE,
    RESULTS,
    SPLITS,
)
from hostbridge.transport import Transport

# results kept by invoice on the terminal
KEPT = ("sale", "refund", "void", "settlement", "topup")

# what each value the cashier sends must be, in the cashier's words: the codec's limits
# (docs/ecr.md 3.3), and an amount above 0 (a sale of nothing is refused before it is sent)
RULES = {
    "amount": "a positive whole number of rials",
    "invoice": "1 to 20 printable ASCII characters",
    "cashier": "1 to 16 printable ASCII characters",
    "method": "one of " + ", ".join(METHODS),
    "original_rrn": "the purchase's RRN: 12 printable ASCII characters",
    "account": "two digits: 00 cash, 40 bank card, 60 club credit, 70 store credit",
    "original_invoice": "1 to 20 printable ASCII characters",
    "text": "text of 1 to 2048 bytes in UTF-8",
    "seconds": "a whole number of seconds from 0 to 999",
    "coupon": "a coupon code: 4 to 16 letters A-Z and digits 0-9",
    "split": "bank or cash: how the rest is paid after the credit",
}
# the legs of a split sale, its void or refund (docs/ecr.md 3.6): the answer's fields of each
LEGS = (("credit_account", "credit_part"), ("remainder_account", "remainder"))


def coupon_code(text):
    """The code as the terminal takes it: uppercase, no spaces or dashes; MessageError when it
    is not 4 to 16 letters A-Z and digits."""
    code = "".join(ch for ch in str(text) if ch not in " -\t\r\n").upper()
    if not (4 <= len(code) <= 16 and code.isascii() and code.isalnum()):
        raise MessageError(f"coupon must be {RULES['coupon']}, not {text!r}")
    return code


def check_fields(fields):
    """MessageError naming the first field whose value cannot be sent, and what it must be.

    >>> check_fields({"invoice": "INV-1", "cashier": ""})
    Traceback (most recent call last):
    hostbridge.errors.MessageError: cashier must be 1 to 16 printable ASCII characters, not ''
    """
    for name, value in fields.items():
        tag = FIELD_TAGS.get(name)
        if tag is None:
            raise MessageError(f"no field named {name!r}")
        ok = name != "amount" or (type(value) is int and value > 0)
        if ok:
            try:
                FIELDS[tag][1].build(value)
            except (ConstructError, TypeError, ValueError):
                ok = False
        if not ok:
            rule = RULES.get(name, "a value the protocol can carry (docs/ecr.md 3.3)")
            if name == "amount" and type(value) is int and value > 0:
                rule = "at most 12 digits (999,999,999,999 rials)"
            raise MessageError(f"{name} must be {rule}, not {value!r}")


def command_name(code):
    """A status answer's tag 30 (the TYPE of the command whose result it is) -> its name.

    >>> command_name(1), command_name(0x42)
    ('sale', 'unknown command 0x42')
    """
    return COMMAND_NAMES.get(code, f"unknown command 0x{code:02X}")


@dataclass
class Result:
    """The terminal's answer. `fields` has every field by its docs/ecr.md name, except that a
    status answer's `command` (tag 30, a number on the line) is `status_of`, a command name:
    `command` is always the name of the command this Result answers."""

    command: str
    fields: dict = field(default_factory=dict)
    recovered: bool = False  # the answer came from a status inquiry after a loss

    def __post_init__(self):
        code = self.fields.pop("command", None)
        if code is not None:
            self.fields["status_of"] = command_name(code)

    @property
    def result(self):
        return self.fields.get("result")

    @property
    def ok(self):
        return self.result == "00"

    @property
    def busy(self):
        return self.result == "10"

    @property
    def text(self):
        return RESULTS.get(self.result, "unknown result")

    def __getattr__(self, name):
        # result.payable, result.rrn, ...: a field, or None when the answer did not carry it
        if name.startswith("_") or name == "fields":
            raise AttributeError(name)
        return self.fields.get(name)

    @property
    def legs(self):
        """A split sale's legs in paying order, as the terminal's result lists them
        (docs/ecr.md 3.6): [{"account": "60", "amount": 700000}, {"account": "40", "amount":
        385000, "bank_reference": "..."}]; [] when the answer carries none."""
        out = []
        for account, amount in LEGS:
            if self.fields.get(account) is not None and self.fields.get(amount) is not None:
                out.append({"account": self.fields[account], "amount": self.fields[amount]})
        if out and out[-1]["account"] == "40" and self.fields.get("bank_reference"):
            out[-1]["bank_reference"] = self.fields["bank_reference"]
        return out

    def to_dict(self):
        """The answer as JSON-ready names (the shape of `vafa bridge --json` and of the HTTP
        endpoint's 200 answers): command, result, result_text, each field, `legs` when the
        answer has any (a split sale, its void or refund), recovered."""
        out = {"command": self.command, "result": self.result, "result_text": self.text}
        out.update(self.fields)
        if self.legs:
            out["legs"] = self.legs
        out["recovered"] = self.recovered
        return out


class EcrClient:
    def __init__(self, url, baudrate=115200, timers=None, log=None, transport=None, notice=None):
        """log: every event of the link (-v); notice: the few a waiting person should see
        (a lost answer being asked about, for how long)."""
        self.timers = timers or Timers()
        self.transport = transport or Transport(url, baudrate)
        self.link = FrameLink(self.transport, self.timers, log)
        self.log = log
        self.notice = notice

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.transport.close()

    # -- commands (docs/ecr.md 3.2) ------------------------------------------------------

    def sale(self, amount, invoice, cashier, method=None, coupon=None, split=None):
        """coupon: a coupon or campaign code the customer gave; split: "bank" or "cash", a
        split sale: the credit of `method` (club, the default then, or store) first, the rest
        so (docs/ecr.md 3.2). method: bank by default; "points" pays with the card's points
        at this store, with no coupon and no split."""
        fields = {"amount": amount, "invoice": invoice, "cashier": cashier}
        if method is None:
            method = "bank" if split is None else "club"
        if method not in METHODS:
            raise MessageError(f"method must be {RULES['method']}, not {method!r}")
        if method != "bank":
            fields["method"] = METHODS[method]
        if split is not None:
            if split not in SPLITS:
                raise MessageError(f"split must be {RULES['split']}, not {split!r}")
            if method not in CREDIT_METHODS:
                raise MessageError(f"split needs method club or store, not {method!r}")
            fields["split"] = SPLITS[split]
        if coupon is not None:
            if method not in COUPON_METHODS:
                raise MessageError(
                    f"a coupon needs method bank, club, store or cash, not {method!r}"
                )
            fields["coupon"] = coupon_code(coupon)
        return self.request("sale", fields)

    def balance(self, cashier=None, invoice=None):
        return self.request("balance", _given(cashier=cashier, invoice=invoice))

    def refund(self, amount, invoice, cashier, original_rrn, account=None):
        fields = {"amount": amount, "invoice": invoice, "cashier": cashier}
        fields["original_rrn"] = original_rrn
        return self.request("refund", _given(account=account, **fields))

    def void(self, invoice, cashier, original_invoice=None):
        fields = _given(invoice=invoice, cashier=cashier, original_invoice=original_invoice)
        return self.request("void", fields)

    def status(self, invoice):
        return self.request("status", {"invoice": invoice}, recover=False)

    def settlement(self, invoice, cashier=None):
        return self.request("settlement", _given(invoice=invoice, cashier=cashier))

    def topup(self, amount, invoice, cashier):
        """Cash taken at the counter, credited to the card's club credit."""
        return self.request("topup", {"amount": amount, "invoice": invoice, "cashier": cashier})

    def print_text(self, text):
        return self.request("print", {"text": text})

    def show_text(self, text, seconds=None):
        return self.request("show", _given(text=text, seconds=seconds))

    # -- the exchange ----------------------------------------------------------------------

    def request(self, command, fields, recover=True):
        """Send one command and return the terminal's Result (see the module doc).

        A busy answer (result 10: another command is running) is followed by the same command
        again after a pause, for up to Timers.busy_s (docs/ecr.md 6.2); the last answer is
        returned when the terminal is still busy then.
        """
        check_fields(fields)
        deadline = Deadline(self.timers.busy_s)
        while True:
            result = self._request_once(command, fields, recover)
            if not result.busy or deadline.expired():
                return result
            self._say(f"{command}: terminal busy; sending again")
            time.sleep(deadline.slice(self.timers.busy_pause_s))

    def _request_once(self, command, fields, recover):
        invoice = fields.get("invoice")
        recoverable = recover and command in KEPT and invoice
        try:
            self.link.send(command, fields)
        except LinkError as e:
            if e.sent is False or not recoverable:  # never sent: nothing to ask about
                raise
            error = e
        else:
            try:
                return self._await(command, invoice, self.timers.response_s.get(command, 60.0))
            except LinkError as e:
                e.sent = True
                if not recoverable:
                    raise
                error = e
        self._notify(f"{command} {invoice}: {error}; asking the terminal for its status "
                     f"(for up to {self.timers.recover_s:g} s)")  # fmt: skip
        return self._recover(command, fields, error)

    def _await(self, command, invoice, seconds, also=None):
        """The answer to `command` (or to `also`) for this invoice, within `seconds`."""
        wanted = {COMMANDS[command] | RESPONSE: command}
        if also:
            wanted[COMMANDS[also] | RESPONSE] = also
        deadline = Deadline(seconds)
        while True:
            msg = self.link.receive(deadline)
            if msg is None:
                raise ResponseTimeout(f"no answer to {command} within {seconds:g} s")
            name = wanted.get(msg["type"])
            got = msg["fields"].get("invoice")
            if name is None or (invoice and got and got != invoice):
                kind = COMMAND_NAMES.get(msg["type"] & 0x7F, hex(msg["type"]))
                self._say(f"set aside: a late answer to {kind} {got or ''}")
                continue
            return Result(name, msg["fields"])

    def _recover(self, command, fields, error):
        invoice = fields["invoice"]
        deadline = Deadline(self.timers.recover_s)
        resent = False
        while not deadline.expired():
            try:
                self.link.send("status", {"invoice": invoice})
                answer = self._await("status", invoice, self.timers.response_s["status"], command)
            except (LinkError, ResponseTimeout) as e:
                self._say(f"status inquiry {invoice}: {e}")
                time.sleep(deadline.slice(1.0))
                continue
            if answer.command == command:  # the original answer, late (buffered on the line)
                answer.recovered = True
                return answer
            code = answer.result
            if code == "11":  # in progress: ask again after T3
                time.sleep(deadline.slice(self.timers.status_pause_s))
                continue
            if code == "12" and not resent:  # it never arrived: send it again, once
                resent = True
                try:
                    self.link.send(command, fields)
                    return self._await(command, invoice, self.timers.response_s.get(command, 60))
                except (LinkError, ResponseTimeout) as e:
                    self._say(f"{command} {invoice} again: {e}")
                    continue
            answer.fields.pop("status_of", None)
            return Result(command, answer.fields, recovered=True)
        raise type(error)(
            f"{command} {invoice} was sent, but {error}, and no status inquiry was answered "
            f"within {self.timers.recover_s:g} s: its outcome is unknown",
            sent=True,
        ) from error

    def _say(self, text):
        if self.log:
            self.log(text)

    def _notify(self, text):
        if self.notice:
            self.notice(text)
        else:
            self._say(text)


def _given(**fields):
    return {name: value for name, value in fields.items() if value is not None}


__all__ = ["EcrClient", "LinkError", "MessageError", "Result", "Timers"]
