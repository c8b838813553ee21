"""Vafa club-link vocabulary as tables (docs/protocol.md sections 2-5).

Names are for screens, logs and errors; the wire carries the codes.
"""

# Message type indicators (ISO 8583:1987): request -> response.
RESPONSE_MTI = {
    "0100": "0110",
    "0101": "0110",
    "0220": "0230",
    "0221": "0230",
    "0420": "0430",
    "0421": "0430",
    "0500": "0510",
    "0501": "0510",
    "0800": "0810",
    "0801": "0810",
}
# A repeat (last digit 1) of each original request, and back.
REPEAT_MTI = {"0100": "0101", "0220": "0221", "0420": "0421", "0500": "0501", "0800": "0801"}
ORIGINAL_MTI = {v: k for k, v in REPEAT_MTI.items()}

# Field 3 processing codes (docs/protocol.md 2.2).
PURCHASE_CASH = "000000"
PURCHASE_BANK = "004000"
PURCHASE_CLUB_CREDIT = "006000"
PURCHASE_STORE_CREDIT = "007000"
PURCHASE_POINTS = "008000"  # paid with the card's points at this store
REFUND_BANK = "200040"
REFUND_CLUB_CREDIT = "200060"
REFUND_STORE_CREDIT = "200070"
REFUND_CASH = "200000"
TOP_UP = "210060"
BALANCE_INQUIRY = "310000"
PIN_CHANGE = "920000"  # docs/protocol.md 4.5 (ISO 8583 private range)

PROCESSING = {
    PURCHASE_CASH: "cash purchase",
    PURCHASE_BANK: "bank-card purchase",
    PURCHASE_CLUB_CREDIT: "club-credit purchase",
    PURCHASE_STORE_CREDIT: "store-credit purchase",
    PURCHASE_POINTS: "points purchase",
    REFUND_BANK: "refund to bank card",
    REFUND_CLUB_CREDIT: "refund to club credit",
    REFUND_STORE_CREDIT: "refund to store credit",
    REFUND_CASH: "refund in cash",
    TOP_UP: "top-up",
    BALANCE_INQUIRY: "balance inquiry",
    PIN_CHANGE: "PIN change",
}
SINGLE_PHASE = (BALANCE_INQUIRY, PIN_CHANGE)

# Account types, positions 3-4 / 5-6 of field 3 and 1-2 of a field 54 item.
ACCOUNT_NONE = "00"
ACCOUNT_BANK = "40"
ACCOUNT_CLUB_CREDIT = "60"
ACCOUNT_STORE_CREDIT = "70"
ACCOUNT_POINTS = "80"

# Field 39 response codes (docs/protocol.md section 3): code -> (name, message on screen).
APPROVED = "00"
PARTIAL_APPROVAL = "10"  # ISO 8583:1987 "approved for partial amount" (split payment)
INVALID_TERMINAL = "03"
DECLINED = "05"
INVALID_TRANSACTION = "12"
INVALID_AMOUNT = "13"
UNKNOWN_CARD = "14"
ORIGINAL_NOT_FOUND = "25"
FORMAT_ERROR = "30"
INSUFFICIENT_CREDIT = "51"
EXPIRED_CARD = "54"
INCORRECT_PIN = "55"
NOT_PERMITTED_CARD = "57"
BLOCKED_CARD = "62"
SECURITY_VIOLATION = "63"
ENROLLMENT_REQUIRED = "64"
PIN_TRIES_EXCEEDED = "75"
DETAILS_REFUSED = "77"
COUPON_REFUSED = "78"
DUPLICATE = "94"
OUT_OF_BALANCE = "95"
SYSTEM_ERROR = "96"

RESPONSE_CODES = {
    APPROVED: ("approved", "Approved"),
    PARTIAL_APPROVAL: ("partial approval", "Part approved: pay the rest"),
    INVALID_TERMINAL: ("invalid terminal", "Terminal not registered"),
    DECLINED: ("declined", "Declined"),
    INVALID_TRANSACTION: ("invalid transaction", "Not allowed"),
    INVALID_AMOUNT: ("invalid amount", "Invalid amount"),
    UNKNOWN_CARD: ("unknown card", "Unknown card"),
    ORIGINAL_NOT_FOUND: ("original not found", "Original not found"),
    FORMAT_ERROR: ("format error", "System error"),
    INSUFFICIENT_CREDIT: ("insufficient credit", "Insufficient credit"),
    EXPIRED_CARD: ("expired card", "Card expired"),
    INCORRECT_PIN: ("incorrect PIN", "Incorrect PIN"),
    NOT_PERMITTED_CARD: ("not permitted to card", "Not allowed for this card"),
    BLOCKED_CARD: ("blocked card", "Card blocked"),
    SECURITY_VIOLATION: ("security violation", "Security error"),
    ENROLLMENT_REQUIRED: ("enrollment required", "Enrollment required"),
    PIN_TRIES_EXCEEDED: ("PIN tries exceeded", "PIN blocked: see the club"),
    DETAILS_REFUSED: ("holder details refused", "Check phone and birth date"),
    COUPON_REFUSED: ("coupon refused", "Coupon refused"),
    DUPLICATE: ("duplicate", "Duplicate"),
    OUT_OF_BALANCE: ("out of balance", "Totals differ"),
    SYSTEM_ERROR: ("system error", "System error"),
}

