"""AES DUKPT (X9.24-3-2017): published vectors, and the terminal's registers against the host.

Every check runs on every AES backend of this interpreter, chosen with backend=...
"""

from agent.protocol import crypto, dukpt
from agent.protocol.errors import DukptError
from tests.portable.support import hexu, load_vectors, raises, unhex


def vectors():
    return load_vectors()["aes_dukpt_x9_24_3"]


def backends():
    names = crypto.available_backends()
    assert names
    return names


def initial_key():
    return unhex(vectors()["initial_key"])


def initial_key_id():
    return unhex(vectors()["initial_key_id"])


def ksn_of(counter):
    return initial_key_id() + counter.to_bytes(4, "big")


def next_valid(counter):
    """Oracle for the counter after `counter`: count up, skipping values with > 16 one-bits."""
    counter += 1
    while bin(counter).count("1") > 16:
        counter += 1
    return counter if counter <= 0xFFFFFFFF else None


class FailingStore(dukpt.MemoryStore):
    def save(self, data):
        raise OSError("flash full")


def test_initial_key_vector():
    v = vectors()
    for backend in backends():
        ik = dukpt.derive_initial_key(unhex(v["bdk"]), initial_key_id(), backend=backend)
        assert hexu(ik) == v["initial_key"], backend


def test_transaction_key_vectors():
    for backend in backends():
        for t in vectors()["transactions"]:
            key = dukpt.derive_transaction_key(initial_key(), unhex(t["ksn"]), backend=backend)
            assert hexu(key) == t["transaction_key"], (backend, t["ksn"])


def test_working_key_vectors():
    usages = (
        ("pin_key_aes128", dukpt.PIN_ENCRYPTION, "pin"),
        ("mac_generation_key_aes128", dukpt.MAC_GENERATION, "mac_generation"),
        ("data_encryption_key_aes128", dukpt.DATA_ENCRYPT, "data_encrypt"),
    )
    checked = 0
    for backend in backends():
        for t in vectors()["transactions"]:
            ksn, tk = unhex(t["ksn"]), unhex(t["transaction_key"])
            keys = dukpt.WorkingKeys(tk, ksn, backend=backend)
            for field, usage, attr in usages:
                if field in t:
                    got = dukpt.derive_working_key(tk, ksn, usage, "AES128", backend=backend)
                    assert hexu(got) == t[field], (backend, t["ksn"], field)
                    assert getattr(keys, attr) == got
                    checked += 1
    assert checked >= 6 * len(backends())


def test_host_keys_for_matches_vectors():
    v = vectors()
    for backend in backends():
        host = dukpt.HostDukpt(unhex(v["bdk"]), backend=backend)
        assert hexu(host.initial_key(initial_key_id())) == v["initial_key"]
        for t in v["transactions"]:
            keys = host.keys_for(unhex(t["ksn"]))
            assert hexu(keys.transaction_key) == t["transaction_key"]
            if "mac_generation_key_aes128" in t:
                assert hexu(keys.mac_generation) == t["mac_generation_key_aes128"]
                assert hexu(keys.data_encrypt) == t["data_encryption_key_aes128"]
                assert hexu(keys.pin) == t["pin_key_aes128"]
                assert keys.mac_verification != keys.mac_generation
                assert keys.data_decrypt != keys.data_encrypt


