"""Helpers shared by the portable tests (CPython and MicroPython)."""

import json

VECTORS_PATH = "tests/vectors/crypto_vectors.json"


def unhex(text):
    """Uppercase or lowercase hex to bytes (binascii is on both interpreters)."""
    import binascii

    return binascii.unhexlify(text)


def hexu(data):
    import binascii

    return binascii.hexlify(data).decode().upper()


def load_vectors(path=VECTORS_PATH):
    """The published vectors, copied from ../shared/vectors (tests/test_vectors_copy.py
    checks the copy against the original whenever shared/ is beside the checkout)."""
    for prefix in ("", "../../"):
        try:
            with open(prefix + path) as f:
                return json.load(f)
        except OSError:
            continue
    raise OSError("vectors not found: " + path)


def raises(exc_type, fn, *args, **kwargs):
    """Call fn and return the exception it raised; fail if it raised nothing or another type."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError(f"{fn} did not raise {exc_type.__name__}")
