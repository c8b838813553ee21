"""docs/card.md and docs/testing.md "Virtual cards" against the code and the seeded club.

The worked examples of card.md are recomputed here with the `cryptography` package (an AES and
a CMAC independent of agent/protocol/crypto.py); the personas table against
simulator/cards/personas.py and simulator/club_server/seed.py.
"""

import re
from pathlib import Path

import pytest

from agent.card_io import clubcard, sw
from simulator.cards import personas
from simulator.cards.applet import ATR, COMMANDS
from simulator.club_server import seed

ROOT = Path(__file__).resolve().parents[2]
CARD_MD = (ROOT / "docs" / "card.md").read_text()
TESTING_MD = (ROOT / "docs" / "testing.md").read_text()

cryptography = pytest.importorskip("cryptography")
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.cmac import CMAC  # noqa: E402


def ecb(key, block):
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def cmac(key, data):
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def pan_block(pan):
    return bytes.fromhex(pan + "F" * (32 - len(pan)))


def row(text, label):
    """The hex value of the table row whose first cell starts with label."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith(label):
            found = re.search(r"`([0-9A-F]{16,})`", cells[1])
            if found:
                return found.group(1)
    raise AssertionError(f"no row {label!r}")


def test_worked_example_independently():
    imk = bytes.fromhex(row(CARD_MD, "IMK"))
    assert imk == personas.TEST_IMK
    pan = "9879110000000014"
    k_card = ecb(imk, pan_block(pan))
    assert (
        k_card.hex().upper() == row(CARD_MD, "K_card") == clubcard.card_key(imk, pan).hex().upper()
    )
    challenge = bytes.fromhex(row(CARD_MD, "challenge"))
    response = cmac(k_card, challenge + pan_block(pan))
    assert response.hex().upper() == "80D2703C4F50C45B536883950AE6F3A8"
    assert "| response | `80D2703C4F50C45B536883950AE6F3A8` |" in CARD_MD
    clone = ecb(personas.CLONE_IMK, pan_block(pan))
    clone_response = cmac(clone, challenge + pan_block(pan)).hex().upper()
    assert f"`{clone_response}` |" in CARD_MD
    assert clubcard.auth_response(k_card, challenge, pan) == response


def test_personalization_example_independently():
    k_perso = personas.TEST_PERSO_KEY
    assert k_perso.hex().upper() in CARD_MD
    rc = bytes.fromhex(row(CARD_MD, "RC"))
    k_smac = ecb(k_perso, bytes([rc[0] ^ 1]) + rc[1:])
    k_senc = ecb(k_perso, bytes([rc[0] ^ 2]) + rc[1:])
    assert k_smac.hex().upper() == row(CARD_MD, "K_smac")
    assert k_senc.hex().upper() == row(CARD_MD, "K_senc")
    assert clubcard.perso_session_keys(k_perso, rc) == (k_smac, k_senc)
    body = bytes.fromhex("5A089879110000000014")
    mac = cmac(k_smac, b"\x00\x00" + bytes.fromhex("80E20000") + body)[:8]
    assert (
        f"MAC `{mac.hex().upper()}`: APDU `80E2000012 5A089879110000000014 {mac.hex().upper()}`"
        in CARD_MD
    )
    lock = cmac(k_smac, b"\x00\x05" + bytes.fromhex("80F0000F"))[:8].hex().upper()
    assert f"MAC `{lock}`: APDU `80F0000F08 {lock}`" in CARD_MD
    k_card = ecb(personas.TEST_IMK, pan_block("9879110000000014"))
    assert f"`{ecb(k_senc, k_card).hex().upper()}`" in CARD_MD


def test_card_md_names_the_application():
    aid = " ".join(f"{b:02X}" for b in clubcard.AID)
    assert f"| AID | `{aid}`" in CARD_MD
    assert " ".join(f"{b:02X}" for b in ATR) in CARD_MD
    for ins, (cla, _method) in COMMANDS.items():
        assert f"`{cla:02X} {ins:02X} " in CARD_MD, hex(ins)


def test_card_md_lists_every_status_word():
    table = CARD_MD.split("## 6. Status words", 1)[1].split("## 7.", 1)[0]
    for word in sw.STATUS_WORDS:
        assert f"| `{word:04X}` |" in table, hex(word)


SEEDED = {
    "active": seed.CARD_A,
    "blocked": seed.CARD_BLOCKED,
    "expired": seed.CARD_EXPIRED,
    "low-balance": seed.CARD_LOW,
    "prepaid": seed.CARD_POOL,
    "clone": seed.CARD_A,
    "pulled-out": seed.CARD_B,
    "garbage": seed.CARD_C,
}


def test_personas_match_the_seeded_club():
    assert set(personas.PERSONAS) == set(SEEDED) | {"blank"}
    assert tuple(personas.PERSONAS) == personas.NAMES
    for name, pan in SEEDED.items():
        assert personas.PERSONAS[name][0] == pan, name
        assert pan in seed.CARDS, name
    assert personas.PERSONAS["expired"][1] == seed.CARDS[seed.CARD_EXPIRED]["expiry"]
    assert personas.PERSONAS["prepaid"][2] == seed.CARDS[seed.CARD_POOL]["product"]
    for name in ("active", "blocked", "low-balance", "pulled-out"):
        assert seed.CARDS[personas.PERSONAS[name][0]]["status"] == (
            "blocked" if name == "blocked" else "active"
        )


def test_testing_md_lists_every_persona_and_key():
    section = TESTING_MD.split("## Virtual cards", 1)[1]
    for name, (pan, expiry, _program, holder, _b, _w) in personas.PERSONAS.items():
        line = next((x for x in section.splitlines() if x.startswith(f"| `{name}` |")), None)
        assert line is not None, name
        if pan:
            assert f"`{pan}`" in line, name
        if name == "clone":
            assert "the `active` card's data" in line
            continue
        if name == "garbage":
            assert "never readable" in line
            continue
        if expiry:
            assert f"`{expiry}`" in line or f"expiry `{expiry}`" in line, name
        if holder:
            assert holder in line, name
    for key in (personas.TEST_IMK, personas.TEST_PERSO_KEY, personas.CLONE_IMK):
        assert f"`{key.hex().upper()}`" in section
    assert "TEST ONLY" in section