def test_working_keys_derived_together_match_the_vectors():
    """WorkingKeys.derive: several usages in one AES call, the same keys as one by one."""
    usages = (
        ("pin_key_aes128", dukpt.PIN_ENCRYPTION),
        ("mac_generation_key_aes128", dukpt.MAC_GENERATION),
        ("data_encryption_key_aes128", dukpt.DATA_ENCRYPT),
    )
    checked = 0
    for backend in backends():
        for t in vectors()["transactions"]:
            if "mac_generation_key_aes128" not in t:
                continue
            ksn, tk = unhex(t["ksn"]), unhex(t["transaction_key"])
            together = dukpt.WorkingKeys(tk, ksn, backend=backend)
            together.derive(dukpt.MAC_VERIFICATION, *[u for _, u in usages])
            for field, usage in usages:
                assert hexu(together._keys[usage]) == t[field], (backend, t["ksn"], field)
                checked += 1
            one = dukpt.derive_working_key(tk, ksn, dukpt.MAC_VERIFICATION, backend=backend)
            assert together.mac_verification == one
    assert checked >= 6 * len(backends())
    raises(DukptError, dukpt.WorkingKeys(initial_key(), ksn_of(1)).derive, dukpt.KEY_DERIVATION)


def test_derive_child_steps_make_the_transaction_key():
    """derive_child, one step at a time (from key bytes or from a reused cipher), gives
    derive_transaction_key's key."""
    for backend in backends():
        for t in vectors()["transactions"]:
            ksn = unhex(t["ksn"])
            counter = int.from_bytes(ksn[8:], "big")
            key = initial_key()
            prefix = 0
            for k in range(31, -1, -1):
                if counter >> k & 1:
                    prefix |= 1 << k
                    parent = key if k % 2 else crypto.new_cipher(key, backend)
                    key = dukpt.derive_child(parent, initial_key_id(), prefix, backend)
            assert hexu(key) == t["transaction_key"], (backend, t["ksn"])


def test_working_keys_are_derived_once_and_lazily():
    keys = dukpt.WorkingKeys(initial_key(), ksn_of(1))
    assert keys._keys == {}
    first = keys.mac_generation
    assert list(keys._keys) == [dukpt.MAC_GENERATION]
    assert keys.mac_generation is first


def test_terminal_walk_matches_host_derivation():
    ik = initial_key()
    for backend in backends():
        store = dukpt.MemoryStore()
        terminal = dukpt.TerminalDukpt(store, backend=backend)
        terminal.load_initial_key(ik, initial_key_id())
        assert terminal.counter == 1 and terminal.ksn == ksn_of(1)
        for counter in range(1, 301):
            assert terminal.ksn == ksn_of(counter)
            ksn, key = terminal.next_key()
            assert ksn == ksn_of(counter)
            assert key == dukpt.derive_transaction_key(ik, ksn, backend=backend), (backend, ksn)
        assert terminal.counter == 301
        assert store.saves == 301  # one for loading, one per key


def test_terminal_next_keys_match_vectors():
    v = vectors()
    terminal = dukpt.TerminalDukpt(dukpt.MemoryStore())
    terminal.load_initial_key(initial_key(), initial_key_id())
    for t in v["transactions"]:
        keys = terminal.next_keys()
        assert hexu(keys.ksn) == t["ksn"]
        assert hexu(keys.transaction_key) == t["transaction_key"]
        if "mac_generation_key_aes128" in t:
            assert hexu(keys.mac_generation) == t["mac_generation_key_aes128"]
            assert hexu(keys.data_encrypt) == t["data_encryption_key_aes128"]
            assert hexu(keys.pin) == t["pin_key_aes128"]


def test_saved_state_holds_no_initial_key_and_no_used_key():
    ik = initial_key()
    store = dukpt.MemoryStore()
    terminal = dukpt.TerminalDukpt(store)
    terminal.load_initial_key(ik, initial_key_id())
    used = []
    for _ in range(40):
        assert ik not in store.data
        assert unhex(vectors()["bdk"]) not in store.data
        for key in used:
            assert key not in store.data
        used.append(terminal.next_key()[1])
    assert not hasattr(terminal, "_initial_key")


