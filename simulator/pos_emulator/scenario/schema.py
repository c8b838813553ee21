"""Scenario files: YAML read and checked into plain objects before anything runs.

docs/testing.md "## Scenarios" is the schema. Every problem is a ScenarioError naming the file,
the scenario (a file may hold several YAML documents), the step and the key.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

FLOWS = {
    # flow -> (engine method, parameters it takes)
    "bank": ("purchase_bank", ("amount", "coupon")),
    "club_credit": ("purchase_club_credit", ("amount", "coupon")),
    "store_credit": ("purchase_store_credit", ("amount", "coupon")),
    "points": ("purchase_points", ("amount",)),
    "cash": ("purchase_cash", ("amount", "coupon")),
    # credit (account: club_credit | store_credit) first, the rest by tender: bank | none
    "split": ("purchase_split", ("amount", "account", "tender", "coupon")),
    "balance": ("balance", ()),
    "top_up": ("top_up", ("amount",)),
    "refund": ("refund", ("amount", "rrn", "account")),
    "void": ("void_last", ()),
    "close_day": ("close_day", ()),
    "sign_on": ("sign_on", ()),
    "echo": ("echo", ()),
    "pin_change": ("pin_change", ()),
}
# coupon: a code keyed in (5.10); tender: a split's remainder, bank or none (cash) (5.11)
FLOW_PARAMS = ("amount", "rrn", "account", "coupon", "tender")
REQUIRED_PARAMS = {"amount": True, "rrn": True, "account": False, "coupon": False, "tender": True}
# refund account name -> processing code account (agent/protocol/messages.py)
ACCOUNTS = {"none": "00", "bank": "40", "club_credit": "60", "store_credit": "70"}
SPLIT_ACCOUNTS = ("club_credit", "store_credit")  # a split's credit leg
TENDERS = ("bank", "none")  # a split's remainder: bank card or cash
ENTRIES = ("insert", "swipe", "manual")
KEYS = ("confirm", "cancel")
BANK_OUTCOMES = ("approve", "decline", "cancel", "timeout", "timeout_charged")
NETFAULT_ACTIONS = ("pass", "drop", "delay", "duplicate", "truncate", "reset")
ACTIONS = ("card", "flow", "keys", "wait", "drain", "restart", "register", "campaigns")
STEP_KEYS = (
    "name",
    *ACTIONS,
    *FLOW_PARAMS,
    "bank",
    "pins",
    "expect",
    "capture",
)
EXPECT_KEYS = (
    "outcome",
    "response_code",
    "reason",
    "message",
    "confirmed",
    "result",
    "screen",
    "no_screen",
    "receipt",
    "receipts",
    "balances",
    "pending",
    "bank_charges",
    "ledger_ok",
    "sms",
)
BALANCE_KEYS = ("card", "merchant", "club_credit", "store_credit", "points")
TOP_KEYS = (
    "name",
    "description",
    "repeat",
    "concurrency",
    "terminal",
    "club",
    "netfault",
    "steps",
    "after",
)
TERMINAL_KEYS = ("number", "timeout_ms", "repeats", "card_wait_ms")
CLUB_KEYS = ("slow_delay", "hold_window")
NETFAULT_KEYS = ("delay_s", "faults")
FAULT_KEYS = ("direction", "index", "action")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ScenarioError(ValueError):
    """A scenario file that cannot run; the message names the file, step and key."""


@dataclass
class Step:
    index: int  # 1-based, as the error messages and the report count
    name: str
    action: str | None  # one of ACTIONS, or None for a step that only checks
    value: object = None
    params: dict = field(default_factory=dict)
    bank: list = field(default_factory=list)
    expect: dict = field(default_factory=dict)
    capture: dict = field(default_factory=dict)
    part: str = "steps"  # "steps" or "after"
    pins: list = field(default_factory=list)  # PINs the keypad gives when asked, in order

    @property
    def label(self):
        where = "after step" if self.part == "after" else "step"
        return f"{where} {self.index} ({self.name})"


@dataclass
class Scenario:
    file: str
    name: str
    description: str = ""
    repeat: int = 1
    concurrency: int = 1
    terminal: dict = field(default_factory=dict)
    club: dict = field(default_factory=dict)
    netfault: dict | None = None
    steps: list = field(default_factory=list)
    after: list = field(default_factory=list)


class _Where:
    """Builds the messages: file, scenario, step, key."""

    def __init__(self, file, scenario=None, step=None):
        self.file = file
        self.scenario = scenario
        self.step = step

    def error(self, key, problem):
        parts = [self.file]
        if self.scenario:
            parts.append(f"scenario {self.scenario!r}")
        if self.step:
            parts.append(self.step)
        if key:
            parts.append(f"key {key!r}")
        return ScenarioError(": ".join(parts) + ": " + problem)


def _type_name(value):
    return {
        str: "text",
        int: "an integer",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a mapping",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)


def _check_keys(where, mapping, allowed, what):
    for key in mapping:
        if key not in allowed:
            raise where.error(key, f"unknown {what} key; one of {', '.join(allowed)}")


def _int(where, key, value, minimum=0, variable_ok=False):
    if variable_ok and isinstance(value, str) and VARIABLE.fullmatch(value):
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise where.error(
            key, f"expected an integer >= {minimum}, got {_type_name(value)} {value!r}"
        )
    return value


def _number(where, key, value):
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise where.error(key, f"expected a number of seconds >= 0, got {value!r}")
    return float(value)


def _mapping(where, key, value):
    if not isinstance(value, dict):
        raise where.error(key, f"expected a mapping, got {_type_name(value)}")
    return value


def _text_list(where, key, value):
    values = value if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, str | int):
            raise where.error(key, f"expected text or a list of texts, got {_type_name(v)}")
    return [str(v) for v in values]


def card_names():
    """The card names a `card:` step takes: those of simulator/cards/catalogue.py, the names
    `vafa card personas` lists and the emulator's card list shows."""
    from simulator.cards import catalogue

    return sorted(catalogue.names())


