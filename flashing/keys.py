"""The keys the flashing tools use, and the TEST ONLY demo keys.

- firmware key: signs the bundle manifest (HMAC-SHA256); the device holds the same key in
  vafa/keys/fw and agent/boot.py verifies with it. With HMAC the verifying key can also sign,
  so it must be as protected on the device as any terminal key (flash encryption / eFuse on a
  board); MicroPython has no public-key signature check to do better.
- KBPK: the key block protection key (AES-128) that wraps each terminal's initial DUKPT key in
  a TR-31 block; the device holds it in vafa/keys/kbpk.

The demo values below are public (they are in this file): TEST ONLY, for the simulators and the
demo club. A real deployment passes --keys FILE, a JSON {"firmware": hex, "kbpk": hex, "bdk": hex}.
"""

import json

TEST_FIRMWARE_KEY = b"VAFA TEST FIRMWARE SIGNING KEY!!"  # 32 bytes, TEST ONLY
TEST_KBPK = b"VAFA TEST KBPK 1!"[:16]  # AES-128, TEST ONLY
TEST_BDK = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")  # the demo club's BDK, TEST ONLY


class Keys:
    def __init__(self, firmware, kbpk, bdk=None, test=False):
        self.firmware = firmware
        self.kbpk = kbpk
        self.bdk = bdk
        self.test = test

    def __repr__(self):  # never the key material
        return "Keys(test)" if self.test else "Keys(<from file>)"


def test_keys():
    return Keys(TEST_FIRMWARE_KEY, TEST_KBPK, TEST_BDK, test=True)


def load_keys(path=None):
    """The keys from a JSON file, or the TEST ONLY demo keys when path is None."""
    if path is None:
        return test_keys()
    with open(path) as f:
        data = json.load(f)
    bdk = bytes.fromhex(data["bdk"]) if data.get("bdk") else None
    return Keys(bytes.fromhex(data["firmware"]), bytes.fromhex(data["kbpk"]), bdk)
