"""AES DUKPT (ANSI X9.24-3-2017) with AES-128 keys: host derivation and the terminal side.

A key serial number (KSN, 12 bytes) is the initial key ID (8 bytes: BDK ID, derivation ID)
then the transaction counter (4 bytes, big-endian). A counter has at most 16 one-bits
(X9.24-3 6.1), so the last one a device may use is 0xFFFF0000.

Every derivation is one AES-ECB encryption of 16 bytes of derivation data under the parent
key (X9.24-3 6.3.1 "Derive Key": an AES-128 key is one block, key block counter 1):
- initial key = Derive(BDK, data(usage 0x8001, full initial key ID));
- the key of counter c = Derive(key of c without its lowest one-bit, data(0x8000, c)), the
  initial key being the key of counter 0 (X9.24-3 6.1, Annex B.5 "Host Derive Working Key");
- a working key = Derive(key of c, data(its usage, c)).

TerminalDukpt follows the terminal routines of X9.24-3 Annex B.6.3 ("Load Initial Key",
"Generate Working Keys", "Update State for next Transaction"): 32 intermediate derivation
key registers, so each transaction costs one derivation on average, and the initial key and
every used key are forgotten (forward secrecy). Python cannot wipe memory: "forgotten" means
no reference is kept and nothing of it is saved.
"""

import hashlib
import struct

from agent.protocol import crypto
from agent.protocol.errors import DukptError

# Key usage indicators (X9.24-3 6.3.2, Tables 2 and 3).
KEY_DERIVATION = 0x8000
KEY_DERIVATION_INITIAL = 0x8001
PIN_ENCRYPTION = 0x1000
MAC_GENERATION = 0x2000
MAC_VERIFICATION = 0x2001
MAC_BOTH = 0x2002
DATA_ENCRYPT = 0x3000
DATA_DECRYPT = 0x3001
DATA_BOTH = 0x3002

KEY_USAGES = {
    "KEY_DERIVATION": KEY_DERIVATION,
    "KEY_DERIVATION_INITIAL": KEY_DERIVATION_INITIAL,
    "PIN_ENCRYPTION": PIN_ENCRYPTION,
    "MAC_GENERATION": MAC_GENERATION,
    "MAC_VERIFICATION": MAC_VERIFICATION,
    "MAC_BOTH": MAC_BOTH,
    "DATA_ENCRYPT": DATA_ENCRYPT,
    "DATA_DECRYPT": DATA_DECRYPT,
    "DATA_BOTH": DATA_BOTH,
}

# The usages a working key may have; the two derivation usages make derivation keys only.
WORKING_USAGES = (
    PIN_ENCRYPTION,
    MAC_GENERATION,
    MAC_VERIFICATION,
    MAC_BOTH,
    DATA_ENCRYPT,
    DATA_DECRYPT,
    DATA_BOTH,
)

# Working key algorithm -> (algorithm indicator, key length in bits) (6.3.2, Tables 2 and 3).
# Only AES-128: the club link uses nothing else, and under an AES-128 BDK X9.24-3 6.1.3 allows
# no stronger working key.
ALGORITHMS = {"AES128": (0x0002, 128)}

COUNTER_MAX = 0xFFFF0000
MAX_ONE_BITS = 16
NUM_REGISTERS = 32


def _ones(n):
    return bin(n).count("1")


def _lowest_bit(n):
    """Index of the lowest one-bit of n > 0 (MicroPython has no int.bit_length)."""
    k = 0
    while not (n >> k) & 1:
        k += 1
    return k


def _check_key(key, what):
    if len(key) != 16:
        raise DukptError(f"{what} must be 16 bytes (AES-128), got {len(key)}")


def _check_initial_key_id(initial_key_id):
    if len(initial_key_id) != 8:
        raise DukptError(f"initial key ID must be 8 bytes, got {len(initial_key_id)}")


def _check_counter(counter):
    if counter == 0:
        raise DukptError("KSN transaction counter 0 is never used")
    if counter > 0xFFFFFFFF or _ones(counter) > MAX_ONE_BITS:
        raise DukptError(f"KSN transaction counter {counter:08X} has more than 16 one-bits")


