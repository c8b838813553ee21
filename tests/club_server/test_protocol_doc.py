"""docs/protocol.md against the code: table 2.1 against both codecs and the server's layout
rules, and the worked example of 4.4 re-derived from the BDK with the terminal's code
(agent.protocol) and the reference server's (simulator.club_server), each side opening what
the other sealed. A change to either side or to the page that makes them disagree fails here.
"""

import re

import pytest

from agent.protocol import crypto, dukpt, framing, iso8583, protect
from agent.protocol.spec import FIELDS, FIXED
from agent.protocol.tlv import encode_tlv
from simulator.club_server import protection, wire
from simulator.club_server.iso_spec import VAFA_SPEC
from simulator.club_server.server import TEST_BDK
from tests.club_server.protocol_doc import field_map, golden, golden_fields, quoted, section

REQUESTS = ("0100", "0220", "0420", "0500", "0800")
RESPONSES = ("0110", "0230", "0430", "0510", "0810")

# What 4.4's prose says the example is; the page's hex must be exactly these, sealed.
EXAMPLE_SECRETS = {0x01: "9879110000000017", 0x02: "2812", 0x03: "T0000001"}
KEY_LABELS = {
    "key 2000 MAC generation": "mac_generation",
    "key 2001 MAC verification": "mac_verification",
    "key 3000 data encryption": "data_encrypt",
    "key 3001 data decryption": "data_decrypt",
}


def value(values, prefix):
    """The golden value whose label starts with `prefix` (message labels carry their size)."""
    (label,) = [label for label in values if label.startswith(prefix)]
    size = re.search(r"\((\d+) bytes\)", label)
    if size:
        assert len(values[label]) == int(size.group(1)), label
    return values[label]


# -- table 2.1 -------------------------------------------------------------------------------


def test_every_field_of_the_table_is_in_both_codecs_with_its_format_and_length():
    _, formats, lengths = field_map()
    assert set(formats) == {str(n) for n in FIELDS} == set(wire.FORMATS)
    for field, fmt in formats.items():
        _name, spec_fmt, length_type, max_len = FIELDS[int(field)]
        assert fmt == spec_fmt == wire.FORMATS[field], field
        length = lengths[field]
        if length_type == FIXED:
            assert int(length.split()[0]) == max_len == VAFA_SPEC[field]["max_len"], field
        else:
            assert length == f"LLLVAR ..{max_len}", field
            assert VAFA_SPEC[field]["len_type"] == length_type == 3


@pytest.mark.parametrize("mti", REQUESTS)
def test_a_requests_m_and_c_cells_are_what_the_server_requires_and_allows(mti):
    cells = field_map()[0][mti]
    mandatory, optional = wire.REQUESTS[mti]
    assert {f for f, cell in cells.items() if cell == "M"} == mandatory
    assert {f for f, cell in cells.items() if cell.startswith("C")} == optional


@pytest.mark.parametrize("mti", RESPONSES)
def test_a_responses_e_cells_are_what_the_server_echoes(mti):
    cells = field_map()[0][mti]
    # 53 is echoed by protecting the response under the request's KSN
    assert {f for f, cell in cells.items() if cell == "E"} == {*wire.ECHO[mti], "53"}


def test_the_mac_cells_follow_the_65_to_127_rule():
    cells = field_map()[0]
    for mti in REQUESTS + RESPONSES:
        layout = {f for f, cell in cells[mti].items() if cell in ("M", "E")}
        expected = wire.mac_field(dict.fromkeys(layout))
        if mti in ("0100", "0110"):
            assert cells[mti]["64"] == "M" and cells[mti]["128"] == "-"
        elif mti in REQUESTS:
            assert expected == "128" and cells[mti]["128"] == "M" and cells[mti]["64"] == "-"
        else:  # the response's MAC field depends on what it carries (C5)
            assert cells[mti]["64"] == cells[mti]["128"] == "C5"


# -- section 4.4 -----------------------------------------------------------------------------


