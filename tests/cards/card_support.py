"""A terminal with a chip reader, for the card tests that run the engine (not a test module).

ChipTerminal wires the real agent Engine to the reference club server over TCP, with a
ClubCardReader over any reader of agent/card_io (in process or PC/SC), the TEST ONLY issuer
master key, the bank-leg simulator and recording display and printer.
"""

import binascii

from agent.card_io.clubcard import ClubCardReader
from agent.engine import Engine
from agent.links.tcp import TcpClubLink
from agent.ports import (
    MemoryStorage,
    RecordingDisplay,
    RecordingPrinter,
    ScriptedKeypad,
    SystemClock,
)
from agent.protocol.dukpt import TerminalDukpt, derive_initial_key
from agent.storage import BlobStore
from simulator.bank import BankSimulator
from simulator.cards.personas import TEST_IMK
from simulator.club_server import seed
from simulator.club_server.server import TEST_BDK
from simulator.club_server.storage import Storage


class ChipTerminal:
    def __init__(self, port, reader, number=1):
        terminal_id, ikid_hex = seed.terminal_identity(number)
        self.storage = MemoryStorage()
        self.bank = BankSimulator()
        self.display = RecordingDisplay()
        self.printer = RecordingPrinter()
        self.link = TcpClubLink("127.0.0.1", port)
        self.reader = ClubCardReader(reader, TEST_IMK)
        dukpt = TerminalDukpt(BlobStore(self.storage, "dukpt"))
        ikid = binascii.unhexlify(ikid_hex)
        dukpt.load_initial_key(derive_initial_key(TEST_BDK, ikid), ikid)
        self.engine = Engine(
            self.link,
            self.bank,
            self.reader,
            ScriptedKeypad({}),
            self.display,
            self.printer,
            SystemClock(),
            self.storage,
            {
                "terminal_id": terminal_id,
                "merchant_id": seed.DEMO_MERCHANT,
                "storage_key": bytes(range(16)),
                "timeout_ms": 3000,
            },
            dukpt=dukpt,
        )
        self.engine.recover()

    def close(self):
        self.reader.release()
        self.link.close()


def club_txn(db, rrn):
    """(the club's transaction row for rrn, its open holds)."""
    store = Storage(db)
    try:
        txn = store.txn_by_rrn(rrn)
        return txn, store.holds_of_txn(txn["id"], "open")
    finally:
        store.close()


def club_txn_count(db):
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM txns").fetchone()[0]