def split_ksn(ksn):
    """(initial key ID, counter) of a 12-byte KSN; DukptError unless the counter is usable."""
    if len(ksn) != 12:
        raise DukptError(f"KSN must be 12 bytes, got {len(ksn)}")
    counter = int.from_bytes(ksn[8:], "big")
    _check_counter(counter)
    return bytes(ksn[:8]), counter


def _derivation_data(usage, initial_key_id, counter, algorithm="AES128"):
    """X9.24-3 6.3.2 / Annex B.4.3 "Create Derivation Data": version 1, key block counter 1,
    key usage, algorithm, key length in bits, then the initial key ID (initial key) or its
    last 4 bytes and the counter (every other key)."""
    indicator, bits = ALGORITHMS[algorithm]
    head = struct.pack(">BBHHH", 1, 1, usage, indicator, bits)
    if usage == KEY_DERIVATION_INITIAL:
        return head + initial_key_id
    return head + initial_key_id[4:] + counter.to_bytes(4, "big")


def _derive(key, data, backend):
    return crypto.aes_ecb_encrypt(key, data, backend=backend)


def derive_child(key, initial_key_id, prefix, backend=None):
    """One step of derive_transaction_key: the key of counter `prefix` from the key of
    `prefix` without its lowest one-bit (for a host that keeps the steps of a terminal's last
    counter and derives only where the next counter differs). `key` may be a cipher of
    crypto.new_cipher(), reused for several children."""
    data = _derivation_data(KEY_DERIVATION, initial_key_id, prefix)
    if isinstance(key, (bytes, bytearray)):
        return _derive(bytes(key), data, backend)
    return key.encrypt_block(data)


def derive_initial_key(bdk, initial_key_id, backend=None):
    """The initial key of one device from the base derivation key (Annex B.5)."""
    _check_key(bdk, "BDK")
    _check_initial_key_id(initial_key_id)
    data = _derivation_data(KEY_DERIVATION_INITIAL, bytes(initial_key_id), 0)
    return _derive(bytes(bdk), data, backend)


def derive_transaction_key(initial_key, ksn, backend=None):
    """The key of the KSN's counter: one derivation per one-bit, from the most significant."""
    _check_key(initial_key, "initial key")
    initial_key_id, counter = split_ksn(ksn)
    key = bytes(initial_key)
    working = 0
    mask = 0x80000000
    while mask:
        if counter & mask:
            working |= mask
            key = _derive(key, _derivation_data(KEY_DERIVATION, initial_key_id, working), backend)
        mask >>= 1
    return key


def derive_working_key(transaction_key, ksn, usage, algorithm="AES128", backend=None):
    """A working key (PIN, MAC or data) of one transaction; usage is e.g. MAC_GENERATION."""
    _check_key(transaction_key, "transaction key")
    initial_key_id, counter = split_ksn(ksn)
    if usage not in WORKING_USAGES:
        raise DukptError(f"not a working key usage: {usage!r}")
    if algorithm not in ALGORITHMS:
        raise DukptError(f"unsupported working key algorithm {algorithm!r}")
    data = _derivation_data(usage, initial_key_id, counter, algorithm)
    return _derive(bytes(transaction_key), data, backend)


class WorkingKeys:
    """The AES-128 working keys of one transaction, each derived once, on first access."""

    def __init__(self, transaction_key, ksn, backend=None):
        _check_key(transaction_key, "transaction key")
        split_ksn(ksn)
        self.transaction_key = bytes(transaction_key)
        self.ksn = bytes(ksn)
        self._backend = backend
        self._keys = {}

    def key(self, usage):
        key = self._keys.get(usage)
        if key is None:
            key = derive_working_key(self.transaction_key, self.ksn, usage, backend=self._backend)
            self._keys[usage] = key
        return key

    def derive(self, *usages):
        """Derive the working keys of these usages now, in one AES-ECB call under the
        transaction key (one cipher instead of one per key); returns self."""
        missing = []
        for usage in usages:
            if usage not in WORKING_USAGES:
                raise DukptError(f"not a working key usage: {usage!r}")
            if usage not in self._keys and usage not in missing:
                missing.append(usage)
        if missing:
            initial_key_id = self.ksn[:8]
            counter = int.from_bytes(self.ksn[8:], "big")
            data = b"".join([_derivation_data(u, initial_key_id, counter) for u in missing])
            out = crypto.aes_ecb_encrypt(self.transaction_key, data, backend=self._backend)
            for i in range(len(missing)):
                self._keys[missing[i]] = out[16 * i : 16 * i + 16]
        return self

    @property
    def pin(self):
        return self.key(PIN_ENCRYPTION)

    @property
    def mac_generation(self):
        return self.key(MAC_GENERATION)

    @property
    def mac_verification(self):
        return self.key(MAC_VERIFICATION)

    @property
    def data_encrypt(self):
        return self.key(DATA_ENCRYPT)

    @property
    def data_decrypt(self):
        return self.key(DATA_DECRYPT)


