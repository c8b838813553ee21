"""Personalization of a blank club card (docs/card.md section 5): the issuer's side.

    fci = personalize(ApduChannel(reader), k_perso, imk, "9879110000000105", "2912",
                      "standard", "مریم احمدی")

SELECT, GET CHALLENGE (opens the session: the card's challenge RC gives the session keys),
one STORE DATA per data element, each closed by an 8-byte MAC over a sequence counter, the
card key K_card (diversified from the issuer master key) encrypted under the session key, then
LOCK. The card itself refuses everything after LOCK (6985 -> CardLocked); this module does not
look at the life cycle first, so a locked card's refusal is what the caller sees.
"""

from agent.card_io import ber
from agent.card_io.apdu import command
from agent.card_io.clubcard import (
    CHALLENGE_LEN,
    CLA_CLUB,
    CLA_ISO,
    HOLDER_MAX,
    INS_GET_CHALLENGE,
    INS_LOCK,
    INS_STORE_DATA,
    LIFE_LOCKED,
    PROGRAM_MAX,
    TAG_CARD_KEY,
    TAG_EXPIRY,
    TAG_HOLDER,
    TAG_PAN,
    TAG_PROGRAM,
    ClubCardSession,
    bcd,
    card_key,
    luhn_ok,
    perso_mac,
    perso_session_keys,
)
from agent.card_io.errors import CardProtocolError
from agent.numbers import is_digits
from agent.protocol.crypto import aes_ecb_encrypt


def check_inputs(pan, expiry, program, holder):
    """ValueError naming the first bad input (the issuer's typing, not the card)."""
    if not is_digits(pan) or not 12 <= len(pan) <= 19:
        raise ValueError("card number must be 12..19 digits")
    if not luhn_ok(pan):
        raise ValueError("card number fails its check digit (Luhn)")
    if len(expiry) != 4 or not is_digits(expiry) or not 1 <= int(expiry[2:]) <= 12:
        raise ValueError("expiry must be YYMM")
    if not 1 <= len(program) <= PROGRAM_MAX:
        raise ValueError(f"program id must be 1..{PROGRAM_MAX} characters")
    for ch in program:
        if not " " <= ch <= "~":
            raise ValueError("program id must be printable ASCII")
    if len(holder.encode("utf-8")) > HOLDER_MAX:
        raise ValueError(f"holder name must be at most {HOLDER_MAX} bytes in UTF-8")


def elements(pan, expiry, program, holder, k_card, k_senc):
    """The STORE DATA bodies, in order: one TLV each."""
    return [
        ber.encode(TAG_PAN, bcd(pan)),
        ber.encode(TAG_EXPIRY, bcd(expiry)),
        ber.encode(TAG_PROGRAM, program.encode()),
        ber.encode(TAG_HOLDER, holder.encode("utf-8")),
        ber.encode(TAG_CARD_KEY, aes_ecb_encrypt(k_senc, k_card)),
    ]


def personalize(channel, k_perso, issuer_master_key, pan, expiry, program, holder="", lock=True):
    """Write the card data and key, then LOCK (unless lock=False); the FCI after it."""
    check_inputs(pan, expiry, program, holder)
    session = ClubCardSession(channel)
    session.select()
    rc = channel.transmit(
        command(CLA_ISO, INS_GET_CHALLENGE, 0, 0, None, CHALLENGE_LEN), "GET CHALLENGE"
    )
    if len(rc) != CHALLENGE_LEN:
        raise CardProtocolError(f"GET CHALLENGE answered {len(rc)} bytes, not 16")
    k_smac, k_senc = perso_session_keys(k_perso, rc)
    k_card = card_key(issuer_master_key, pan)
    seq = 0
    header = bytes([CLA_CLUB, INS_STORE_DATA, 0x00, 0x00])
    for body in elements(pan, expiry, program, holder, k_card, k_senc):
        mac = perso_mac(k_smac, seq, header, body)
        channel.transmit(command(CLA_CLUB, INS_STORE_DATA, 0, 0, body + mac), "STORE DATA")
        seq += 1
    if lock:
        header = bytes([CLA_CLUB, INS_LOCK, 0x00, LIFE_LOCKED])
        mac = perso_mac(k_smac, seq, header)
        channel.transmit(command(CLA_CLUB, INS_LOCK, 0x00, LIFE_LOCKED, mac), "LOCK")
    return session.select()
