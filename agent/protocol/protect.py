"""Message protection on the club link (docs/protocol.md section 4).

A request is sealed by the terminal with the working keys of its KSN: field 53 carries the KSN,
field 62 the secrets (card number, expiry, terminal id) encrypted with AES-128-CBC under the data
key, and the last field (64, or 128 with a secondary bitmap) the AES-CMAC truncated to 8 bytes
(NIST SP 800-38B) over everything before it. The host answers under the same KSN with the
opposite keys. `keys` is any object with the four working keys as attributes
(agent.protocol.dukpt.WorkingKeys).
"""

from agent.protocol import crypto, iso8583
from agent.protocol.errors import CryptoError, DecodeError, MacError, ProtocolError
from agent.protocol.tlv import decode_tlv, encode_tlv

MAC_LEN = 8
ZERO_IV = bytes(16)

# direction -> (attribute of the MAC key, attribute of the field 62 key), X9.24-3 key usages.
REQUEST = "request"
RESPONSE = "response"
KEYS_BY_DIRECTION = {
    REQUEST: ("mac_generation", "data_encrypt"),  # 0x2000, 0x3000: terminal -> host
    RESPONSE: ("mac_verification", "data_decrypt"),  # 0x2001, 0x3001: host -> terminal
}


def mac_field(message):
    """ "128" when the message has a field 65..127 (and so a secondary bitmap), else "64"."""
    for key in message:
        if key not in ("t", "64", "128") and int(key) > 64:
            return "128"
    return "64"


def mac(key, encoded):
    """The 8-byte MAC of an encoded message: CMAC over all but its last 8 bytes."""
    return crypto.aes_cmac(key, encoded[:-MAC_LEN])[:MAC_LEN]


def seal(message, keys, direction=REQUEST, secrets=None):
    """Protect and encode `message` (a codec dict, not modified); return the bytes to frame.

    `secrets` is {tag: text} for field 62 (agent.protocol.messages.SECRET_*), or None.
    """
    mac_attr, data_attr = KEYS_BY_DIRECTION[direction]
    out = dict(message)
    out.pop("64", None)
    out.pop("128", None)
    out["53"] = keys.ksn
    if secrets:
        plain = crypto.pad_iso9797_m2(encode_tlv(secrets, field=62))
        out["62"] = crypto.aes_cbc_encrypt(getattr(keys, data_attr), ZERO_IV, plain)
    out[mac_field(out)] = bytes(MAC_LEN)
    encoded = iso8583.encode(out)
    return encoded[:-MAC_LEN] + mac(getattr(keys, mac_attr), encoded)


def open_sealed(data, keys_for_ksn, direction=REQUEST):
    """Decode and verify a sealed message; return (message, secrets, keys).

    `keys_for_ksn(ksn)` returns the working keys for a KSN (the host derives them; the terminal
    returns the keys of the request it is waiting on, or raises when the KSN is not that one).
    Raises DecodeError for format errors, MacError for a wrong MAC, CryptoError when field 62
    does not decrypt; secrets is {tag: text} ({} when field 62 is absent).
    """
    message = iso8583.decode(data)
    field = mac_field(message)
    if field not in message:
        raise DecodeError("no MAC field", field=int(field))
    if ("64" in message) and field == "128":
        raise DecodeError("MAC in field 64 of a message with a secondary bitmap", field=64)
    if ("128" in message) and field == "64":
        raise DecodeError("MAC in field 128 of a message without a field 65..127", field=128)
    ksn = message.get("53")
    if ksn is None:
        raise DecodeError("no KSN", field=53)
    keys = keys_for_ksn(ksn)
    mac_attr, data_attr = KEYS_BY_DIRECTION[direction]
    if not crypto.constant_time_equal(mac(getattr(keys, mac_attr), data), data[-MAC_LEN:]):
        raise MacError("MAC does not verify", field=int(field))
    secrets = {}
    cipher = message.get("62")
    if cipher is not None:
        try:
            plain = crypto.aes_cbc_decrypt(getattr(keys, data_attr), ZERO_IV, cipher)
            items = decode_tlv(crypto.unpad_iso9797_m2(plain), field=62)
            for tag, value in items.items():
                secrets[tag] = value.decode()
        except (ProtocolError, UnicodeError):
            raise CryptoError("protected data does not decrypt", field=62)
    return message, secrets, keys
