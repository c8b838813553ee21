"""The ECR protocol as data (docs/ecr.md): control bytes, commands, TLV tags, result codes,
timers. Tables, not if-chains: the codec (frame.py, message.py) and the session read them.
hostbridge/ declares the same protocol again with `construct`, independently, from the doc.
"""

# -- frame (docs/ecr.md section 2) -------------------------------------------------------------
STX = 0x02
ETX = 0x03
ACK = 0x06
NAK = 0x15
MIN_PAYLOAD = 2  # sequence number + message type
MAX_PAYLOAD = 4096
OVERHEAD = 6  # STX, 2 length bytes, ETX, 2 CRC bytes

# -- timers and limits (docs/ecr.md section 4) ---------------------------------------------------
ACK_TIMEOUT_MS = 1000  # T1: after the last byte of a frame, plus its time on the wire
INTERBYTE_MS = 500  # T0: silence inside a frame that abandons it
TRIES = 3  # transmissions of one frame at most (the first and 2 retransmissions)
# T2: how long the cashier waits for the answer, per command (after the command's ACK)
RESPONSE_TIMEOUT_S = {
    "sale": 180,
    "refund": 180,
    "void": 60,
    "balance": 60,
    "settlement": 120,
    "status": 10,
    "print": 30,
    "show": 10,
    "topup": 180,
}
STATUS_RETRY_S = 2  # T3: the pause between status inquiries while the answer is "in progress"

# -- messages (docs/ecr.md section 3) ------------------------------------------------------------
RESPONSE = 0x80  # a response's type is its command's type with this bit set

COMMANDS = {
    0x01: "sale",
    0x02: "balance",
    0x03: "refund",
    0x04: "void",
    0x05: "status",
    0x06: "settlement",
    0x07: "print",
    0x08: "show",
    0x09: "topup",
}
COMMAND_CODES = {name: code for code, name in COMMANDS.items()}

# Value types: "n" ASCII decimal digits read as an int (written without leading zeros);
# "d" ASCII digits kept as text (leading zeros matter: STAN, account, time); "an" printable
# ASCII 0x20..0x7E; "text" UTF-8; "u8" one byte, an int 0..255.
# tag -> (name, type, min length, max length), lengths in bytes of the value.
TAGS = {
    0x01: ("amount", "n", 1, 12),
    0x02: ("invoice", "an", 1, 20),
    0x03: ("cashier", "an", 1, 16),
    0x04: ("method", "an", 1, 1),
    0x05: ("original_rrn", "an", 12, 12),
    0x06: ("account", "d", 2, 2),
    0x07: ("original_invoice", "an", 1, 20),
    0x08: ("text", "text", 1, 2048),
    0x09: ("seconds", "n", 1, 3),
    0x0A: ("coupon", "an", 4, 16),
    0x0B: ("split", "an", 1, 1),  # a split sale's remainder tender (docs/ecr.md 3.2)
    0x20: ("result", "d", 2, 2),
    0x21: ("response_code", "an", 2, 2),
    0x22: ("message", "text", 1, 255),
    0x23: ("discount", "n", 1, 12),
    0x24: ("fee", "n", 1, 12),
    0x25: ("payable", "n", 1, 12),
    0x26: ("points_earned", "n", 1, 12),
    0x27: ("points_balance", "n", 1, 12),
    0x28: ("club_balance", "n", 1, 12),
    0x29: ("store_balance", "n", 1, 12),
    0x2A: ("card", "an", 4, 19),
    0x2B: ("stan", "d", 6, 6),
    0x2C: ("rrn", "an", 12, 12),
    0x2D: ("bank_reference", "an", 1, 32),
    0x2E: ("receipt", "text", 1, 3072),
    0x2F: ("tier", "an", 1, 1),
    0x30: ("command", "u8", 1, 1),
    0x31: ("terminal_id", "an", 8, 8),
    0x32: ("time", "d", 14, 14),
    0x33: ("reason", "an", 2, 2),
    0x34: ("club_message", "text", 1, 255),
    0x35: ("flow", "an", 1, 16),
    0x36: ("debit_count", "n", 1, 10),
    0x37: ("debit_amount", "n", 1, 16),
    0x38: ("credit_count", "n", 1, 10),
    0x39: ("credit_amount", "n", 1, 16),
    0x3A: ("reversal_count", "n", 1, 10),
    0x3B: ("reversal_amount", "n", 1, 16),
    0x3C: ("confirmed", "an", 1, 1),
    0x3D: ("coupon_discount", "n", 1, 12),
    0x3E: ("coupon_text", "text", 1, 255),
    0x3F: ("coupon_reason", "an", 2, 2),
    # the legs of a split sale, its void or refund (docs/ecr.md 3.6)
    0x40: ("credit_account", "d", 2, 2),
    0x41: ("credit_part", "n", 1, 12),
    0x42: ("remainder_account", "d", 2, 2),
    0x43: ("remainder", "n", 1, 12),
}
TAG_CODES = {spec[0]: tag for tag, spec in TAGS.items()}

