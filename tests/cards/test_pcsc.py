"""The club card through the real stack: pcscd, the vsmartcard vpcd driver, pyscard, and our
virtual cards as vpcd clients (fixtures in pcsc_fixtures.py; skipped with a message naming
scripts/install-system-deps.sh where the parts are missing).

Every persona read and authenticated through PC/SC; a clone refused; a pulled card noticed;
the engine against the reference club server over PC/SC; and the `vafa card` commands as a
user runs them (subprocesses): emulate, read, personalize a blank card then lock it.
"""

import json
import subprocess
import sys
import time

import pytest

from agent.card_io.clubcard import ClubCard, ClubCardReader
from agent.card_io.errors import CardAuthError, CardNotPersonalized, CardProtocolError
from simulator.cards import catalogue
from simulator.cards.personas import PERSONAS, TEST_IMK, make_card
from simulator.club_server.ledger import ledger_check
from tests.cards.card_support import ChipTerminal, club_txn, club_txn_count

REFUSED = {
    "blank": CardNotPersonalized,
    "clone": CardAuthError,
    "garbage": CardProtocolError,
}
CLI_VPCD = "127.0.0.1:35964"  # the second vpcd slot: the CLI tests' own reader
CLI_READER = "Virtual PCD 00 01"


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_every_persona_through_pcsc(pcsc_slot, persona):
    pcsc_slot.insert(make_card(persona))
    reader = ClubCardReader(pcsc_slot.reader, TEST_IMK)
    if persona in REFUSED:
        with pytest.raises(REFUSED[persona]):
            reader.read(5000)
        return
    card = reader.read(5000)
    pan, expiry, program, holder = PERSONAS[persona][:4]
    assert isinstance(card, ClubCard) and card.entry == "051"
    assert (card.pan, card.expiry, card.program, card.holder) == (pan, expiry, program, holder)
    assert reader.present(card) is (persona != "pulled-out")
    reader.release()


def test_pulled_card_is_gone_for_pcscd_too(pcsc_slot):
    pcsc_slot.insert(make_card("pulled-out"))
    reader = ClubCardReader(pcsc_slot.reader, TEST_IMK)
    card = reader.read(5000)
    assert pcsc_slot.runner.wait(2.0)  # the virtual card left the reader
    assert reader.present(card) is False
    assert pcsc_slot.reader.wait_for_removal(3000)
    assert pcsc_slot.reader.card_present() is False


def test_no_card_times_out(pcsc_slot):
    reader = ClubCardReader(pcsc_slot.reader, TEST_IMK)
    start = time.monotonic()
    assert reader.read(600) is None
    assert 0.5 < time.monotonic() - start < 3.0


# -- the engine over PC/SC, against the reference club server ---------------------------------


def test_engine_over_pcsc(pcsc_slot, card_club):
    handle, db = card_club
    terminal = ChipTerminal(handle.port, pcsc_slot.reader)
    try:
        pcsc_slot.insert(make_card("active"))
        res = terminal.engine.purchase_club_credit(120000)
        assert res["outcome"] == "approved" and res["confirmed"], res
        pcsc_slot.insert(make_card("pulled-out"))
        res = terminal.engine.purchase_club_credit(150000)
        assert (res["outcome"], res["reason"]) == ("reversed", "CN"), res
        txn, holds = club_txn(db, res["rrn"])
        assert txn["state"] == "reversed" and holds == []
        before = club_txn_count(db)
        pcsc_slot.insert(make_card("clone"))
        res = terminal.engine.purchase_club_credit(100000)
        assert res["outcome"] == "failed" and res["message"].startswith("Card refused: card not")
        assert terminal.display.last == ("card_error", {"message": "Card not genuine"})
        assert club_txn_count(db) == before
    finally:
        terminal.close()
    report = ledger_check(db)
    assert report.ok, report.findings


# -- the commands, as a user runs them ---------------------------------------------------------


