"""The ECR session: commands from the cashier's software -> the transaction engine's flows.

    session = EcrSession(engine, runner=ThreadRunner(), receipts=tap)
    session.recover(engine.recover())             # after a restart: results of interrupted work
    replies = session.handle(message)             # a decoded command -> [(type, fields)] now
    replies += session.poll()                     # the answer of the command that finished

Rules (docs/ecr.md section 6):
- one command runs at a time; any other command meanwhile is answered "busy" (10) at once,
  except a status inquiry, which is always answered;
- sale, refund, void, settlement and topup carry an invoice number; their results are kept by
  invoice on the storage port (agent/ecr/store.py) before the answer is sent, so a status
  inquiry after a lost answer returns the result;
- an invoice never runs twice: the same command with the same invoice and the same content
  returns the stored result (result code and all), different content is refused (14); while it
  runs, it is "in progress" (11).

The engine runs on the runner (ThreadRunner: its own thread, so the link keeps answering
while a customer pays; InlineRunner: in the caller, for tests and single-threaded ports). The
worker only ever writes the job's "result" slot; everything else happens in the caller's thread.
"""

from agent.ecr import errored, spec
from agent.ecr.message import encode_value
from agent.ecr.store import ResultStore
from agent.timeutil import civil

# sale method (tag 04) -> the engine's call
SALE_CALLS = {
    "B": "purchase_bank",
    "C": "purchase_club_credit",
    "S": "purchase_store_credit",
    "K": "purchase_cash",
    "P": "purchase_points",
}

# engine result key -> ECR field (docs/ecr.md 3.4)
RESULT_KEYS = (
    ("response_code", "response_code"),
    ("message", "message"),
    ("amount", "amount"),
    ("discount", "discount"),
    ("fee", "fee"),
    ("payable", "payable"),
    ("points_earned", "points_earned"),
    ("points_balance", "points_balance"),
    ("club_credit", "club_balance"),
    ("store_credit", "store_balance"),
    ("stan", "stan"),
    ("rrn", "rrn"),
    ("bank_reference", "bank_reference"),
    ("tier", "tier"),
    ("reason", "reason"),
    ("club_message", "club_message"),
    ("flow", "flow"),
    ("coupon", "coupon"),  # a sale with a coupon (docs/protocol.md 5.10)
    ("coupon_discount", "coupon_discount"),
    ("coupon_text", "coupon_text"),
    ("coupon_reason", "coupon_reason"),
)
# the account of a balance (docs/ecr.md 3.2 refund accounts) -> the ECR field that names it:
# the engine's "balance_after" is the balance of the account the flow moved
BALANCE_FIELDS = {"60": "club_balance", "70": "store_balance"}
# sale method -> the account it pays from; commands with one account
SALE_ACCOUNTS = {"C": "60", "S": "70"}
COMMAND_ACCOUNTS = {"balance": "60", "topup": "60"}
# fields every answer may carry; the rest by command (spec.ANSWERS)
ALWAYS = ("result", "message", "invoice")
# engine's "confirmed" (the club acknowledged phase two) -> ECR field "confirmed"
CONFIRMED = {True: "Y", False: "N"}
# settlement totals (docs/terminal.md) -> ECR fields; a tuple of keys is summed
TOTAL_KEYS = (
    (("dn",), "debit_count"),
    (("da",), "debit_amount"),
    (("cn",), "credit_count"),
    (("ca",), "credit_amount"),
    (("drn", "crn"), "reversal_count"),
    (("dra", "cra"), "reversal_amount"),
)
DIGEST_FIELDS = ("amount", "method", "original_rrn", "account", "original_invoice", "coupon")
DIGEST_FIELDS += ("split",)


class InlineRunner:
    """Runs the work at once, in the caller's thread."""

    def start(self, work):
        work()


class ThreadRunner:
    """Runs the work in a new thread (`_thread`: CPython, MicroPython unix and ESP32 ports)."""

    def start(self, work):
        import _thread

        _thread.start_new_thread(work, ())


class ReceiptTap:
    """A printer port that forwards to the real printer and keeps what was printed, so the
    session can hand the receipt text to the cashier's software."""

    def __init__(self, printer):
        self.printer = printer
        self.printed = []

    def ready(self):
        return self.printer.ready()

    def print_lines(self, lines):
        self.printer.print_lines(lines)
        self.printed.append(list(lines))

    def take(self):
        printed, self.printed = self.printed, []
        return printed