def _card(where, value):
    if isinstance(value, str):
        if value == "out" or value in card_names() or VARIABLE.fullmatch(value):
            return {"persona": value} if value != "out" else {"out": True}
        raise where.error(
            "card",
            f"unknown persona {value!r}; one of out, "
            f"{', '.join(card_names())} (or a mapping with number:)",
        )
    value = _mapping(where, "card", value)
    _check_keys(where, value, ("persona", "number", "entry", "expiry"), "card")
    if ("persona" in value) == ("number" in value):
        raise where.error("card", "give exactly one of persona: or number:")
    if "persona" in value and value["persona"] not in card_names():
        raise where.error(
            "card.persona",
            f"unknown persona {value['persona']!r}; one of {', '.join(card_names())}",
        )
    if "number" in value:
        number = str(value["number"])
        digits = number.isascii() and number.isdigit() and 12 <= len(number) <= 19
        if not digits and not VARIABLE.search(number):
            raise where.error("card.number", f"expected 12 to 19 digits (quoted), got {number!r}")
        value["number"] = number
    if "entry" in value and value["entry"] not in ENTRIES:
        raise where.error(
            "card.entry", f"expected one of {', '.join(ENTRIES)}, got {value['entry']!r}"
        )
    return dict(value)


def _keys(where, value):
    if isinstance(value, dict):
        for k, v in value.items():
            if v is not None and not isinstance(v, str | int):
                raise where.error(
                    f"keys.{k}", f"an enrollment answer is text or null, got {_type_name(v)}"
                )
        return {k: None if v is None else str(v) for k, v in value.items()}
    for v in _text_list(where, "keys", value):
        if v not in KEYS:
            raise where.error(
                "keys",
                f"expected {' or '.join(KEYS)} (or a mapping of enrollment answers), got {v!r}",
            )
    return _text_list(where, "keys", value)