def vafa(*args, timeout=60):
    cmd = [sys.executable, "-m", "vafa", "card", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


class Emulation:
    """`vafa card emulate` in the background, on the CLI tests' vpcd slot."""

    def __init__(self, *args):
        cmd = [sys.executable, "-m", "vafa", "card", "emulate", "--vpcd", CLI_VPCD, *args]
        self.process = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.first_line = self.process.stdout.readline()
        assert "inserted in " + CLI_READER in self.first_line, (
            self.first_line,
            self.process.stderr.read() if self.process.poll() is not None else "",
        )

    def stop(self):
        from agent.card_io.pcsc import PcscReader

        self.process.terminate()
        out, err = self.process.communicate(timeout=10)
        reader = PcscReader(CLI_READER)  # the next test starts with an empty reader
        assert reader.wait_for_removal(3000)
        reader.close()
        return self.process.returncode, self.first_line + out, err


@pytest.fixture
def emulate(pcscd_daemon):
    running = []

    def start(*args):
        em = Emulation(*args)
        running.append(em)
        return em

    yield start
    for em in running:
        if em.process.poll() is None:
            em.stop()


def test_cli_emulate_and_read(emulate):
    em = emulate("--persona", "active")
    done = vafa("read", "--reader", CLI_READER, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert out["authenticated"] is True and out["personalized"] is True
    assert (out["card"], out["expiry"], out["program"]) == ("************0014", "2912", "standard")
    assert out["holder"] == "مریم احمدی" and out["reader"] == CLI_READER
    assert "9879110000000014" not in done.stdout + done.stderr
    code, stdout, _err = em.stop()
    assert code == 0 and "card removed" in stdout


def test_cli_read_text_and_trace_are_masked(emulate):
    emulate("--persona", "prepaid")
    done = vafa("read", "--reader", "PCD 00 01", "--trace")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "authenticated  yes" in done.stdout and "program        pool" in done.stdout
    assert "> INTERNAL AUTHENTICATE 00880000 10" in done.stderr
    assert "9879110000000071" not in done.stdout + done.stderr


def test_cli_clone_is_not_authenticated(emulate):
    emulate("--persona", "clone")
    done = vafa("read", "--reader", CLI_READER, "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert out["authenticated"] is False and out["card"] == "************0014"
    assert out["error"] == "card not genuine: authentication failed (INTERNAL AUTHENTICATE)"


def test_cli_personalize_blank_then_read_then_refused(emulate):
    emulate("--persona", "blank")
    done = vafa("read", "--reader", CLI_READER, "--json")
    assert done.returncode == 1 and json.loads(done.stdout)["personalized"] is False
    args = ["--reader", CLI_READER, "--pan", "9879110000000105", "--expiry", "2811",
            "--holder", "نیلوفر کاظمی", "--json"]  # fmt: skip
    done = vafa("personalize", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert out["locked"] is True and out["verified"] is True and out["error"] is None
    done = vafa("read", "--reader", CLI_READER, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert (out["card"], out["expiry"], out["holder"]) == (
        "************0105",
        "2811",
        "نیلوفر کاظمی",
    )
    done = vafa("personalize", *args)  # the card is locked now
    assert done.returncode == 1, done.stdout + done.stderr
    assert json.loads(done.stdout)["error"] == (
        "card locked: personalization refused (GET CHALLENGE, SW 6985)"
    )
    done = vafa("read", "--reader", CLI_READER, "--json")  # still the first issue
    assert json.loads(done.stdout)["expiry"] == "2811"


def test_cli_personalize_with_a_wrong_key_is_refused(emulate):
    emulate("--persona", "blank")
    done = vafa("personalize", "--reader", CLI_READER, "--pan", "9879110000000113",
                "--perso-key", "00" * 16)  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "personalization refused: MAC or session (STORE DATA, SW 6982)" in done.stdout


def test_cli_bad_input_and_no_card(pcscd_daemon):
    done = vafa("personalize", "--reader", CLI_READER, "--pan", "9879110000000106")
    assert done.returncode == 2 and "Luhn" in done.stdout
    done = vafa("read", "--reader", CLI_READER, "--timeout", "0.5")
    assert done.returncode == 2 and "no card within 0.5 s" in done.stdout
    done = vafa("read", "--reader", "no such reader", "--timeout", "0.5")
    assert done.returncode == 2 and "no reader named 'no such reader'" in done.stdout


def test_cli_emulate_stops_after_seconds(pcscd_daemon):
    cmd = [sys.executable, "-m", "vafa", "card", "emulate", "--vpcd", CLI_VPCD,
           "--persona", "expired", "--seconds", "0.5"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "************0063" in done.stdout and "card removed" in done.stdout


def test_cli_emulate_without_vpcd_fails_clearly(pcscd_daemon):
    cmd = [sys.executable, "-m", "vafa", "card", "emulate", "--vpcd", "127.0.0.1:9",
           "--persona", "active", "--wait", "0.5"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "did not accept the card" in done.stderr


def test_cli_personas_lists_every_persona():
    done = vafa("personas", "--json")
    assert done.returncode == 0
    listed = [row["persona"] for row in json.loads(done.stdout)]
    assert listed == catalogue.names()  # the one list of card names (simulator/cards/catalogue.py)
    assert set(PERSONAS) <= set(listed)  # every chip behaviour among them


def test_demo_through_pcsc(pcsc_card, tmp_path):
    cmd = [sys.executable, "-m", "vafa", "demo", "--card", "pcsc", "--json",
           "--data-dir", str(tmp_path / "demo")]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    report = json.loads(done.stdout)
    assert report["card_path"] == "pcsc" and report["ledger_ok"] is True
    by_title = {row["title"]: row["outcome"] for row in report["transactions"]}
    # every flow ends as it does with in-process cards (tests/test_demo.py): the one sale the
    # bank leg declines is reversed, the blocked card is declined, the rest are approved
    assert by_title.pop("Bank leg declines: the club discount is reversed") == "reversed"
    assert by_title.pop("Blocked card") == "declined"
    assert set(by_title.values()) == {"approved"}, by_title
