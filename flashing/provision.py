"""The technician's side of provisioning: a terminal's configuration file and its initial DUKPT
key as a TR-31 key block; one terminal or a CSV of them.

    kit = terminal_kit(config, initial_key, ikid, kbpk)     # {"config": dict, "key_block": str}
    write_kit(kit, "var/flash/terminals/VT000001")          # config.json + initial_key.tr31
    report = provision_csv("terminals.csv", out_dir, keys)  # one row per terminal

The key block: TR-31 version D (AES KBPK), usage B1 (initial DUKPT key), algorithm A, mode X,
key version 00, not exportable, with the initial key id in the optional block IK; wrapped with
psec. The initial key comes from the BDK and the initial key id (ANSI X9.24-3), computed here
for the demo and the simulators; in the field it comes from the key injection facility's HSM
already wrapped, and only the wrapping step applies.

Nothing secret is printed, logged or put in a report: a report row has the terminal id, the
initial key id, the key's check value (the first 3 bytes of AES-CMAC(key, zeros), as X9.24
publishes it) and a status.
"""

import csv
import json
from pathlib import Path

from agent.protocol.crypto import aes_cmac
from agent.protocol.dukpt import derive_initial_key

CONFIG_FIELDS = (
    "terminal_id",
    "merchant_id",
    "merchant_name",
    "merchant_name_fa",
    "club_host",
    "club_port",
    "display",
    "printer",
    "language",
)
DEFAULTS = {
    "merchant_name": "",
    "merchant_name_fa": "",
    "club_host": "127.0.0.1",
    "club_port": 8583,
    "display": "charlcd-20x4",
    "printer": "generic-58",
    "language": "fa",
}
DISPLAYS = ("charlcd-16x2", "charlcd-20x4", "fb-128x64")
PRINTERS = ("generic-58", "generic-80")
LANGUAGES = ("fa", "en")