def test_example_keys_derive_from_the_test_bdk():
    values = golden()
    bdk, ikid = values["BDK (TEST ONLY)"], values["initial key id"]
    assert bdk == TEST_BDK
    initial = dukpt.derive_initial_key(bdk, ikid)
    assert values["initial key"] == initial
    counter = values["transaction counter"]
    ksn = values["KSN (field 53)"]
    assert ksn == ikid + counter and len(counter) == 4
    # the terminal: its first KSN after the initial key is loaded
    terminal = dukpt.TerminalDukpt(dukpt.MemoryStore())
    terminal.load_initial_key(initial, ikid)
    keys = terminal.next_keys()
    assert keys.ksn == ksn
    assert values["transaction key"] == keys.transaction_key
    host = protection.Keyring(bdk).keys_for(ksn)
    for label, attribute in KEY_LABELS.items():
        assert values[label] == getattr(keys, attribute) == getattr(host, attribute), label


def terminal_keys(values):
    initial = dukpt.derive_initial_key(values["BDK (TEST ONLY)"], values["initial key id"])
    return dukpt.WorkingKeys(
        dukpt.derive_transaction_key(initial, values["KSN (field 53)"]), values["KSN (field 53)"]
    )


def test_example_0100_is_what_the_terminal_seals():
    values = golden()
    keys = terminal_keys(values)
    data = value(values, "0100 message")
    plain = values["0100 field 62 plaintext"]
    assert plain == encode_tlv(EXAMPLE_SECRETS, field=62)
    assert values["0100 field 62 padded"] == crypto.pad_iso9797_m2(plain)
    cipher = values["0100 field 62 ciphertext"]
    assert cipher == crypto.aes_cbc_encrypt(
        keys.data_encrypt, bytes(16), crypto.pad_iso9797_m2(plain)
    )
    assert values["0100 MAC (field 64)"] == data[-8:] == protect.mac(keys.mac_generation, data)
    # re-seal the clear fields of the page's message with the agent's code: the same bytes
    clear = iso8583.decode(data)
    assert clear["53"] == keys.ksn and clear["62"] == cipher
    fields = {k: v for k, v in clear.items() if k not in ("53", "62", "64")}
    assert protect.seal(fields, keys, protect.REQUEST, EXAMPLE_SECRETS) == data


def test_example_0100_opens_on_the_host():
    values = golden()
    data = value(values, "0100 message")
    message, secondary = wire.decode(data)
    wire.check_format(message, secondary)
    keys = protection.Keyring(TEST_BDK).keys_for(message["53"])
    assert protection.verify_request_mac(data, keys)
    assert protection.decrypt_secrets(message["62"], keys) == EXAMPLE_SECRETS


def test_example_0110_is_what_the_host_seals_and_the_terminal_opens():
    values = golden()
    data = value(values, "0110 message")
    message, _ = wire.decode(data)
    keys = protection.Keyring(TEST_BDK).keys_for(values["KSN (field 53)"])
    assert values["0110 MAC (field 64)"] == data[-8:]
    assert protection.seal_response(message, keys) == data
    # the 0110 answers the 0100: same MTI pair, STAN and KSN, echoed fields unchanged
    request = iso8583.decode(value(values, "0100 message"))
    opened, secrets, _ = protect.open_sealed(data, lambda ksn: terminal_keys(values), "response")
    assert secrets == {} and opened["39"] == "00"
    for field in wire.ECHO["0110"]:
        assert opened[field] == request[field], field
    assert opened["53"] == request["53"]


def test_example_frame_lengths_are_the_ones_the_page_gives():
    values = golden()
    text = section("4.4")
    for label in ("0100 message", "0110 message"):
        header = framing.frame(value(values, label))[:2]
        assert f"`{header.hex().upper()}`" in text, label


def test_example_tables_are_the_messages_field_by_field():
    values = golden()
    for rows, label in zip(golden_fields(), ("0100 message", "0110 message"), strict=True):
        data = value(values, label)
        assert b"".join(chunk for _, chunk, _ in rows) == data, label
        decoded = iso8583.decode(data)
        fields, chunks = [], {}
        for field, chunk, cell in rows:
            chunks[field] = chunk
            if field == "MTI":
                assert quoted(cell) == decoded["t"]
            elif field == "bitmap":
                fields = cell.removeprefix("fields ").split()
            elif FIELDS[int(field)][1] != "b":  # text: the cell quotes its characters
                assert quoted(cell) == chunk.decode("ascii"), (label, field)
        assert fields == [f for f in chunks if f not in ("MTI", "bitmap")]
        assert fields == sorted((k for k in decoded if k != "t"), key=int)
