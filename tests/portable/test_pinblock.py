"""ISO 9564-1 format 4 PIN blocks (agent/protocol/pinblock.py).

Published: ANSI X9.24-3:2017 Supplement Test Vectors, "Calculation of AES PIN Block Format 4"
(PIN 1234, PAN 4111111111111111: PIN field 441234AAAAAAAAAA + random, PAN field
44111111111111111000000000000000), and ISO 9564-1:2017's rule for a PAN of fewer than 12
digits (left-padded with zeros, M = 0). The enciphered blocks under the published DUKPT PIN key
of KSN ...00000001 (tests/vectors, aes_dukpt_x9_24_3) with a fixed fill were computed by
OpenSSL's AES through `cryptography`, and tests/test_pin_cpython.py checks every block the agent
makes against psec's independent decipher_pinblock_iso_4.
"""

from agent.protocol import pinblock
from agent.protocol.errors import CryptoError
from tests.portable.support import hexu, load_vectors, raises, unhex

# (PIN, PAN, fill, PIN field, PAN field, block under the PIN key of KSN ...01)
# fmt: off
VECTORS = (
    ("1234", "4111111111111111", "0123456789ABCDEF",
     "441234AAAAAAAAAA0123456789ABCDEF", "44111111111111111000000000000000",
     "4126DFD35D5934DD0DFD161450126C8B"),
    ("12345", "9879110000000017", "FFEEDDCCBBAA9988",
     "4512345AAAAAAAAAFFEEDDCCBBAA9988", "49879110000000017000000000000000",
     "3926B035FE2CC6CB790D77888AA6527B"),
    ("123456789012", "123456789", "0000000000000000",
     "4C123456789012AA0000000000000000", "00001234567890000000000000000000",
     "44A2E110556A9A0EC48C5359AE82E2EE"),
)
# fmt: on


def pin_key():
    return unhex(load_vectors()["aes_dukpt_x9_24_3"]["transactions"][0]["pin_key_aes128"])


def test_published_pin_and_pan_fields():
    field = pinblock.pin_field("1234", bytes(8))
    assert hexu(field[:8]) == "441234AAAAAAAAAA"
    assert hexu(pinblock.pan_field("4111111111111111")) == "44111111111111111000000000000000"
    assert hexu(pinblock.pan_field("123456789")) == "00001234567890000000000000000000"


def test_known_blocks():
    key = pin_key()
    for pin, pan, fill, field_hex, pan_hex, block_hex in VECTORS:
        field = pinblock.pin_field(pin, unhex(fill))
        assert hexu(field) == field_hex
        assert hexu(pinblock.pan_field(pan)) == pan_hex
        block = pinblock.encipher(key, field, pan)
        assert hexu(block) == block_hex, pin
        assert pinblock.pin_of(pinblock.decipher(key, block, pan)) == pin


def test_another_card_or_key_does_not_give_the_pin():
    key = pin_key()
    block = unhex(VECTORS[0][5])
    e = raises(
        CryptoError, lambda: pinblock.pin_of(pinblock.decipher(key, block, "4111111111111112"))
    )
    assert "1234" not in str(e)
    other = bytes(16)
    raises(CryptoError, lambda: pinblock.pin_of(pinblock.decipher(other, block, VECTORS[0][1])))


def test_bad_pins_refused_without_echo():
    for bad in ("123", "1234567890123", "12a4", "", "12 4"):
        e = raises(CryptoError, pinblock.pin_field, bad, bytes(8))
        assert str(e) == "a PIN must be 4..12 ASCII digits"
    raises(CryptoError, pinblock.pin_field, "1234", bytes(7))


def test_pin_of_checks_the_field():
    good = pinblock.pin_field("98765", bytes(8))
    assert pinblock.pin_of(good) == "98765"
    for bad in (
        b"\x34" + good[1:],  # format 3
        b"\x43" + good[1:],  # 3 digits
        b"\x4d" + good[1:],  # 13 digits
        good[:3] + b"\x5b" + good[4:],  # fill nibble B
        b"\x45\x9c" + good[2:],  # a digit C
    ):
        raises(CryptoError, pinblock.pin_of, bad)


def test_fresh_fill_gives_a_fresh_block():
    key = pin_key()
    a = pinblock.encipher(key, pinblock.pin_field("1234", b"\x01" * 8), "4111111111111111")
    b = pinblock.encipher(key, pinblock.pin_field("1234", b"\x02" * 8), "4111111111111111")
    assert a != b
