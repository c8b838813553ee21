"""First-start provisioning on the device: configuration file, initial DUKPT key, storage key.

Files (docs/flashing.md):

    vafa/config.json       terminal_id, merchant_id, merchant_name, merchant_name_fa
                           (optional), club_host, club_port, display, printer, language,
                           timeout_ms (no secrets)
    vafa/keys/kbpk         the key block protection key (hex), put there by the technician
    vafa/initial_key.tr31  the initial DUKPT key as a TR-31 version D key block, usage B1,
                           its initial key id in the optional block IK; removed once loaded
    vafa/keys/storage      the key sealing card numbers at rest: made on the device (os.urandom)
                           the first time, never leaves it

load_key_block() unwraps the block, loads the DUKPT state with a fresh counter (KSN counter 1)
and deletes the block; a block that fails its MAC, has another usage or lacks IK is refused
and kept for the technician to look at. Nothing here prints or returns key material.
"""

import binascii
import json
import os

from agent.protocol.dukpt import TerminalDukpt

ROOT = "vafa"
CONFIG = ROOT + "/config.json"
KEY_BLOCK = ROOT + "/initial_key.tr31"
KBPK = ROOT + "/keys/kbpk"
STORAGE_KEY = ROOT + "/keys/storage"
REQUIRED = ("terminal_id", "merchant_id", "club_host", "club_port")
DEFAULTS = {
    "language": "fa",
    "display": "charlcd-20x4",
    "printer": "generic-58",
    "timeout_ms": 10000,
}


class ProvisioningError(ValueError):
    """The device's configuration or keys are missing or invalid; `path` says which file."""

    def __init__(self, path, message):
        super().__init__(path + ": " + message)
        self.path = path


def _read_hex(path):
    try:
        with open(path) as f:
            return binascii.unhexlify(f.read().strip())
    except (OSError, ValueError):
        raise ProvisioningError(path, "missing or not hex")


def load_config(path=CONFIG):
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError):
        raise ProvisioningError(path, "missing or not JSON")
    for name in REQUIRED:
        if name not in config:
            raise ProvisioningError(path, "lacks " + name)
    if len(config["terminal_id"]) != 8:
        raise ProvisioningError(path, "terminal_id must be 8 characters")
    for name, value in DEFAULTS.items():
        if name not in config:
            config[name] = value
    return config


def storage_key(rng):
    try:
        return _read_hex(STORAGE_KEY)
    except ProvisioningError:
        key = rng(16)
        with open(STORAGE_KEY, "w") as f:
            f.write(binascii.hexlify(key).decode())
        return key


def load_key_block(dukpt_store):
    """Load the initial key from vafa/initial_key.tr31 when one is there; True when loaded."""
    try:
        with open(KEY_BLOCK) as f:
            block = f.read().strip()
    except OSError:
        return False
    from agent.firmware import tr31  # first start only: a provisioned terminal never loads it

    header, key = tr31.unwrap(_read_hex(KBPK), block)
    if header["usage"] != "B1":
        raise tr31.KeyBlockError("usage", "expected B1 (initial DUKPT key), got " + header["usage"])
    ikid = header["blocks"].get("IK")
    if ikid is None or len(ikid) != 16:
        raise tr31.KeyBlockError("IK", "the initial key id block is missing")
    TerminalDukpt(dukpt_store).load_initial_key(key, binascii.unhexlify(ikid))
    os.remove(KEY_BLOCK)
    return True
