"""Counters reserved in blocks: STANs (agent/club.py StanCounter) and DUKPT transaction counters
(agent/protocol/dukpt.py TerminalDukpt). One durable write per block; a restart resumes after
the block, so nothing is handed out twice; the DUKPT state on storage is the reserved end's, so
no key already used can be derived from it."""

from agent.club import StanCounter
from agent.protocol import dukpt
from agent.protocol.errors import DukptError
from agent.storage import MemoryStorage
from tests.portable.support import load_vectors, raises, unhex


def initial_key():
    return unhex(load_vectors()["aes_dukpt_x9_24_3"]["initial_key"])


IKID = unhex("1234567890123456")


class Store(dukpt.MemoryStore):
    def __init__(self, reserve, data=None):
        super().__init__(data)
        self.reserve = reserve


class FailingStore(Store):
    def save(self, data):
        raise OSError("flash full")


def counter_of(store):
    return dukpt.TerminalDukpt(Store(1, store.data)).counter


def terminal_at(counter, reserve, ik=None):
    store = Store(reserve)
    terminal = dukpt.TerminalDukpt(store)
    terminal.load_initial_key_at(ik or initial_key(), IKID, counter)
    return terminal, store


# -- STANs ------------------------------------------------------------------------------------


def test_stans_are_reserved_in_blocks():
    storage = MemoryStorage(None, 4)
    stans = StanCounter(storage)
    assert [stans.next() for _ in range(6)] == [f"{n:06d}" for n in range(1, 7)]
    assert storage.fsyncs == 2 and storage.read("stan") == b"000008"  # at 1 (..4), at 5 (..8)
    assert stans.last == "000006"
    again = StanCounter(storage)  # a restart: 7 and 8 may have gone out, so they are skipped
    assert again.last == "000008" and again.next() == "000009"
    assert storage.read("stan") == b"000012"


def test_stan_blocks_wrap_at_999999():
    storage = MemoryStorage({"stan": b"999998"}, 4)
    stans = StanCounter(storage)
    assert [stans.next() for _ in range(5)] == ["999999", "000001", "000002", "000003", "000004"]
    assert storage.read("stan") == b"000007"


def test_an_earlier_versions_blob_is_a_block_that_ends_there():
    # it held the last STAN handed out: the next one follows it
    assert StanCounter(MemoryStorage({"stan": b"000017"}, 64)).next() == "000018"
    assert StanCounter(MemoryStorage({"stan": b"00"}, 64)).next() == "000001"  # cut short


# -- DUKPT counters ---------------------------------------------------------------------------


def test_dukpt_counters_are_reserved_in_blocks():
    ik = initial_key()
    store = Store(8)
    terminal = dukpt.TerminalDukpt(store)
    terminal.load_initial_key(ik, IKID)
    for counter in range(1, 21):
        ksn, key = terminal.next_key()
        assert ksn == IKID + counter.to_bytes(4, "big")
        assert key == dukpt.derive_transaction_key(ik, ksn), counter
        assert counter_of(store) > counter  # never used unless the saved state is past it
    assert store.saves == 1 + 3  # loading, then at counters 1, 9 and 17
    assert counter_of(store) == 25 and terminal.counter == 21
    again = dukpt.TerminalDukpt(store)  # a restart: 21..24 are skipped
    ksn, key = again.next_key()
    assert ksn[-4:] == (25).to_bytes(4, "big") and key == dukpt.derive_transaction_key(ik, ksn)


def test_the_saved_state_is_the_reserved_ends_and_holds_no_used_key():
    ik = initial_key()
    # counters that start on, or run into, the 16-one-bit skips, and a plain one
    for start in (1, 0x7FFF8000, 0x0000FFFF, 0x00FFFF00, 0x12340608):
        for reserve in (3, 8):
            terminal, store = terminal_at(start, reserve, ik)
            used = []
            for _ in range(12):
                used.append(terminal.next_key()[1])
                saved = counter_of(store)
                built = Store(1)
                dukpt.TerminalDukpt(built).load_initial_key_at(ik, IKID, saved)
                assert built.data == store.data, (start, reserve, saved)
                for key in used:
                    assert key not in store.data


def test_blocks_walk_the_same_counters_as_one_by_one():
    for start in (0x7FFF8000, 0x0000FFFF):
        exact, _ = terminal_at(start, 1)
        blocks, _ = terminal_at(start, 5)
        for _ in range(20):
            assert exact.next_key() == blocks.next_key()


def test_a_reserve_past_the_last_counter_saves_the_exhausted_state():
    terminal, store = terminal_at(0xFFFE0000, 64)
    ksns = [terminal.next_key()[0]]
    assert dukpt.TerminalDukpt(store).exhausted  # a restart now would find nothing left
    while not terminal.exhausted:  # this run uses what it holds, up to the last counter
        ksns.append(terminal.next_key()[0])
    assert ksns[-1][-4:] == b"\xff\xff\x00\x00" and len(ksns) == 18
    assert store.saves == 2  # loading, then the reserve, which reaches past the end
    assert str(raises(DukptError, dukpt.TerminalDukpt(store).next_key)) == "exhausted"


def test_a_failed_reservation_hands_out_no_key():
    good = Store(8)
    dukpt.TerminalDukpt(good).load_initial_key(initial_key(), IKID)
    terminal = dukpt.TerminalDukpt(FailingStore(8, good.data))
    raises(OSError, terminal.next_key)
    assert terminal.counter == 1