def _expect(where, value):
    value = _mapping(where, "expect", value)
    _check_keys(where, value, EXPECT_KEYS, "expect")
    out = dict(value)
    for key in ("screen", "no_screen", "receipt", "sms"):
        if key in out:
            out[key] = _text_list(where, f"expect.{key}", out[key])
    for key in ("receipts", "pending", "bank_charges"):
        if key in out:
            out[key] = _int(where, f"expect.{key}", out[key])
    for key in ("confirmed", "ledger_ok"):
        if key in out and not isinstance(out[key], bool):
            raise where.error(f"expect.{key}", f"expected true or false, got {out[key]!r}")
    if "response_code" in out:
        rc = out["response_code"]
        if isinstance(rc, int) and not isinstance(rc, bool):
            rc = f"{rc:02d}"
        if rc is not None and not isinstance(rc, str):
            raise where.error("expect.response_code", f'expected a code like "51", got {rc!r}')
        out["response_code"] = rc
    if "result" in out:
        _mapping(where, "expect.result", out["result"])
    if "balances" in out:
        rows = out["balances"] if isinstance(out["balances"], list) else [out["balances"]]
        checked = []
        for row in rows:
            row = _mapping(where, "expect.balances", row)
            _check_keys(where, row, BALANCE_KEYS, "expect.balances")
            if "card" not in row:
                raise where.error("expect.balances", "each row names its card: (persona or number)")
            for k in ("club_credit", "store_credit", "points"):
                if k in row:
                    _int(where, f"expect.balances.{k}", row[k], variable_ok=True)
            checked.append(dict(row, card=str(row["card"])))
        out["balances"] = checked
    return out


def _step(file, scenario, part, index, raw):
    where = _Where(file, scenario, f"{'after step' if part == 'after' else 'step'} {index}")
    if not isinstance(raw, dict):
        raise where.error(None, f"a step is a mapping (e.g. flow: cash), got {_type_name(raw)}")
    name = raw.get("name")
    if name is not None:
        where.step += f" ({name})"
    _check_keys(where, raw, STEP_KEYS, "step")
    actions = [a for a in ACTIONS if a in raw]
    if len(actions) > 1:
        raise where.error(actions[1], f"one action per step; this one has {', '.join(actions)}")
    action = actions[0] if actions else None
    if action is None and not ({"expect", "bank"} & set(raw)):
        raise where.error(None, f"a step needs an action ({', '.join(ACTIONS)}), bank: or expect:")
    value = raw.get(action) if action else None
    params = {}
    if action == "flow":
        if value not in FLOWS:
            raise where.error("flow", f"unknown flow {value!r}; one of {', '.join(FLOWS)}")
        takes = FLOWS[value][1]
        for p in FLOW_PARAMS:
            if p in raw and p not in takes:
                raise where.error(p, f"flow {value} takes no {p}")
        for p in takes:
            if p not in raw:
                if REQUIRED_PARAMS[p]:
                    raise where.error(p, f"flow {value} needs {p}:")
                continue
            params[p] = raw[p]
        if "amount" in params:
            params["amount"] = _int(where, "amount", params["amount"], 1, variable_ok=True)
        if "rrn" in params:
            params["rrn"] = str(params["rrn"])
        if "coupon" in params:  # checked by the engine as the cashier's keypad would be
            params["coupon"] = str(params["coupon"])
        accounts = SPLIT_ACCOUNTS if value == "split" else ACCOUNTS
        if "account" in params and params["account"] not in accounts:
            raise where.error(
                "account", f"expected one of {', '.join(accounts)}, got {params['account']!r}"
            )
        if "tender" in params and params["tender"] not in TENDERS:
            raise where.error(
                "tender", f"expected one of {', '.join(TENDERS)}, got {params['tender']!r}"
            )
    else:
        for p in FLOW_PARAMS:
            if p in raw:
                raise where.error(
                    p, "only a flow: step takes amount:, rrn:, account:, tender: or coupon:"
                )
    if action == "card":
        value = _card(where, value)
    elif action == "keys":
        value = _keys(where, value)
    elif action == "wait":
        value = _number(where, "wait", value)
    elif action == "campaigns":  # the club's campaigns job, run for today + N days
        value = _int(where, "campaigns", value)
    elif action == "register":  # a `vafa club-server` register command (registry_cli.py)
        value = _text_list(where, "register", value)
    elif action in ("drain", "restart") and value is not True:
        raise where.error(action, f"write {action}: true")
    bank = []
    if "bank" in raw:
        bank = _text_list(where, "bank", raw["bank"])
        for outcome in bank:
            if outcome not in BANK_OUTCOMES:
                raise where.error(
                    "bank", f"unknown bank outcome {outcome!r}; one of {', '.join(BANK_OUTCOMES)}"
                )
    pins = []
    if "pins" in raw:  # typed on the terminal's keypad, masked, when the club asks (55)
        pins = _text_list(where, "pins", raw["pins"])
        for pin in pins:
            if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 12):
                raise where.error("pins", "a PIN is 4 to 12 digits, quoted")
    expect = _expect(where, raw["expect"]) if "expect" in raw else {}
    capture = {}
    if "capture" in raw:
        capture = _mapping(where, "capture", raw["capture"])
        for k, v in capture.items():
            if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
                raise where.error(f"capture.{k}", f"expected a variable name, got {v!r}")
    if name is not None:
        label = str(name)
    elif action in ("flow", "card"):
        label = f"{action} {value if action == 'flow' else raw[action]}"
    else:
        label = action or "check"

    return Step(index, label, action, value, params, bank, expect, dict(capture), part, pins)