def test_state_survives_a_new_terminal_over_the_same_store():
    ik = initial_key()
    store = dukpt.MemoryStore()
    first = dukpt.TerminalDukpt(store)
    first.load_initial_key(ik, initial_key_id())
    for _ in range(5):
        first.next_key()
    second = dukpt.TerminalDukpt(store)
    assert second.counter == 6 and second.ksn == ksn_of(6)
    for counter in range(6, 20):
        ksn, key = second.next_key()
        assert ksn == ksn_of(counter)
        assert key == dukpt.derive_transaction_key(ik, ksn)


def test_a_new_terminal_starts_unloaded():
    terminal = dukpt.TerminalDukpt(dukpt.MemoryStore())
    assert not terminal.loaded and not terminal.exhausted and terminal.counter == 0
    assert str(raises(DukptError, terminal.next_key)) == "no initial key loaded"
    raises(DukptError, lambda: terminal.ksn)


def test_corrupt_state_is_refused():
    store = dukpt.MemoryStore()
    terminal = dukpt.TerminalDukpt(store)
    terminal.load_initial_key(initial_key(), initial_key_id())
    terminal.next_key()
    good = store.data
    for at in range(len(good)):
        damaged = bytearray(good)
        damaged[at] ^= 0x01
        raises(DukptError, dukpt.TerminalDukpt, dukpt.MemoryStore(bytes(damaged)))
    for damaged in (b"", good[:-1], good + b"\x00", b"XYZ" + good[3:]):
        raises(DukptError, dukpt.TerminalDukpt, dukpt.MemoryStore(damaged))
    e = raises(DukptError, dukpt.TerminalDukpt, dukpt.MemoryStore(good[:3] + b"\x02" + good[4:]))
    assert str(e) == "unsupported DUKPT state version 2"
    # A well-formed state whose registers do not fit its counter (checksum recomputed).
    registers = [bytes(16)] * 32
    forged = dukpt._encode_state(initial_key_id(), 2, registers)
    e = raises(DukptError, dukpt.TerminalDukpt, dukpt.MemoryStore(forged))
    assert str(e) == "corrupt DUKPT state: registers do not match the counter"
    assert dukpt.TerminalDukpt(dukpt.MemoryStore(good)).counter == 2


def test_a_failed_save_hands_out_no_key_and_keeps_the_counter():
    store = FailingStore()
    terminal = dukpt.TerminalDukpt(store)
    raises(OSError, terminal.load_initial_key, initial_key(), initial_key_id())
    assert not terminal.loaded
    good = dukpt.MemoryStore()
    dukpt.TerminalDukpt(good).load_initial_key(initial_key(), initial_key_id())
    terminal = dukpt.TerminalDukpt(FailingStore(good.data))
    raises(OSError, terminal.next_key)
    assert terminal.counter == 1


def test_loading_at_a_counter_equals_walking_to_it():
    ik = initial_key()
    walked = dukpt.MemoryStore()
    terminal = dukpt.TerminalDukpt(walked)
    terminal.load_initial_key(ik, initial_key_id())
    for counter in range(1, 70):
        built = dukpt.MemoryStore()
        dukpt.TerminalDukpt(built).load_initial_key_at(ik, initial_key_id(), counter)
        assert built.data == walked.data, counter
        terminal.next_key()


def walk_from(counter, steps, backend=None):
    """Start a terminal just before `counter`; return the counters it hands out, checking keys."""
    ik = initial_key()
    terminal = dukpt.TerminalDukpt(dukpt.MemoryStore(), backend=backend)
    terminal.load_initial_key_at(ik, initial_key_id(), counter)
    seen = []
    for _ in range(steps):
        expected = terminal.counter
        ksn, key = terminal.next_key()
        assert int.from_bytes(ksn[8:], "big") == expected
        assert key == dukpt.derive_transaction_key(ik, ksn, backend=backend), ksn
        seen.append(expected)
        if terminal.exhausted:
            break
    return terminal, seen