class ProvisionError(ValueError):
    """A terminal's data is invalid; `field` says which."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field


def terminal_config(**fields):
    """A validated configuration dict (the device's vafa/config.json)."""
    config = dict(DEFAULTS)
    config.update({k: v for k, v in fields.items() if v not in (None, "")})
    unknown = set(config) - set(CONFIG_FIELDS)
    if unknown:
        raise ProvisionError(sorted(unknown)[0], "unknown field")
    tid = config.get("terminal_id", "")
    if len(tid) != 8 or not tid.isalnum():
        raise ProvisionError("terminal_id", "must be 8 letters or digits")
    mid = config.get("merchant_id", "")
    if not 1 <= len(mid) <= 15:
        raise ProvisionError("merchant_id", "must be 1 to 15 characters")
    try:
        config["club_port"] = int(config["club_port"])
    except ValueError:
        raise ProvisionError("club_port", "must be a number") from None
    if not 0 < config["club_port"] < 65536:
        raise ProvisionError("club_port", "out of range")
    for field, allowed in (("display", DISPLAYS), ("printer", PRINTERS), ("language", LANGUAGES)):
        if config[field] not in allowed:
            raise ProvisionError(field, f"one of {', '.join(allowed)}")
    return config


def check_value(key):
    """The AES key check value (KCV): 6 hex digits, safe to show."""
    return aes_cmac(key, bytes(16))[:3].hex().upper()


def wrap_initial_key(kbpk, initial_key, ikid):
    import psec

    header = psec.tr31.Header("D", "B1", "A", "X", "00", "N")
    header.blocks["IK"] = ikid.hex().upper()
    return psec.tr31.wrap(kbpk, header, initial_key)


def terminal_kit(config, initial_key, ikid, kbpk):
    return {
        "config": config,
        "key_block": wrap_initial_key(kbpk, initial_key, ikid),
        "ikid": ikid.hex().upper(),
        "kcv": check_value(initial_key),
    }


def kit_from_bdk(config, ikid_hex, keys):
    if keys.bdk is None:
        raise ProvisionError("bdk", "the keys file has no BDK to derive initial keys from")
    try:
        ikid = bytes.fromhex(ikid_hex)
    except ValueError:
        raise ProvisionError("ikid", "not hexadecimal") from None
    if len(ikid) != 8:
        raise ProvisionError("ikid", "must be 16 hex digits")
    return terminal_kit(config, derive_initial_key(keys.bdk, ikid), ikid, keys.kbpk)


def write_kit(kit, folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(kit["config"], indent=1, sort_keys=True))
    (folder / "initial_key.tr31").write_text(kit["key_block"])
    return folder


def demo_kit(keys, number=1, club_host="127.0.0.1", club_port=8583):
    """The demo club's terminal `number` (simulator/club_server/seed.py)."""
    from simulator.club_server import seed

    tid, ikid_hex = seed.terminal_identity(number)
    merchant = seed.TERMINALS[number][0] if number in seed.TERMINALS else seed.DEMO_MERCHANT
    config = terminal_config(
        terminal_id=tid,
        merchant_id=merchant,
        merchant_name=seed.MERCHANTS[merchant][0],
        merchant_name_fa=seed.MERCHANTS[merchant][1],
        club_host=club_host,
        club_port=club_port,
    )
    return kit_from_bdk(config, ikid_hex, keys)


def provision_csv(csv_path, out_dir, keys):
    """One kit folder per CSV row under out_dir, and a report: a list of dicts (terminal_id,
    ikid, kcv, status, error), also written as out_dir/report.csv. Columns: the config fields
    and ikid. A bad row is reported and skipped; the others go on."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = []
    with open(csv_path, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), 2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            entry = {"line": line, "terminal_id": row.get("terminal_id", ""), "ikid": "",
                     "kcv": "", "status": "ok", "error": ""}  # fmt: skip
            try:
                ikid_hex = row.pop("ikid", "")
                kit = kit_from_bdk(terminal_config(**row), ikid_hex, keys)
                if (out_dir / kit["config"]["terminal_id"]).exists():
                    raise ProvisionError("terminal_id", "provisioned twice in this batch")
                write_kit(kit, out_dir / kit["config"]["terminal_id"])
                entry["ikid"], entry["kcv"] = kit["ikid"], kit["kcv"]
            except ProvisionError as e:
                entry["status"], entry["error"] = "error", str(e)
            report.append(entry)
    with open(out_dir / "report.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["line", "terminal_id", "ikid", "kcv", "status", "error"])
        writer.writeheader()
        writer.writerows(report)
    return report


KIT_FILES = ("config.json", "initial_key.tr31")


def check_kit(folder, kbpk):
    """A kit folder checked before anything goes to a device: both files there, config.json a
    JSON object whose provisioning fields are valid (other keys, e.g. a board's "hostlink",
    pass), and the key block a TR-31 initial DUKPT key (usage B1, an IK block) that opens under
    kbpk, the KBPK the device will unwrap it with. ProvisionError naming the file otherwise;
    returns the configuration."""
    from agent.firmware import tr31

    folder = Path(folder)
    missing = [name for name in KIT_FILES if not (folder / name).is_file()]
    if missing:
        raise ProvisionError("kit", f"not a terminal kit (no {', '.join(missing)}); make one "
                             "with vafa flash provision")  # fmt: skip
    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProvisionError("config.json", f"not JSON ({e})") from None
    if not isinstance(data, dict):
        raise ProvisionError("config.json", "expected a JSON object of configuration fields")
    try:
        terminal_config(**{k: data[k] for k in CONFIG_FIELDS if k in data})
    except ProvisionError as e:
        raise ProvisionError("config.json", str(e)) from None
    block = (folder / "initial_key.tr31").read_text(encoding="ascii", errors="replace").strip()
    try:
        header, _ = tr31.unwrap(kbpk, block)
    except tr31.KeyBlockError as e:
        raise ProvisionError(
            "initial_key.tr31", f"{e} (made with other keys than --keys?)"
        ) from None
    if header["usage"] != "B1" or len(header["blocks"].get("IK", "")) != 16:
        raise ProvisionError("initial_key.tr31", "not an initial DUKPT key block (usage B1 "
                             "with an IK block)")  # fmt: skip
    return data