# Sale payment methods (tag 04) -> the engine's flow; P: points (docs/ecr.md 3.2, 008000).
METHODS = {"B": "bank", "C": "club_credit", "S": "store_credit", "K": "cash", "P": "points"}
COUPON_METHODS = ("B", "C", "S", "K")  # a points sale takes no coupon (docs/protocol.md 5.10)
REFUND_ACCOUNTS = ("00", "40", "60", "70")
# A split sale (tag 0B): the remainder's tender -> its account (docs/protocol.md 5.11); the
# credit part is paid from the method's account, which must be one of these.
SPLIT_TENDERS = {"B": "40", "K": "00"}
SPLIT_METHODS = {"C": "60", "S": "70"}
# a leg's account -> the ECR fields of its account and amount (docs/ecr.md 3.6)
LEG_FIELDS = {
    "60": ("credit_account", "credit_part"),
    "70": ("credit_account", "credit_part"),
    "40": ("remainder_account", "remainder"),
    "00": ("remainder_account", "remainder"),
}
_LEGS = ("credit_account", "credit_part", "remainder_account", "remainder")

# What each command carries: (mandatory field names, optional field names).
REQUESTS = {
    "sale": (("amount", "invoice", "cashier"), ("method", "coupon", "split")),
    "balance": ((), ("invoice", "cashier")),
    "refund": (("amount", "invoice", "cashier", "original_rrn"), ("account",)),
    "void": (("invoice", "cashier"), ("original_invoice",)),
    "status": (("invoice",), ()),
    "settlement": (("invoice",), ("cashier",)),
    "print": (("text",), ()),
    "show": (("text",), ("seconds",)),
    "topup": (("amount", "invoice", "cashier"), ()),
}
# What each answer carries besides result, message and invoice (docs/ecr.md 3.4): a field the
# engine reports that its command does not carry (a settlement's amount, a balance inquiry's
# confirmation) is left out.
_PURCHASE = ("amount", "discount", "fee", "payable", "points_earned", "points_balance")
_TAIL = ("response_code", "club_message", "receipt", "confirmed", "flow", "terminal_id", "time")
ANSWERS = {
    "sale": _PURCHASE
    + ("club_balance", "store_balance", "card", "stan", "rrn", "bank_reference", "tier", "reason")
    + ("coupon", "coupon_discount", "coupon_text", "coupon_reason")  # with a coupon (5.10)
    + _LEGS
    + _TAIL,
    "balance": ("points_balance", "club_balance", "store_balance", "tier", "card", "stan", "rrn")
    + ("response_code", "club_message", "receipt", "flow", "terminal_id", "time"),
    "refund": ("amount", "payable", "points_earned", "points_balance", "club_balance")
    + ("store_balance", "card", "stan", "rrn", "reason")
    + _LEGS
    + _TAIL,
    "void": ("amount", "payable", "card", "stan", "rrn", "bank_reference", "reason")
    + _LEGS
    + _TAIL,
    "settlement": ("debit_count", "debit_amount", "credit_count", "credit_amount")
    + ("reversal_count", "reversal_amount", "stan", "response_code", "receipt", "flow")
    + ("terminal_id", "time"),
    "print": ("flow", "terminal_id", "time"),
    "show": ("flow", "terminal_id", "time"),
    "topup": ("amount", "discount", "fee", "payable", "points_balance", "club_balance", "card")
    + ("stan", "rrn", "tier", "reason")
    + _TAIL,
}
# Commands whose results are kept by invoice number (a status inquiry returns them).
KEPT = ("sale", "refund", "void", "settlement", "topup")
# Kept commands a power cut may leave open at the club: recovery settles them (docs/ecr.md 6.3).
CLUB_RECOVERED = ("sale", "refund", "topup")

# Result codes (tag 20).
APPROVED = "00"
DECLINED = "01"
CANCELLED = "02"
REVERSED = "03"
FAILED = "04"
PENDING = "05"
BUSY = "10"
IN_PROGRESS = "11"
UNKNOWN_INVOICE = "12"
BAD_REQUEST = "13"
INVOICE_REUSED = "14"
UNSUPPORTED = "15"
NOT_LAST = "16"

RESULTS = {
    APPROVED: "approved",
    DECLINED: "declined by the club or the bank",
    CANCELLED: "cancelled by the customer",
    REVERSED: "not completed: reversed on the club side",
    FAILED: "failed: not run, or stopped before any money moved",
    PENDING: "pending: void queued, not confirmed yet",
    BUSY: "busy: another command is running",
    IN_PROGRESS: "in progress",
    UNKNOWN_INVOICE: "unknown invoice",
    BAD_REQUEST: "bad request",
    INVOICE_REUSED: "invoice number already used for another transaction",
    UNSUPPORTED: "unsupported command",
    NOT_LAST: "not the last transaction: only the last one can be voided",
}

# The engine's result outcome -> result code.
OUTCOMES = {
    "approved": APPROVED,
    "declined": DECLINED,
    "cancelled": CANCELLED,
    "reversed": REVERSED,
    "failed": FAILED,
    "pending": PENDING,
}