class HostDukpt:
    """The receiving side: every key of every device of one BDK."""

    def __init__(self, bdk, backend=None):
        _check_key(bdk, "BDK")
        self._bdk = bytes(bdk)
        self._backend = backend

    def initial_key(self, initial_key_id):
        return derive_initial_key(self._bdk, initial_key_id, backend=self._backend)

    def transaction_key(self, ksn):
        initial_key = self.initial_key(split_ksn(ksn)[0])
        return derive_transaction_key(initial_key, ksn, backend=self._backend)

    def keys_for(self, ksn):
        return WorkingKeys(self.transaction_key(ksn), ksn, backend=self._backend)


class MemoryStore:
    """A TerminalDukpt store kept in memory (tests, simulators); `saves` counts save() calls.
    Every counter is saved (reserve 1): a save costs nothing here."""

    reserve = 1

    def __init__(self, data=None):
        self.data = data
        self.saves = 0

    def load(self):
        return self.data

    def save(self, data):
        self.data = bytes(data)
        self.saves += 1


# Saved state, version 1, big-endian: b"VDK", version (1 byte), initial key ID (8),
# counter (4; 0 once exhausted), register bitmap (4; bit k set = register k in use), the
# registers in use from k = 0 up (16 bytes each), then SHA-256 of all of that, first 8 bytes.
_MAGIC = b"VDK"
_VERSION = 1
_HEADER = 20
_CHECK = 8