def fit(name, value):
    """value as the ECR field `name` can carry it (text cut to size), or None."""
    tag = spec.TAG_CODES[name]
    kind, high = spec.TAGS[tag][1], spec.TAGS[tag][3]
    if value is None or value == "":
        return None
    if kind in ("text", "an") and isinstance(value, str):
        while value and len(value.encode()) > high:
            value = value[:-1]
    try:
        encode_value(tag, value)
    except ValueError:
        return None
    return value


def digest(command, fields):
    """What makes two commands with one invoice "the same": the command and its money fields."""
    parts = [command]
    for name in DIGEST_FIELDS:
        value = fields.get(name)
        parts.append("" if value is None else str(value))
    return "|".join(parts)


def balance_account(name, fields):
    """The account whose balance after the command the engine reports as "balance_after"."""
    if name == "sale":
        return SALE_ACCOUNTS.get(fields.get("method", "B"))
    if name == "refund":
        return fields.get("account", "60")
    return COMMAND_ACCOUNTS.get(name)


def leg_fields(fields, legs):
    """A result's legs into the answer's fields, each by its account (docs/ecr.md 3.6)."""
    for leg in legs or ():
        names = spec.LEG_FIELDS.get(leg.get("account"))
        if names is not None:
            fields[names[0]] = leg["account"]
            fields[names[1]] = fit(names[1], leg.get("amount"))
        if leg.get("bank_reference") and not fields.get("bank_reference"):
            fields["bank_reference"] = fit("bank_reference", leg["bank_reference"])


def local_time(epoch_s, offset_s):
    y, mo, d, h, mi, s = civil(epoch_s + offset_s)
    return f"{y:04d}{mo:02d}{d:02d}{h:02d}{mi:02d}{s:02d}"


