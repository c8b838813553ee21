"""docs/protocol.md 2.1 "Refusals" and 4.3 step 1, against a real server over TCP.

Each request below is refused; the answer must carry exactly what the page says a refusal
carries: field 39, field 53, the E fields of its column (read from the page's table) that the
request carried well formed, and the MAC, in 128 only when a field 65..127 is left. Then which
faults close the connection and which are answered 30, as the lists of 4.3 step 1 say.
"""

import pytest

from agent.protocol import framing, iso8583, protect
from agent.protocol.errors import DecodeError
from agent.protocol.spec import FIELDS
from simulator.club_server import wire
from simulator.club_server.seed import CARD_A
from tests.club_server.client import Closed
from tests.club_server.protocol_doc import field_map


def sealed(terminal, msg, secrets, old=None, new=None):
    """(keys, bytes) of `msg` sealed with the agent's code; with `old`, its one occurrence in
    the encoded bytes is replaced by `new` and the MAC made again over the result, so the host
    sees a message the terminal's own codec would never have built."""
    keys = terminal.next_keys()
    data = protect.seal(msg, keys, protect.REQUEST, secrets)
    if old is not None:
        assert data.count(old) == 1, (old, data)
        data = data.replace(old, new)
        data = data[:-8] + protect.mac(keys.mac_generation, data)
    return keys, data


def answer(terminal, keys, data):
    """The server's answer to `data`, opened (MAC verified) by the agent's code."""
    terminal.send_raw(framing.frame(data))
    return terminal.open(terminal.recv_frame(), keys)


def refusal_fields(request, broken=()):
    """What docs/protocol.md 2.1 "Refusals" says the answer to `request` carries: 39, 53, the
    E fields of its response column that the request carried (and not in `broken`), the MAC."""
    response_mti = wire.RESPONSE[request["t"]]
    cells = field_map()[0][response_mti]
    echoed = {f for f, cell in cells.items() if cell == "E" and f in request and f not in broken}
    fields = echoed | {"39", "53"}
    mac = "128" if any(65 <= int(f) <= 127 for f in fields) else "64"
    return fields | {mac}


def base_0500(terminal):
    f7, _, _ = terminal.times()
    msg = {"t": "0500", "7": f7, "11": terminal.next_stan(), "42": terminal.merchant_id}
    msg.update(dict.fromkeys(("74", "75", "76", "77"), "0" * 10))
    msg.update(dict.fromkeys(("86", "87", "88", "89"), "0" * 16))
    msg["97"] = "C" + "0" * 16
    return msg


def base_0800(terminal, code="301"):
    f7, _, _ = terminal.times()
    msg = {"t": "0800", "7": f7, "11": terminal.next_stan(), "42": terminal.merchant_id}
    return dict(msg, **{"70": code})


def check(terminal, msg, keys, data, code, broken=()):
    r = answer(terminal, keys, data)
    assert r.message["t"] == wire.RESPONSE[msg["t"]]
    assert r.code == code
    assert set(r.message) - {"t"} == refusal_fields(msg, broken)
    return r


# -- the refusals docs/protocol.md 2.1 lists ----------------------------------------------------


def test_a_letter_in_field_4_is_30_without_field_4(terminal):
    msg = terminal.request_0100("000000", 100_000)
    keys, data = sealed(terminal, msg, terminal.secrets(CARD_A), b"000000100000", b"00000010000A")
    r = check(terminal, msg, keys, data, "30", broken={"4"})
    assert "64" in r.message and "4" not in r.message


def test_0x7f_in_field_42_is_30_without_field_42(terminal):
    msg = terminal.request_0100("000000", 100_000)
    bad = terminal.merchant_id.encode()[:-1] + b"\x7f"
    keys, data = sealed(terminal, msg, terminal.secrets(CARD_A), terminal.merchant_id.encode(), bad)
    r = check(terminal, msg, keys, data, "30", broken={"42"})
    assert "42" not in r.message and "64" in r.message


