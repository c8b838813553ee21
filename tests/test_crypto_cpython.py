"""CPython only: the "cryptography" AES backend, and properties across backends (hypothesis).

The backend is registered only inside `cryptography_registered()` and removed afterwards, so
no test changes the process-wide default.
"""

import contextlib
import hashlib
import hmac
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tests.portable.test_crypto as portable_crypto
import tests.portable.test_dukpt as portable_dukpt
from agent.protocol import crypto, dukpt
from agent.protocol.aes_cryptography import CryptographyAES, install
from agent.protocol.errors import CryptoError

KEYS = st.sampled_from([16, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
KEY128 = st.binary(min_size=16, max_size=16)
BLOCKS = st.integers(0, 8).flatmap(lambda n: st.binary(min_size=16 * n, max_size=16 * n))


@contextlib.contextmanager
def registry_restored():
    """Put the backend table and the default back exactly as they were, whatever happens."""
    backends, settings_ = dict(crypto.BACKENDS), dict(crypto._SETTINGS)
    try:
        yield
    finally:
        crypto.BACKENDS.clear()
        crypto.BACKENDS.update(backends)
        crypto._SETTINGS.update(settings_)


@contextlib.contextmanager
def cryptography_registered():
    with registry_restored():
        crypto.register_backend("cryptography", CryptographyAES)
        yield "cryptography"


def test_importing_the_core_does_not_import_cryptography():
    import subprocess

    code = (
        "import sys, agent.protocol.crypto, agent.protocol.dukpt, agent.protocol.aes_cryptography;"
        "sys.exit('cryptography' in sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


def test_registration_is_undone():
    before = (crypto.available_backends(), crypto.default_backend())
    with cryptography_registered():
        assert "cryptography" in crypto.available_backends()
        assert crypto.default_backend() == before[1]
    assert (crypto.available_backends(), crypto.default_backend()) == before


def test_install_makes_cryptography_the_default():
    before = crypto.default_backend()
    with registry_restored():
        install()
        assert crypto.default_backend() == "cryptography"
        assert crypto.available_backends() == ["cryptography", "pure"]
        crypto.unregister_backend("cryptography")
        assert crypto.default_backend() == "pure"
    assert crypto.default_backend() == before


def test_every_portable_vector_on_cryptography():
    """The portable vector tests loop over available_backends(): run them with it present."""
    with cryptography_registered():
        for module in (portable_crypto, portable_dukpt):
            for name in sorted(dir(module)):
                if name.startswith("test_"):
                    getattr(module, name)()


def test_cryptography_sizes():
    cipher = CryptographyAES(bytes(16))
    for bad in (b"", bytes(15), bytes(17)):
        with pytest.raises(CryptoError, match=f"^AES block must be 16 bytes, got {len(bad)}$"):
            cipher.encrypt_block(bad)
        with pytest.raises(CryptoError):
            cipher.decrypt_block(bad)
    with pytest.raises(CryptoError, match=r"^AES key must be 16 or 32 bytes, got 24$"):
        CryptographyAES(bytes(24))


@settings(max_examples=150, deadline=None)
@given(key=KEYS, iv=st.binary(min_size=16, max_size=16), data=BLOCKS)
def test_cbc_round_trip_and_backends_agree(key, iv, data):
    with cryptography_registered() as fast:
        pure = crypto.aes_cbc_encrypt(key, iv, data, backend="pure")
        assert crypto.aes_cbc_encrypt(key, iv, data, backend=fast) == pure
        assert crypto.aes_cbc_decrypt(key, iv, pure, backend="pure") == data
        assert crypto.aes_cbc_decrypt(key, iv, pure, backend=fast) == data
        ecb = crypto.aes_ecb_encrypt(key, data, backend="pure")
        assert crypto.aes_ecb_encrypt(key, data, backend=fast) == ecb
        assert crypto.aes_ecb_decrypt(key, ecb, backend="pure") == data


@settings(max_examples=200, deadline=None)
@given(key=KEYS, data=st.binary(max_size=100))
def test_cmac_equal_on_pure_and_cryptography(key, data):
    from cryptography.hazmat.primitives.ciphers import algorithms
    from cryptography.hazmat.primitives.cmac import CMAC

    oracle = CMAC(algorithms.AES(key))
    oracle.update(data)
    with cryptography_registered() as fast:
        mac = crypto.aes_cmac(key, data, backend="pure")
        assert mac == crypto.aes_cmac(key, data, backend=fast) == oracle.finalize()


@settings(max_examples=200, deadline=None)
@given(key=st.binary(max_size=200), data=st.binary(max_size=200))
def test_hmac_sha256_equals_the_standard_library(key, data):
    assert crypto.hmac_sha256(key, data) == hmac.new(key, data, hashlib.sha256).digest()


@given(a=st.binary(max_size=40), b=st.binary(max_size=40))
def test_constant_time_equal_equals_compare_digest(a, b):
    assert crypto.constant_time_equal(a, b) == hmac.compare_digest(a, b)
    assert crypto.constant_time_equal(a, a)


@given(data=st.binary(max_size=80))
def test_padding_round_trip(data):
    padded = crypto.pad_iso9797_m2(data)
    assert len(padded) % 16 == 0
    assert crypto.unpad_iso9797_m2(padded) == data


@settings(max_examples=40, deadline=None)
@given(
    bdk=KEY128,
    initial_key_id=st.binary(min_size=8, max_size=8),
    start=st.integers(1, 0xFFFF0000).filter(lambda c: bin(c).count("1") <= 16),
    steps=st.integers(1, 12),
)
def test_terminal_equals_host(bdk, initial_key_id, start, steps):
    with cryptography_registered() as fast:
        host = dukpt.HostDukpt(bdk, backend=fast)
        initial_key = host.initial_key(initial_key_id)
        assert initial_key == dukpt.derive_initial_key(bdk, initial_key_id, backend="pure")
        terminal = dukpt.TerminalDukpt(dukpt.MemoryStore(), backend="pure")
        terminal.load_initial_key_at(initial_key, initial_key_id, start)
        for _ in range(steps):
            if terminal.exhausted:
                break
            keys = terminal.next_keys()
            expected = host.keys_for(keys.ksn)
            assert keys.transaction_key == expected.transaction_key
            assert keys.mac_generation == expected.mac_generation
            assert keys.data_encrypt == expected.data_encrypt


@settings(max_examples=10, deadline=None)
@given(initial_key=KEY128, initial_key_id=st.binary(min_size=8, max_size=8))
def test_terminal_from_load_equals_host(initial_key, initial_key_id):
    terminal = dukpt.TerminalDukpt(dukpt.MemoryStore())
    terminal.load_initial_key(initial_key, initial_key_id)
    for counter in range(1, 40):
        ksn, key = terminal.next_key()
        assert ksn == initial_key_id + counter.to_bytes(4, "big")
        assert key == dukpt.derive_transaction_key(initial_key, ksn)