def test_counters_with_more_than_16_one_bits_are_skipped():
    for start in (0x0001FFFC, 0x7FFF8000, 0x00FF3F80):
        _, seen = walk_from(start, 40)
        assert seen[0] == start
        for i in range(1, len(seen)):
            assert next_valid(seen[i - 1]) == seen[i], (hex(seen[i - 1]), hex(seen[i]))
    _, seen = walk_from(0x0001FFFC, 4)
    assert seen == [0x1FFFC, 0x1FFFD, 0x1FFFE, 0x20000]
    _, seen = walk_from(0x7FFF8000, 2)
    assert seen == [0x7FFF8000, 0x80000000]


def test_exhausted_after_the_last_counter():
    for backend in backends():
        terminal, seen = walk_from(0xFFFE0000, 30, backend=backend)
        # 0xFFFE0000, then its children with 16 one-bits, the last being 0xFFFF0000.
        assert seen == [0xFFFE0000] + [0xFFFE0000 | 1 << j for j in range(17)]
        assert seen[-1] == dukpt.COUNTER_MAX
        assert terminal.exhausted and terminal.counter == 0
        store = terminal._store
        saved, saves = store.data, store.saves
        e = raises(DukptError, terminal.next_key)
        assert str(e) == "exhausted"
        raises(DukptError, terminal.next_keys)
        raises(DukptError, lambda t=terminal: t.ksn)
        assert store.data == saved and store.saves == saves
        reloaded = dukpt.TerminalDukpt(store)
        assert reloaded.exhausted
        raises(DukptError, reloaded.next_key)


def test_bad_ksns_and_keys_raise_dukpt_error():
    ik, iid = initial_key(), initial_key_id()
    cases = (
        (iid + b"\x00\x00\x01", "KSN must be 12 bytes, got 11"),
        (iid + bytes(5), "KSN must be 12 bytes, got 13"),
        (ksn_of(0), "KSN transaction counter 0 is never used"),
        (ksn_of(0x0001FFFF), "KSN transaction counter 0001FFFF has more than 16 one-bits"),
        (ksn_of(0xFFFFFFFF), "KSN transaction counter FFFFFFFF has more than 16 one-bits"),
    )
    for ksn, message in cases:
        assert str(raises(DukptError, dukpt.derive_transaction_key, ik, ksn)) == message
        raises(DukptError, dukpt.derive_working_key, ik, ksn, dukpt.MAC_GENERATION)
        raises(DukptError, dukpt.WorkingKeys, ik, ksn)
        raises(DukptError, dukpt.HostDukpt(ik).keys_for, ksn)
    e = raises(DukptError, dukpt.derive_initial_key, bytes(32), iid)
    assert str(e) == "BDK must be 16 bytes (AES-128), got 32"
    e = raises(DukptError, dukpt.derive_initial_key, ik, iid[:7])
    assert str(e) == "initial key ID must be 8 bytes, got 7"
    raises(DukptError, dukpt.derive_transaction_key, ik[:15], ksn_of(1))
    raises(DukptError, dukpt.TerminalDukpt(dukpt.MemoryStore()).load_initial_key, ik[:8], iid)
    raises(DukptError, dukpt.TerminalDukpt(dukpt.MemoryStore()).load_initial_key, ik, iid + b"!")


def test_working_key_usage_and_algorithm_are_checked():
    ik = initial_key()
    for usage in (dukpt.KEY_DERIVATION, dukpt.KEY_DERIVATION_INITIAL, 0x4000, "2000"):
        e = raises(DukptError, dukpt.derive_working_key, ik, ksn_of(1), usage)
        assert str(e).startswith("not a working key usage")
    for algorithm in ("AES256", "2TDEA", "aes128"):
        e = raises(DukptError, dukpt.derive_working_key, ik, ksn_of(1), 0x2000, algorithm)
        assert str(e) == f"unsupported working key algorithm {algorithm!r}"
    assert dukpt.KEY_USAGES["MAC_BOTH"] == 0x2002 and dukpt.KEY_USAGES["DATA_BOTH"] == 0x3002