def _netfault(where, value):
    value = _mapping(where, "netfault", value)
    _check_keys(where, value, NETFAULT_KEYS, "netfault")
    faults = {}
    for i, fault in enumerate(value.get("faults") or ()):
        fault = _mapping(where, f"netfault.faults[{i}]", fault)
        _check_keys(where, fault, FAULT_KEYS, f"netfault.faults[{i}]")
        direction = fault.get("direction")
        if direction not in ("up", "down"):
            raise where.error(
                f"netfault.faults[{i}].direction", f"expected up or down, got {direction!r}"
            )
        index = _int(where, f"netfault.faults[{i}].index", fault.get("index"))
        action = fault.get("action")
        if action not in NETFAULT_ACTIONS:
            raise where.error(
                f"netfault.faults[{i}].action",
                f"expected one of {', '.join(NETFAULT_ACTIONS)}, got {action!r}",
            )
        faults[(direction, index)] = action
    delay = _number(where, "netfault.delay_s", value.get("delay_s", 1.0))
    return {"faults": faults, "delay_s": delay}


def parse_scenario(file, raw, number=1):
    where = _Where(file)
    if not isinstance(raw, dict):
        raise where.error(
            None,
            f"document {number}: a scenario is a mapping with name: and "
            f"steps:, got {_type_name(raw)}",
        )
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise where.error("name", f"document {number}: every scenario has a name")
    where = _Where(file, name)
    _check_keys(where, raw, TOP_KEYS, "scenario")
    sc = Scenario(file, name, str(raw.get("description", "")))
    sc.repeat = _int(where, "repeat", raw.get("repeat", 1), 1)
    sc.concurrency = _int(where, "concurrency", raw.get("concurrency", 1), 1)
    if "terminal" in raw:
        sc.terminal = _mapping(where, "terminal", raw["terminal"])
        _check_keys(where, sc.terminal, TERMINAL_KEYS, "terminal")
        for k in TERMINAL_KEYS:
            if k in sc.terminal:
                _int(where, f"terminal.{k}", sc.terminal[k], 1 if k != "repeats" else 0)
    if "club" in raw:
        sc.club = _mapping(where, "club", raw["club"])
        _check_keys(where, sc.club, CLUB_KEYS, "club")
        sc.club = {k: _number(where, f"club.{k}", v) for k, v in sc.club.items()}
    if "netfault" in raw:
        sc.netfault = _netfault(where, raw["netfault"])
    for part in ("steps", "after"):
        steps = raw.get(part, [] if part == "after" else None)
        if not isinstance(steps, list) or (part == "steps" and not steps):
            raise where.error(part, "expected a list of steps")
        setattr(sc, part, [_step(file, name, part, i, s) for i, s in enumerate(steps, 1)])
    return sc


def load_file(path):
    """The scenarios of one YAML file (one per document); ScenarioError when malformed."""
    import yaml

    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read: {e.strerror or e}") from e
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise ScenarioError(f"{path}: not valid YAML: {e}") from e
    if not docs:
        raise ScenarioError(f"{path}: no scenario in the file")
    scenarios = [parse_scenario(path, d, i) for i, d in enumerate(docs, 1)]
    names = [s.name for s in scenarios]
    for n in names:
        if names.count(n) > 1:
            raise ScenarioError(f"{path}: scenario {n!r}: the name is used twice in the file")
    return scenarios


def expand_paths(paths):
    """Files as given; a directory stands for its *.yaml and *.yml files, sorted."""
    files = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted([*p.glob("*.yaml"), *p.glob("*.yml")]))
        else:
            files.append(p)
    return [str(f) for f in files]
