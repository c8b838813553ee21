"""Host-side message protection (docs/protocol.md section 4) over the bytes pyiso8583 makes.

Written here, not borrowed from agent.protocol.protect, so the two sides' protection code check
each other. Shared primitives: agent.protocol.dukpt (the KSN's checks and the initial key) and
agent.protocol.crypto (ISO 9797-1 padding; AES-CBC of a response's field 62) with the
`cryptography` AES backend. The CMAC (see mac_of), the decryption of a request's field 62 and
the derivation of a KSN's keys from the initial key (X9.24-3 derivation data, AES-ECB) are
the host's own, over OpenSSL. Keys of a KSN:
- the request: MAC verified with 0x2000 (MAC generation), field 62 decrypted with 0x3000;
- the response: MAC made with 0x2001 (MAC verification), field 62 (if any) encrypted with 0x3001.
"""

import hmac
from collections import OrderedDict

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from agent.protocol import crypto, dukpt
from agent.protocol.errors import ProtocolError
from simulator.club_server import wire

ZERO_IV = bytes(16)
MAC_LEN = 8

# Field 62 TLV tags (docs/protocol.md 4.1).
SECRET_CARD = 0x01
SECRET_EXPIRY = 0x02
SECRET_TERMINAL = 0x03


class SecretsError(ValueError):
    """Field 62 does not decrypt, unpad or parse: answer 63."""


# X9.24-3 6.3.2 derivation data (docs/protocol.md 4): version 1, key block counter 1, the key
# usage, the algorithm (0x0002 AES-128) and the key's length in bits (128), then the last 4
# bytes of the initial key id and the counter.
_ECB = modes.ECB()
_CBC_ZERO_IV = modes.CBC(ZERO_IV)
_WORKING = (dukpt.MAC_GENERATION, dukpt.DATA_ENCRYPT, dukpt.MAC_VERIFICATION)


def _head(usage):
    return bytes((1, 1)) + usage.to_bytes(2, "big") + b"\x00\x02\x00\x80"


_CHILD_HEAD = _head(dukpt.KEY_DERIVATION)
_WORKING_HEADS = tuple(_head(u) for u in _WORKING)


def _ecb(key, data):
    """AES-128-ECB of whole blocks: one OpenSSL context for all of them."""
    return Cipher(algorithms.AES(key), _ECB).encryptor().update(data)


class Keyring:
    """Working keys for any KSN of the BDK.

    Per terminal (initial key id) it keeps the initial key and the derivation steps of the
    last counter it saw (X9.24-3 Annex B.5: one derivation per one-bit of the counter, from
    the most significant). The next counter shares the first steps with the last one, so
    only the steps after them are derived: one on average for a terminal counting up,
    instead of one per one-bit (up to 16 for a long-serving terminal). At most
    `max_terminals` are kept (least recently used dropped first): about 300 bytes each.
    The working keys a request needs are derived together (one AES call).
    """

    def __init__(self, bdk, max_terminals=10_000):
        if len(bdk) != 16:
            raise ValueError("the BDK is 16 bytes (AES-128)")
        self._bdk = bytes(bdk)
        self._chains = OrderedDict()  # ikid -> _Chain
        self.max_terminals = max_terminals
        self.derivations = 0  # derivation steps made (for tests and benchmarks)

    def keys_for(self, ksn):
        """HostKeys of the KSN (the request's MAC and field 62 keys and the response's MAC
        key already derived); DukptError for a counter no terminal may use."""
        ikid, counter = dukpt.split_ksn(ksn)
        chain = self._chains.get(ikid)
        if chain is None:
            chain = _Chain(dukpt.derive_initial_key(self._bdk, ikid))
            self._chains[ikid] = chain
            if len(self._chains) > self.max_terminals:
                self._chains.popitem(last=False)
        else:
            self._chains.move_to_end(ikid)
        tail = ikid[4:]
        return HostKeys(chain.key_of(tail, counter, self), bytes(ksn), tail + ksn[8:])


class _Chain:
    """One terminal's initial key and the steps of its last counter: prefixes[i] is the
    counter's top i + 1 one-bits, keys[i] the key of that prefix."""

    __slots__ = ("initial", "keys", "prefixes")

    def __init__(self, initial):
        self.initial = initial
        self.prefixes = []
        self.keys = []

    def key_of(self, ikid_tail, counter, keyring):
        steps = []
        prefix = 0
        rest = counter
        while rest:  # the one-bits from the most significant: the prefixes of Annex B.5
            bit = 1 << (rest.bit_length() - 1)
            prefix |= bit
            steps.append(prefix)
            rest ^= bit
        same = 0
        known = self.prefixes
        while same < len(steps) and same < len(known) and steps[same] == known[same]:
            same += 1
        keys = self.keys[:same]
        key = keys[-1] if keys else self.initial
        for prefix in steps[same:]:
            key = _ecb(key, _CHILD_HEAD + ikid_tail + prefix.to_bytes(4, "big"))
            keys.append(key)
            keyring.derivations += 1
        self.prefixes = steps
        self.keys = keys
        return key