def test_a_letter_in_field_90_is_30_with_the_mac_in_64(terminal):
    original = terminal.request_0100("000000", 100_000)
    msg = terminal.follow_up("0220", original, rrn="000000000001")
    f90 = msg["90"].encode()
    keys, data = sealed(terminal, msg, terminal.secrets(CARD_A), f90, b"010A" + f90[4:])
    r = check(terminal, msg, keys, data, "30", broken={"90"})
    assert "90" not in r.message and "64" in r.message and "128" not in r.message


def test_a_letter_in_field_4_of_a_0420_keeps_90_and_the_mac_in_128(terminal):
    original = terminal.request_0100("000000", 100_000)
    msg = terminal.follow_up("0420", original, tags={0x0B: "CN"})
    keys, data = sealed(terminal, msg, terminal.secrets(CARD_A), b"000000100000", b"0000001O0000")
    r = check(terminal, msg, keys, data, "30", broken={"4"})
    assert "90" in r.message and "128" in r.message


def test_a_bad_sign_in_field_97_is_30_without_totals_mac_in_64(terminal):
    msg = base_0500(terminal)
    keys, data = sealed(terminal, msg, terminal.secrets(), b"C" + b"0" * 16, b"+" + b"0" * 16)
    r = check(terminal, msg, keys, data, "30")
    assert set(r.message) == {"t", "7", "11", "39", "42", "53", "64"}


def test_a_0500_whose_mac_fails_is_63_without_totals(terminal):
    msg = base_0500(terminal)
    keys, data = sealed(terminal, msg, terminal.secrets())
    data = data[:-1] + bytes([data[-1] ^ 0x01])
    r = check(terminal, msg, keys, data, "63")
    assert "97" not in r.message and "64" in r.message


def test_a_0500_with_the_key_of_another_is_94_without_totals(terminal):
    first = base_0500(terminal)
    keys, data = sealed(terminal, first, terminal.secrets())
    assert answer(terminal, keys, data).code == "00"
    other = dict(first, **{"76": "0000000001"})  # same STAN and field 7, other content
    keys, data = sealed(terminal, other, terminal.secrets())
    r = check(terminal, other, keys, data, "94")
    assert "64" in r.message


def test_an_0800_without_field_70_is_30_mac_in_64(terminal):
    msg = base_0800(terminal)
    del msg["70"]
    keys, data = sealed(terminal, msg, terminal.secrets())
    r = check(terminal, msg, keys, data, "30")
    assert set(r.message) == {"t", "7", "11", "39", "42", "53", "64"}


def test_an_0800_naming_another_terminal_is_03_with_70_and_the_mac_in_128(terminal):
    msg = base_0800(terminal)
    keys, data = sealed(terminal, msg, terminal.secrets(terminal_id="VT000002"))
    r = check(terminal, msg, keys, data, "03")
    assert r.message["70"] == "301" and "128" in r.message


def test_an_unknown_field_70_is_12_not_a_refusal_of_format(terminal):
    assert terminal.network("999").code == "12"


# -- 4.3 step 1: what closes the connection ----------------------------------------------------


