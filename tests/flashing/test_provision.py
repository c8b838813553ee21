"""Technician-side provisioning: configuration, TR-31 key blocks, CSV batches, no secrets out."""

import json
import subprocess
import sys

import psec
import pytest

from agent.protocol.dukpt import derive_initial_key
from flashing import provision
from tests.flashing.support import KEYS, REPO, secrets

CSV = """terminal_id,merchant_id,ikid,club_host,club_port,display,printer,language
VT000001,VAFA00000000001,5641464100000001,10.0.0.5,8583,charlcd-20x4,generic-58,fa
VT000002,VAFA00000000001,5641464100000002,10.0.0.5,8583,charlcd-16x2,generic-80,en
VT00003,VAFA00000000001,5641464100000003,10.0.0.5,8583,charlcd-20x4,generic-58,fa
VT000004,VAFA00000000002,56414641000000,10.0.0.5,8583,charlcd-20x4,generic-58,fa
VT000005,VAFA00000000002,5641464100000005,10.0.0.5,8583,charlcd-20x4,laser,fa
"""


def test_kit_holds_config_and_a_b1_block():
    kit = provision.demo_kit(KEYS, club_port=9000)
    assert kit["config"]["terminal_id"] == "VT000001" and kit["config"]["club_port"] == 9000
    header, key = psec.tr31.unwrap(KEYS.kbpk, kit["key_block"])
    assert header.key_usage == "B1" and header.version_id == "D"
    assert header.blocks["IK"] == "5641464100000001"
    assert key == derive_initial_key(KEYS.bdk, bytes.fromhex("5641464100000001"))
    assert kit["kcv"] == provision.check_value(key) and len(kit["kcv"]) == 6


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"terminal_id": "VT1", "merchant_id": "M"}, "terminal_id"),
        ({"terminal_id": "VT000001", "merchant_id": ""}, "merchant_id"),
        ({"terminal_id": "VT000001", "merchant_id": "M", "club_port": "x"}, "club_port"),
        ({"terminal_id": "VT000001", "merchant_id": "M", "language": "de"}, "language"),
        ({"terminal_id": "VT000001", "merchant_id": "M", "colour": "red"}, "colour"),
    ],
)
def test_config_errors_name_the_field(fields, field):
    with pytest.raises(provision.ProvisionError) as e:
        provision.terminal_config(**fields)
    assert e.value.field == field


def test_batch_csv_reports_every_row(tmp_path):
    (tmp_path / "t.csv").write_text(CSV)
    report = provision.provision_csv(tmp_path / "t.csv", tmp_path / "out", KEYS)
    assert [(r["terminal_id"], r["status"]) for r in report] == [
        ("VT000001", "ok"), ("VT000002", "ok"), ("VT00003", "error"), ("VT000004", "error"),
        ("VT000005", "error"),
    ]  # fmt: skip
    assert [r["error"].split(":")[0] for r in report[2:]] == ["terminal_id", "ikid", "printer"]
    config = json.loads((tmp_path / "out/VT000002/config.json").read_text())
    assert config["language"] == "en" and config["display"] == "charlcd-16x2"
    assert (tmp_path / "out/report.csv").read_text().count("\n") == 6


def test_cli_batch_prints_no_secret(tmp_path):
    (tmp_path / "t.csv").write_text(CSV)
    out = subprocess.run(
        [sys.executable, "-m", "vafa.cli", "flash", "provision", "--csv", str(tmp_path / "t.csv"),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 1  # three rows refused
    assert "2 provisioned, 3 refused" in out.stdout
    text = out.stdout + out.stderr + (tmp_path / "out/report.csv").read_text()
    derived = [
        derive_initial_key(KEYS.bdk, bytes.fromhex(f"564146410000000{n}")).hex() for n in (1, 2)
    ]
    for secret in secrets() + derived + [d.upper() for d in derived]:
        assert secret not in text