class HostKeys:
    """The working keys of one KSN, with the attributes of agent.protocol.dukpt.WorkingKeys:
    the three every exchange uses derived together (one AES call), the PIN and data-decrypt
    keys on first use."""

    __slots__ = ("_tail", "data_encrypt", "ksn", "mac_generation", "mac_verification")
    __slots__ += ("transaction_key",)

    def __init__(self, transaction_key, ksn, tail):
        self.transaction_key = transaction_key
        self.ksn = ksn
        self._tail = tail  # the initial key id's last 4 bytes and the counter
        out = _ecb(transaction_key, b"".join([head + tail for head in _WORKING_HEADS]))
        self.mac_generation = out[:16]
        self.data_encrypt = out[16:32]
        self.mac_verification = out[32:]

    def key(self, usage):
        return _ecb(self.transaction_key, _head(usage) + self._tail)

    @property
    def pin(self):
        return self.key(dukpt.PIN_ENCRYPTION)

    @property
    def data_decrypt(self):
        return self.key(dukpt.DATA_DECRYPT)


def mac_of(key, data):
    """AES-CMAC (RFC 4493) of all but the last 8 bytes, truncated to 8 bytes.

    OpenSSL's CMAC through `cryptography`, not agent.protocol.crypto.aes_cmac: the host's MAC
    is then an implementation independent of the terminal's, so every exchange in the tests
    checks one against the other (and it is faster: one call instead of a Python loop).
    """
    cmac = CMAC(algorithms.AES(key))
    cmac.update(data[:-MAC_LEN])
    return cmac.finalize()[:MAC_LEN]


def verify_request_mac(data, keys):
    """True when the last 8 bytes of `data` are its MAC under the MAC generation key
    (compared in constant time)."""
    return hmac.compare_digest(mac_of(keys.mac_generation, data), data[-MAC_LEN:])


def parse_tlv(data):
    """Field 62 plaintext -> {tag: text}; SecretsError when malformed or repeated."""
    items = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise SecretsError("TLV header cut short")
        tag, length = data[i], data[i + 1]
        value = data[i + 2 : i + 2 + length]
        if len(value) != length or tag in items:
            raise SecretsError("TLV item cut short or repeated")
        try:
            items[tag] = value.decode("ascii")
        except UnicodeDecodeError:
            raise SecretsError("TLV value is not ASCII") from None
        i += 2 + length
    return items


def build_tlv(items):
    out = bytearray()
    for tag in sorted(items):
        value = items[tag]
        value = value.encode() if isinstance(value, str) else bytes(value)
        out += bytes((tag, len(value))) + value
    return bytes(out)


def decrypt_secrets(cipher, keys):
    """Field 62 of a request -> {tag: text} (AES-128-CBC, zero IV, ISO 9797-1 method 2); the
    CBC is OpenSSL's, called here (the terminal's goes through agent.protocol.crypto)."""
    if not cipher or len(cipher) % 16:
        raise SecretsError("protected data is not whole AES blocks")
    try:
        context = Cipher(algorithms.AES(keys.data_encrypt), _CBC_ZERO_IV).decryptor()
        plain = context.update(bytes(cipher)) + context.finalize()
        return parse_tlv(crypto.unpad_iso9797_m2(plain))
    except ProtocolError:
        raise SecretsError("protected data does not decrypt") from None


def seal_response(message, keys, secrets=None, corrupt_mac=False):
    """Protect and encode a response under the request's KSN; returns the bytes to frame.

    The order of docs/protocol.md 4.2: field 53 = KSN, field 62 encrypted, 8 zero bytes in the
    MAC field, encode, CMAC over all but the last 8 bytes, put it there.
    """
    out = dict(message)
    out.pop("64", None)
    out.pop("128", None)
    out["53"] = keys.ksn
    if secrets:
        plain = crypto.pad_iso9797_m2(build_tlv(secrets))
        out["62"] = crypto.aes_cbc_encrypt(keys.data_decrypt, ZERO_IV, plain)
    out[wire.mac_field(out)] = bytes(MAC_LEN)
    data = wire.encode(out)
    mac = mac_of(keys.mac_verification, data)
    if corrupt_mac:
        mac = bytes(b ^ 0xFF for b in mac)
    return data[:-MAC_LEN] + mac
