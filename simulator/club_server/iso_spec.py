"""The club-link field map as a pyiso8583 spec, for the club server and the cross-checks.

Written out by hand from agent/protocol/spec.py (ISO 8583:1987, binary bitmaps), as a literal
dict, so the server decodes with pyiso8583's code and none of the agent's codec: the two
implementations check each other (tests/test_iso8583_properties.py compares them byte for byte).
Keep it in step with agent/protocol/spec.py.

pyiso8583 conventions used here (pyiso8583 4.x, iso8583/specs.py):
- "h" is the header, disabled with max_len 0; "t" is the MTI, 4 ASCII digits.
- "p" is the primary bitmap and "1" the secondary one (pyiso8583 keys the secondary bitmap by
  its bit number, 1; there is no "s" key), both 8 raw bytes (data_enc "b").
- Fixed fields have len_type 0; LLVAR / LLLVAR prefixes are 2 / 3 ASCII digits (len_enc
  "ascii") counting bytes.
- "b" fields are data_enc "b": pyiso8583 takes and returns them as uppercase hex strings
  (the agent's codec uses bytes).
- pyiso8583 does not check character classes (n, an, ans, x+n are all plain ASCII to it), and
  a bitmap bit for a field outside this dict makes its decode raise KeyError, not DecodeError:
  server code catches both. There is no "65": a message with bit 65 set does not decode here,
  as docs/protocol.md section 2 says.
- Field 97 is the standard's "x+n 16": the sign C or D, then 16 digits. max_len counts the
  sign, 17, as in pyiso8583's own default_ascii spec and docs/protocol.md 2.1.
"""

# ruff: noqa: E501  (one field per line, as in pyiso8583's specs.py: the table reads as a table)

ASCII = "ascii"
BINARY = "b"

# fmt: off
VAFA_SPEC = {
    "h":   {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 0,   "desc": "Message Header"},
    "t":   {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 4,   "desc": "Message Type"},
    "p":   {"data_enc": BINARY, "len_enc": ASCII, "len_type": 0, "max_len": 8,   "desc": "Bitmap, Primary"},
    "1":   {"data_enc": BINARY, "len_enc": ASCII, "len_type": 0, "max_len": 8,   "desc": "Bitmap, Secondary"},
    "3":   {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 6,   "desc": "Processing code"},
    "4":   {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 12,  "desc": "Amount, transaction"},
    "7":   {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 10,  "desc": "Transmission date and time"},
    "11":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 6,   "desc": "System trace audit number"},
    "12":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 6,   "desc": "Time, local transaction"},
    "13":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 4,   "desc": "Date, local transaction"},
    "22":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 3,   "desc": "Point of service entry mode"},
    "25":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 2,   "desc": "Point of service condition code"},
    "37":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 12,  "desc": "Retrieval reference number"},
    "38":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 6,   "desc": "Authorization identification response"},
    "39":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 2,   "desc": "Response code"},
    "42":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 15,  "desc": "Card acceptor identification code"},
    "48":  {"data_enc": BINARY, "len_enc": ASCII, "len_type": 3, "max_len": 999, "desc": "Additional data, private (Vafa TLV)"},
    "49":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 3,   "desc": "Currency code, transaction"},
    "52":  {"data_enc": BINARY, "len_enc": ASCII, "len_type": 0, "max_len": 16,  "desc": "PIN data (ISO 9564-1 format 4, AES)"},
    "53":  {"data_enc": BINARY, "len_enc": ASCII, "len_type": 0, "max_len": 12,  "desc": "Security related control information (KSN)"},
    "54":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 3, "max_len": 120, "desc": "Additional amounts"},
    "62":  {"data_enc": BINARY, "len_enc": ASCII, "len_type": 3, "max_len": 999, "desc": "Protected data (encrypted card and terminal)"},
    "64":  {"data_enc": BINARY, "len_enc": ASCII, "len_type": 0, "max_len": 8,   "desc": "Message authentication code"},
    "70":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 3,   "desc": "Network management information code"},
    "74":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 10,  "desc": "Credits, number"},
    "75":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 10,  "desc": "Credits, reversal number"},
    "76":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 10,  "desc": "Debits, number"},
    "77":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 10,  "desc": "Debits, reversal number"},
    "86":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 16,  "desc": "Credits, amount"},
    "87":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 16,  "desc": "Credits, reversal amount"},
    "88":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 16,  "desc": "Debits, amount"},
    "89":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 16,  "desc": "Debits, reversal amount"},
    "90":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 42,  "desc": "Original data elements"},
    "97":  {"data_enc": ASCII,  "len_enc": ASCII, "len_type": 0, "max_len": 17,  "desc": "Amount, net reconciliation"},
    "128": {"data_enc": BINARY, "len_enc": ASCII, "len_type": 0, "max_len": 8,   "desc": "Message authentication code"},
}
# fmt: on