# The answers to a 0100 that only the club's own decision on this very request gives: it was
# carried out (00) or it was not (docs/protocol.md 6.2). 03 is final too: the club's copies
# and repeats of an answered request never reach its terminal check, and a terminal the club
# no longer accepts could not reverse anyway. 30 is not final: a club that checks the format
# before the MAC answers 30 to a repeat the network corrupted, whatever became of the original.
# Any other answer to a request that may move money (30, 63, 94, 96, a code not listed here) is
# not final: the request stays "possibly approved", is
# repeated as a 0101, and then reversed; never closed as a decline.
# 55 and 75 are final: the club decides them from this request's PIN (field 52) against the
# card's PIN record and records the answer, so a repeat or copy gets the same code and the try
# counter moves once per request, never per repeat.
FINAL_0110 = (
    "00", "10", "03", "05", "12", "13", "14", "25", "51", "54", "55", "57", "62", "64", "75",
    "77", "78",
)  # fmt: skip

# The approvals: phase two follows (10: the credit part of a split sale).
APPROVALS = (APPROVED, PARTIAL_APPROVAL)

# 78 (coupon refused, docs/protocol.md 5.10) is final: the club decides it from the coupon code
# in this request and holds nothing for it.

# Field 22 POS entry modes.
ENTRY_CHIP = "051"
ENTRY_STRIPE = "021"
ENTRY_MANUAL = "012"
ENTRY_NONE = "000"

# Field 25 POS condition codes.
CONDITION_NORMAL = "00"
CONDITION_RESENT_AFTER_RESTART = "06"

# Field 70 network management codes.
NETWORK_SIGN_ON = "001"
NETWORK_SIGN_OFF = "002"
NETWORK_ECHO = "301"
NETWORK_KEY_CHANGE = "161"

# Field 48 Vafa TLV tags (docs/protocol.md 2.3).
TAG_POINTS_EARNED = 0x01
TAG_POINTS_BALANCE = 0x02
TAG_TIER = 0x03
TAG_MESSAGE = 0x04
TAG_BANK_REFERENCE = 0x05
TAG_ORIGINAL_RRN = 0x06
TAG_PHONE = 0x07
TAG_GENDER = 0x08
TAG_BIRTH_DATE = 0x09
TAG_EDUCATION = 0x0A
TAG_REVERSAL_REASON = 0x0B
TAG_CREDIT_VALIDITY = 0x0C
TAG_CARD_EXPIRY = 0x0D
TAG_RECON_DETAIL = 0x0E
TAG_COUPON_CODE = 0x0F
TAG_COUPON_TEXT = 0x10
TAG_COUPON_REASON = 0x11
TAG_COUPON_DISCOUNT = 0x12
TAG_PIN_TRIES_LEFT = 0x13
TAG_PIN_STATE = 0x14
TAG_SPLIT_TENDER = 0x17  # the remainder tender of a split sale: 40 bank card, 00 cash

# Tag 14 in a 0110 55 (docs/protocol.md 4.5): why the PIN was not accepted.
PIN_REQUIRED = "R"  # the 0100 carried no field 52 and this payment needs the PIN
PIN_WRONG = "W"  # the PIN in field 52 is not the card's

# Field 62 protected-data TLV tags (docs/protocol.md 4.1).
SECRET_CARD_NUMBER = 0x01
SECRET_CARD_EXPIRY = 0x02
SECRET_TERMINAL_ID = 0x03
SECRET_NEW_PIN = 0x04  # a PIN change's new PIN block, hex (docs/protocol.md 4.5)

# Reversal reasons (field 48 tag 0B).
REVERSAL_REASONS = {
    "TO": "timeout",
    "CN": "cancelled by the customer",
    "BD": "bank leg declined",
    "BT": "bank leg timed out",
    "VD": "void of the last transaction",
    "PF": "unfinished at power failure",
    "MC": "response MAC failed",
    "PR": "printer failure",
    "NF": "no final answer (docs/protocol.md 6.2)",
    "DL": "phase two deadline passed",
    "ER": "terminal error",
}

# Field 54 amount types.
AMOUNT_DISCOUNT = "D1"
AMOUNT_FEE = "F1"
AMOUNT_PAYABLE = "P1"
AMOUNT_AVAILABLE = "02"

CURRENCY_IRR = "364"