def set_bit(data, bit):
    out = bytearray(data)
    out[4 + (bit - 1) // 8] |= 0x80 >> ((bit - 1) % 8)
    return bytes(out)


def field_2(data):
    return set_bit(data, 2)[:12] + b"041234" + data[12:]  # LLVAR "04" + 4 digits


def bit_65(data):
    # a secondary bitmap announcing a tertiary one (bit 65), which is all zeros: pyiso8583
    # alone would decode this; the profile has no bit 65
    return set_bit(data, 1)[:12] + b"\x80" + bytes(15) + data[12:]


def offset(data, field):
    """Where `field` starts in an encoded message (its length prefix, for a variable one)."""
    present = sorted(int(k) for k in iso8583.decode(data) if k != "t")
    pos = 20 if data[4] & 0x80 else 12
    for n in present:
        if n == field:
            return pos
        _name, _fmt, prefix, length = FIELDS[n]
        pos += prefix + (int(data[pos : pos + prefix]) if prefix else length)
    raise AssertionError(f"field {field} not in the message")


def non_ascii_in_4(data):
    at = offset(data, 4)
    return data[:at] + b"00000010000\xd9" + data[at + 12 :]


def prefix_not_digits(data):
    at = offset(data, 62)  # "048" for this 0100's field 62
    return data[:at] + b"04X" + data[at + 3 :]


def as_response_mti(data):
    return b"0110" + data[4:]


def no_field_53(data):
    at = offset(data, 53)
    out = bytearray(data[:at] + data[at + 12 :])
    out[4 + 52 // 8] &= ~(0x80 >> (52 % 8))  # bit 53
    return bytes(out)


@pytest.mark.parametrize(
    "change",
    [field_2, bit_65, non_ascii_in_4, prefix_not_digits, as_response_mti, no_field_53],
)
@pytest.mark.parametrize("remac", [True, False], ids=["mac-remade", "mac-stale"])
def test_what_does_not_decode_or_has_no_usable_ksn_closes_the_connection(terminal, change, remac):
    msg = terminal.request_0100("000000", 100_000)
    keys, data = sealed(terminal, msg, terminal.secrets(CARD_A))
    data = change(data)
    if remac:
        data = data[:-8] + protect.mac(keys.mac_generation, data)
    terminal.send_raw(framing.frame(data))
    with pytest.raises((Closed, ConnectionError)):
        terminal.recv_frame()


def test_a_byte_after_the_mac_closes_the_connection(terminal):
    msg = terminal.request_0100("000000", 100_000)
    keys, data = sealed(terminal, msg, terminal.secrets(CARD_A))
    for tail in (b"\x00", data[-8:]):  # junk, and a MAC computed over everything before it
        terminal.connect()
        terminal.send_raw(framing.frame(data + tail))
        with pytest.raises((Closed, ConnectionError)):
            terminal.recv_frame()
    terminal.connect()
    assert answer(terminal, keys, data).code == "00"  # and the message itself is fine


# -- 4.3 step 1: what is answered 30 ------------------------------------------------------------


def empty_secondary_bitmap(data):
    return set_bit(data, 1)[:12] + bytes(8) + data[12:]


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.update({"22": "000"}),  # there is no card-less entry mode
        lambda m: m.update({"48": b"\x01\x05ab"}),  # a TLV item cut short
        lambda m: m.update({"48": b"\x99\x01a\x99\x01b"}),  # a tag repeated
        lambda m: m.update({"48": b"\x99\x02\xff\xfe"}),  # a value that is not UTF-8
        lambda m: m.update({"70": "301"}),  # a field the 0100 does not carry (MAC now in 128)
    ],
    ids=["entry-000", "48-cut-short", "48-repeated-tag", "48-not-utf8", "70-in-0100"],
)
def test_format_faults_are_30(terminal, change):
    msg = terminal.request_0100("000000", 100_000)  # an active card: 48 is read for nothing
    change(msg)
    keys, data = sealed(terminal, msg, terminal.secrets(CARD_A))
    r = answer(terminal, keys, data)
    assert r.code == "30" and "64" in r.message


def test_a_secondary_bitmap_with_no_bit_set_is_30(terminal):
    msg = terminal.request_0100("000000", 100_000)
    keys, data = sealed(terminal, msg, terminal.secrets(CARD_A))
    data = empty_secondary_bitmap(data)
    data = data[:-8] + protect.mac(keys.mac_generation, data)
    assert answer(terminal, keys, data).code == "30"


def test_field_90_naming_another_mti_is_30(terminal):
    original, r = terminal.authorize("000000", 100_000, CARD_A)
    msg = terminal.follow_up("0220", original, r.rrn)
    msg["90"] = "0200" + msg["90"][4:]
    keys, data = sealed(terminal, msg, terminal.secrets(CARD_A))
    assert answer(terminal, keys, data).code == "30"


# -- the terminal's codec keeps the same MAC rule ------------------------------------------------


def test_the_terminal_refuses_a_response_with_its_mac_in_the_wrong_field(terminal):
    keys = terminal.next_keys()
    response = {"t": "0810", "7": "1123101500", "11": "000001", "39": "00", "53": keys.ksn}
    for fields in ({"64": bytes(8), "128": bytes(8)}, {"128": bytes(8)}):
        data = iso8583.encode(dict(response, **fields))
        data = data[:-8] + protect.mac(keys.mac_verification, data)
        with pytest.raises(DecodeError):
            protect.open_sealed(data, lambda ksn: keys, protect.RESPONSE)