def _expected_registers(counter):
    """The registers in use before the transaction of `counter`, as the saved bitmap (4 bytes,
    bit k of the big-endian word = register k): its lowest one-bit p holds the counter's own
    key, and every zero bit above p the key of the counter's bits above it plus that bit (a
    future subtree). Nothing below p. Exhausted (0): none."""
    bitmap = bytearray(4)
    if counter:
        p = _lowest_bit(counter)
        for k in range(p, NUM_REGISTERS):
            if k == p or not counter >> k & 1:
                bitmap[3 - k // 8] |= 1 << k % 8
    return bytes(bitmap)


def _encode_state(initial_key_id, counter, registers):
    # The bitmap is built as bytes: registers 30 and 31 are in use below counter 2^30, and as
    # an int it would then be a long int (heap) on a 32-bit MicroPython at every step.
    bitmap = bytearray(4)
    keys = []
    for k in range(NUM_REGISTERS):
        if registers[k] is not None:
            bitmap[3 - k // 8] |= 1 << k % 8
            keys.append(registers[k])
    body = _MAGIC + bytes([_VERSION]) + initial_key_id + struct.pack(">I", counter) + bitmap
    body += b"".join(keys)
    return body + hashlib.sha256(body).digest()[:_CHECK]


def _decode_state(data):
    data = bytes(data)
    if len(data) < _HEADER + _CHECK or data[:3] != _MAGIC:
        raise DukptError("corrupt DUKPT state: not a Vafa DUKPT state")
    if data[3] != _VERSION:
        raise DukptError(f"unsupported DUKPT state version {data[3]}")
    body = data[:-_CHECK]
    if hashlib.sha256(body).digest()[:_CHECK] != data[-_CHECK:]:
        raise DukptError("corrupt DUKPT state: checksum mismatch")
    counter = struct.unpack(">I", body[12:16])[0]
    bitmap = body[16:_HEADER]
    if counter and (_ones(counter) > MAX_ONE_BITS or counter > COUNTER_MAX):
        raise DukptError(f"corrupt DUKPT state: counter {counter:08X}")
    used = _ones(bitmap[0] << 8 | bitmap[1]) + _ones(bitmap[2] << 8 | bitmap[3])
    if bitmap != _expected_registers(counter) or len(body) != _HEADER + 16 * used:
        raise DukptError("corrupt DUKPT state: registers do not match the counter")
    registers = [None] * NUM_REGISTERS
    at = _HEADER
    for k in range(NUM_REGISTERS):
        if bitmap[3 - k // 8] >> k % 8 & 1:
            registers[k] = body[at : at + 16]
            at += 16
    return body[4:12], counter, registers


def _advance(counter, steps):
    """The counter `steps` transactions after `counter` (the 16-one-bit skips included), or 0
    when that is past COUNTER_MAX."""
    for _ in range(steps):
        if _ones(counter) < MAX_ONE_BITS:
            counter += 1
        else:
            counter += 1 << _lowest_bit(counter)
        if counter > COUNTER_MAX:
            return 0
    return counter


class TerminalDukpt:
    """The transaction-originating side (X9.24-3 Annex B.6.3), persisted through `store`.

    `store` has load() -> bytes or None and save(data); making save() atomic (write a new file,
    then rename) is the store's job. Every change is saved before it takes effect in memory,
    and a counter is never used unless the saved state is past it, so a power cut can never
    make a counter be used twice.

    Reserving: with reserve N (the store's `reserve`, else 1), next_key() saves, when the
    counter in use reaches the saved one, the state of the counter N transactions ahead (one
    save per N keys), and after a restart the terminal resumes there: at most N - 1 counters go
    unused, which X9.24-3 allows (the counter only ever increases; the host accepts any counter
    above the last it saw). The saved state is that of the reserved end, built from the
    registers in memory (at most 32 derivations): from it no key of a counter below the end
    can be derived, so keys already used stay forgotten on storage (forward secrecy). N = 1 is
    the walk of Annex B.6.3, saved at every key.
    """

    def __init__(self, store, backend=None, reserve=None):
        self._store = store
        self._backend = backend
        self._reserve = reserve or getattr(store, "reserve", 1)
        self._initial_key_id = None
        self._counter = 0
        self._registers = [None] * NUM_REGISTERS
        data = store.load()
        if data is not None:
            self._initial_key_id, self._counter, self._registers = _decode_state(data)
        self._saved = self._counter  # the counter of the state on storage

    @property
    def loaded(self):
        return self._initial_key_id is not None

    @property
    def exhausted(self):
        return self.loaded and self._counter == 0

    @property
    def counter(self):
        """The counter of the next transaction; 0 before loading and once exhausted."""
        return self._counter

    @property
    def ksn(self):
        """The KSN of the next transaction (DukptError before loading and once exhausted)."""
        self._check_usable()
        return self._initial_key_id + self._counter.to_bytes(4, "big")

    def load_initial_key(self, initial_key, initial_key_id):
        """B.6.3 "Load Initial Key": counter 1, register k = the key of counter 1 << k (32
        derivations). The initial key itself is neither kept nor saved."""
        self.load_initial_key_at(initial_key, initial_key_id, 1)

    def load_initial_key_at(self, initial_key, initial_key_id, counter):
        """The state a terminal has just before using `counter`, built from the initial key.

        For tests and simulators that need a terminal far along its counter (near a 16-one-bit
        skip, or near the end); a real device only ever uses load_initial_key. At most 32
        derivations: walking the counter's bits from the top, each zero bit's register gets
        the key of the bits above it plus that bit, and the lowest one-bit the counter's own
        key.
        """
        _check_key(initial_key, "initial key")
        _check_initial_key_id(initial_key_id)
        _check_counter(counter)
        initial_key_id = bytes(initial_key_id)
        registers = [None] * NUM_REGISTERS
        key = bytes(initial_key)
        prefix = 0
        lowest = _lowest_bit(counter)
        for k in range(NUM_REGISTERS - 1, lowest - 1, -1):
            bit = 1 << k
            if counter & bit:
                prefix |= bit
                key = self._child(key, initial_key_id, prefix)
            else:
                registers[k] = self._child(key, initial_key_id, prefix | bit)
        registers[lowest] = key
        self._commit(initial_key_id, counter, registers)

    def next_key(self):
        """(ksn, transaction key) of the next transaction (B.6.3 "Generate Working Keys").

        The key comes from the register of the counter's lowest one-bit p. Unless the counter
        already has 16 one-bits, the registers below p get the keys of counter | 1 << j and the
        counter goes up by one; otherwise that subtree is skipped by adding 1 << p ("Update
        State for next Transaction"). Past 0xFFFF0000 the terminal is exhausted: the next call
        raises DukptError("exhausted") and changes nothing. When the saved state is not past
        this counter, the state of the reserved end is saved first (see the class).
        """
        self._check_usable()
        counter = self._counter
        initial_key_id = self._initial_key_id
        lowest = _lowest_bit(counter)
        registers = list(self._registers)
        key = registers[lowest]
        if _ones(counter) < MAX_ONE_BITS:
            for j in range(lowest):
                registers[j] = self._child(key, initial_key_id, counter | (1 << j))
            following = counter + 1
        else:
            following = counter + (1 << lowest)
        registers[lowest] = None
        if following > COUNTER_MAX:
            following = 0  # exhausted: 0xFFFF0000 was the last counter
        if counter == self._saved:
            end = _advance(following, self._reserve - 1) if following else 0
            if end == following:
                saved = registers
            elif end:
                saved = self._jump(initial_key_id, following, registers, end)
            else:
                saved = [None] * NUM_REGISTERS  # the reserve reaches past the last counter
            self._store.save(_encode_state(initial_key_id, end, saved))
            self._saved = end
        self._counter = following
        self._registers = registers
        return initial_key_id + counter.to_bytes(4, "big"), key

    def next_keys(self):
        """WorkingKeys of the next transaction (advances and saves like next_key), the three
        of every exchange (request MAC, field 62, response MAC) in one AES-ECB call under the
        transaction key: one cipher instead of three."""
        ksn, key = self.next_key()
        k = WorkingKeys(key, ksn, backend=self._backend)
        return k.derive(MAC_GENERATION, DATA_ENCRYPT, MAC_VERIFICATION)

    def _child(self, key, initial_key_id, counter):
        data = _derivation_data(KEY_DERIVATION, initial_key_id, counter)
        return _derive(key, data, self._backend)

    def _jump(self, initial_key_id, counter, registers, target):
        """The registers of `target` (a later usable counter) from those of `counter`.

        Let d be the highest bit where the two differ (set in target). Above it they agree, so
        target's registers there are counter's. Target's path from the root leaves counter's
        at bit d through the node whose key is register d of counter (d above counter's lowest
        one-bit p), or below p through counter's own key (register p); from that node down,
        each one-bit of target is a derivation and each zero bit's register a derivation of a
        sibling, as in load_initial_key_at.
        """
        diff = counter ^ target
        d = NUM_REGISTERS - 1
        while not diff >> d & 1:
            d -= 1
        top = _lowest_bit(counter)
        if d > top:
            top = d
        key = registers[top]
        prefix = target >> top << top
        out = [None] * NUM_REGISTERS
        for k in range(top + 1, NUM_REGISTERS):
            if not target >> k & 1:
                out[k] = registers[k]
        lowest = _lowest_bit(target)
        for k in range(top - 1, lowest - 1, -1):
            bit = 1 << k
            if target & bit:
                prefix |= bit
                key = self._child(key, initial_key_id, prefix)
            else:
                out[k] = self._child(key, initial_key_id, prefix | bit)
        out[lowest] = key
        return out

    def _check_usable(self):
        if self._initial_key_id is None:
            raise DukptError("no initial key loaded")
        if self._counter == 0:
            raise DukptError("exhausted")

    def _commit(self, initial_key_id, counter, registers):
        self._store.save(_encode_state(initial_key_id, counter, registers))
        self._initial_key_id = initial_key_id
        self._counter = counter
        self._registers = registers
        self._saved = counter