class EcrSession:
    def __init__(self, engine, storage=None, runner=None, receipts=None, keep=100):
        self.engine = engine
        self.store = ResultStore(storage if storage is not None else engine.storage, keep=keep)
        self.runner = runner if runner is not None else InlineRunner()
        self.receipts = receipts
        self.job = None  # the command running: {"command", "invoice", "digest", "result"}
        self.loaded = False
        self.log = None  # optional callable(text) for the entry point's log
        self.notify = None  # optional callable(), called by the worker when a command finished
        self.calls = {
            "sale": self._sale,
            "balance": self._balance,
            "refund": self._refund,
            "void": self._void,
            "settlement": self._settlement,
            "print": self._print,
            "show": self._show,
            "topup": self._topup,
        }

    # -- life cycle ------------------------------------------------------------------------

    def recover(self, report=None):
        """Load the kept results; give every command a power cut interrupted its result, from
        the engine's recovery report (engine.recover()). Returns those results."""
        self.loaded = True
        resolved = []
        records = self.store.load()
        if records:  # only after a power cut cut a command short (heap)
            from agent.ecr import interrupted
        for rec in records:
            fields = interrupted.answer(self, rec, report or {})
            self.store.finish(rec["i"], rec["c"], rec["q"], fields)
            resolved.append(fields)
        return resolved

    def _ready(self):
        if not self.loaded:
            self.recover()

    @property
    def busy(self):
        return self.job is not None

    # -- commands --------------------------------------------------------------------------

    def handle(self, msg):
        """One decoded command -> the replies to send now, [(type, fields)]."""
        self._ready()
        msg_type = msg["type"]
        if msg_type & spec.RESPONSE:
            return []  # the cashier sends commands only; a stray response is ignored
        reply = msg_type | spec.RESPONSE
        name = spec.COMMANDS.get(msg_type)
        fields = msg["fields"]
        invoice = fields.get("invoice")
        if name is None:
            return [(reply, self._answer(spec.UNSUPPORTED, invoice))]
        problem = self._check(name, fields)
        if problem:
            return [(reply, self._answer(spec.BAD_REQUEST, invoice, problem))]
        if name == "status":
            return [(reply, self.status(invoice))]
        request = digest(name, fields)
        if name in spec.KEPT:
            if self.job is not None and self.job["invoice"] == invoice:
                return [(reply, self._answer(spec.IN_PROGRESS, invoice))]
            kept = self.store.get(invoice)
            if kept is not None:
                if kept["c"] == name and kept["q"] == request:
                    return [(reply, dict(kept["r"]))]  # already run: its result again
                return [(reply, self._answer(spec.INVOICE_REUSED, invoice))]
        if self.job is not None:
            return [(reply, self._answer(spec.BUSY, invoice))]
        if name == "void" and fields.get("original_invoice"):
            refused = self._void_target(fields["original_invoice"], invoice)
            if refused is not None:
                return [(reply, refused)]
        self._start(name, reply, fields, request)
        return self.poll()

    def poll(self):
        """The reply of the command that finished since the last call, if any."""
        job = self.job
        if job is None or job["result"] is None:
            return []
        result = job["result"]
        name = job["command"]
        if name in spec.KEPT:
            # kept before the job ends: an error here leaves it to the next poll (no lost result)
            self.store.finish(job["invoice"], name, job["digest"], result)
            if name == "settlement" and result.get("response_code") in ("00", "95"):
                self.store.clear(job["invoice"])  # a new window for invoice numbers
        self.job = None
        if self.log:
            invoice = " " + job["invoice"] if job["invoice"] else ""
            self.log(f"{name}{invoice} -> {result.get('result')} in {job.get('ms')} ms")
        return [(job["reply"], result)]

    def status(self, invoice):
        """The status inquiry's answer for an invoice."""
        if self.job is not None and self.job["invoice"] == invoice:
            return self._answer(spec.IN_PROGRESS, invoice)
        kept = self.store.get(invoice)
        if kept is None:
            return self._answer(spec.UNKNOWN_INVOICE, invoice)
        fields = dict(kept["r"])
        fields["command"] = spec.COMMAND_CODES[kept["c"]]
        return fields

    # -- inside ----------------------------------------------------------------------------

    def _answer(self, code, invoice=None, message=None):
        fields = {"result": code, "message": fit("message", message or spec.RESULTS[code])}
        if invoice:
            fields["invoice"] = invoice
        return fields

    def _check(self, name, fields):
        must, may = spec.REQUESTS[name]
        for field in must:
            if field not in fields:
                return f"{field} missing"
        for field in fields:
            if field not in must and field not in may:
                return f"{field} not allowed in {name}"
        method = fields.get("method")
        if method is not None and method not in spec.METHODS:
            return "method must be one of " + ", ".join(sorted(spec.METHODS))
        if fields.get("coupon") is not None:  # docs/protocol.md 5.10: checked before any 0100
            from agent import coupon

            try:
                fields["coupon"] = coupon.normalize(fields["coupon"])
            except ValueError as e:
                return str(e)
            if fields.get("method", "B") not in spec.COUPON_METHODS:
                return "coupon not with method P (points)"
        split = fields.get("split")
        if split is not None:  # docs/ecr.md 3.2: credit first (C or S), the rest by B or K
            if split not in spec.SPLIT_TENDERS:
                return "split must be one of " + ", ".join(sorted(spec.SPLIT_TENDERS))
            if fields.get("method") not in spec.SPLIT_METHODS:
                return "split needs method C or S (the credit paid first)"
        account = fields.get("account")
        if account is not None and account not in spec.REFUND_ACCOUNTS:
            return "account must be one of " + ", ".join(spec.REFUND_ACCOUNTS)
        amount = fields.get("amount")
        if amount is not None and amount <= 0:
            return "amount must be above 0"
        return None

    def _start(self, name, reply, fields, request):
        invoice = fields.get("invoice")
        job = {"command": name, "reply": reply, "invoice": invoice, "digest": request}
        job["result"] = None  # the slots the worker writes (made here: no resize there)
        job["ms"] = None
        if name in spec.KEPT:
            extra = {"s": self._last_stan(), "at": self._now()}
            if fields.get("amount") is not None:
                extra["a"] = fields["amount"]
            self.store.start(invoice, name, request, extra)
        self.job = job
        call = self.calls[name]

        def work():
            started = self.engine.clock.ticks_ms()
            try:
                result = call(fields)
            except Exception as e:  # a bug must cost one answer, never the link
                result = errored.result(self.engine, e)
            try:
                printed = self.receipts.take() if self.receipts is not None else None
                if printed and name not in ("print", "show") and "receipt" not in result:
                    result["receipt"] = "\n".join(printed[-1])  # the customer copy
                job["ms"] = self.engine.clock.ticks_ms() - started
                job["result"] = self._fields(name, result, invoice, balance_account(name, fields))
            except Exception as e:  # (MemoryError) the engine's outcome is answered all the same
                job["result"] = errored.bare(result, invoice, e)
            if self.notify is not None:
                self.notify()

        self.runner.start(work)

    def abort(self, error):
        """Answer the command whose work an error ended (agent/device/guard.py); False when
        no command waits for its answer."""
        job = self.job
        if job is None or job["result"] is not None:
            return False
        job["result"] = errored.bare(errored.result(self.engine, error), job["invoice"], error)
        return True

    def _fields(self, name, res, invoice, account=None):
        fields = {"result": spec.OUTCOMES.get(res.get("outcome"), spec.FAILED)}
        if invoice:
            fields["invoice"] = invoice
        for key, field in RESULT_KEYS:
            value = fit(field, res.get(key))
            if value is not None:
                fields[field] = value
        balance = BALANCE_FIELDS.get(account)
        if balance is not None and res.get("balance_after") is not None:
            fields[balance] = fit(balance, res["balance_after"])
        if res.get("card_last4"):
            fields["card"] = fit("card", "****" + res["card_last4"])
        leg_fields(fields, res.get("legs"))
        fields["confirmed"] = CONFIRMED.get(res.get("confirmed"))
        totals = res.get("totals")
        if totals:
            for keys, field in TOTAL_KEYS:
                fields[field] = sum([totals.get(k, 0) for k in keys])
        receipt = fit("receipt", res.get("receipt"))
        if receipt:
            fields["receipt"] = receipt
        fields["terminal_id"] = fit("terminal_id", getattr(self.engine, "terminal_id", None))
        fields["time"] = local_time(self._now(), getattr(self.engine, "offset_s", 0))
        if "message" not in fields:
            fields["message"] = fit("message", spec.RESULTS[fields["result"]])
        carried = spec.ANSWERS.get(name, ())
        out = {}
        for key in fields:
            if fields[key] is not None and (key in ALWAYS or key in carried):
                out[key] = fields[key]
        return out

    def _now(self):
        return self.engine.clock.now()

    def _last_stan(self):
        stans = getattr(self.engine, "stans", None)  # agent/club.py StanCounter
        if stans is not None:
            # Not its blob: that holds the end of a reserved block of STANs, not the last one.
            return stans.last
        raw = self.engine.storage.read("stan")  # an engine without one (tests): its blob
        try:
            return f"{int(raw):06d}" if raw else "000000"
        except ValueError:
            return None

    def _void_target(self, original, invoice):
        kept = self.store.get(original)
        if kept is None:
            return self._answer(spec.UNKNOWN_INVOICE, invoice, "unknown original invoice")
        last = self.engine.ledger.last
        rrn = kept["r"].get("rrn")
        if last is not None and rrn and last["q"]["f"].get("37") != rrn:
            return self._answer(spec.NOT_LAST, invoice)
        return None

    # -- the engine calls ------------------------------------------------------------------

    def _sale(self, fields):
        if fields.get("split"):  # agent/split.py, imported only for a split sale (heap)
            from agent.split import purchase_split

            account = spec.SPLIT_METHODS[fields["method"]]
            tender = spec.SPLIT_TENDERS[fields["split"]]
            return purchase_split(
                self.engine, fields["amount"], account, tender, coupon=fields.get("coupon")
            )
        call = getattr(self.engine, SALE_CALLS[fields.get("method", "B")])
        if fields.get("coupon"):
            return call(fields["amount"], coupon=fields["coupon"])
        return call(fields["amount"])

    def _balance(self, fields):
        return self.engine.balance()

    def _refund(self, fields):
        account = fields.get("account", "60")
        return self.engine.refund(fields["amount"], fields["original_rrn"], account)

    def _topup(self, fields):
        return self.engine.top_up(fields["amount"])

    def _void(self, fields):
        return self.engine.void_last()

    def _settlement(self, fields):
        return self.engine.close_day()

    def _print(self, fields):
        try:
            self.engine.printer.print_lines(fields["text"].split("\n"))
        except OSError as e:
            return {"outcome": "failed", "message": "printer: " + str(e), "flow": "print"}
        return {"outcome": "approved", "message": "Printed", "flow": "print"}

    def _show(self, fields):
        lines = fields["text"].split("\n")
        self.engine.display.show("text", lines=lines, seconds=fields.get("seconds"))
        return {"outcome": "approved", "message": "Shown", "flow": "show"}
