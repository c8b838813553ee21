"""The Vafa club-link field map (ISO 8583:1987, binary bitmaps): data, not code.

Each entry: field number -> (name, format, length type, max length).
- format: "n" digits, "an" letters and digits, "ans" printable ASCII, "b" raw bytes,
  "x+n" a sign (C or D) then digits.
- length type: 0 fixed (the length is exact), 2 an LL prefix, 3 an LLL prefix; prefixes
  are ASCII digits and count characters (bytes for "b").
The MTI is 4 ASCII digits; bitmaps are 8 raw bytes each; every other field is ASCII
except "b". docs/protocol.md is the prose for this table; keep the two in step.
"""

N = "n"
AN = "an"
ANS = "ans"
B = "b"
XN = "x+n"

FIXED = 0
LLVAR = 2
LLLVAR = 3

# fmt: off
FIELDS = {
    3: ("Processing code", N, FIXED, 6),
    4: ("Amount, transaction", N, FIXED, 12),
    7: ("Transmission date and time", N, FIXED, 10),
    11: ("System trace audit number", N, FIXED, 6),
    12: ("Time, local transaction", N, FIXED, 6),
    13: ("Date, local transaction", N, FIXED, 4),
    22: ("Point of service entry mode", N, FIXED, 3),
    25: ("Point of service condition code", N, FIXED, 2),
    37: ("Retrieval reference number", AN, FIXED, 12),
    38: ("Authorization identification response", AN, FIXED, 6),
    39: ("Response code", AN, FIXED, 2),
    42: ("Card acceptor identification code", ANS, FIXED, 15),
    48: ("Additional data, private (Vafa TLV)", B, LLLVAR, 999),
    49: ("Currency code, transaction", N, FIXED, 3),
    52: ("PIN data (ISO 9564-1 format 4, AES)", B, FIXED, 16),
    53: ("Security related control information (KSN)", B, FIXED, 12),
    54: ("Additional amounts", AN, LLLVAR, 120),
    62: ("Protected data (encrypted card and terminal)", B, LLLVAR, 999),
    64: ("Message authentication code", B, FIXED, 8),
    70: ("Network management information code", N, FIXED, 3),
    74: ("Credits, number", N, FIXED, 10),
    75: ("Credits, reversal number", N, FIXED, 10),
    76: ("Debits, number", N, FIXED, 10),
    77: ("Debits, reversal number", N, FIXED, 10),
    86: ("Credits, amount", N, FIXED, 16),
    87: ("Credits, reversal amount", N, FIXED, 16),
    88: ("Debits, amount", N, FIXED, 16),
    89: ("Debits, reversal amount", N, FIXED, 16),
    90: ("Original data elements", N, FIXED, 42),
    97: ("Amount, net reconciliation", XN, FIXED, 17),  # the standard's "x+n 16": sign + 16
    128: ("Message authentication code", B, FIXED, 8),
}
# fmt: on

MAX_FIELD = 128
