"""The club server's Keyring (simulator/club_server/protection.py): the keys of any KSN, equal
to the plain X9.24-3 host derivation, with a terminal's derivation steps kept between its
messages (bounded)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.protocol import dukpt
from simulator.club_server.protection import Keyring
from simulator.club_server.server import TEST_BDK

IKIDS = [bytes.fromhex(h) for h in ("5641464100000001", "5641464100000002", "FFFF9876543210E0")]
COUNTERS = st.integers(1, 0xFFFF0000).filter(lambda c: bin(c).count("1") <= 16)


def ksn(ikid, counter):
    return ikid + counter.to_bytes(4, "big")


def same_keys(got, want):
    return (
        got.transaction_key == want.transaction_key
        and got.mac_generation == want.mac_generation
        and got.mac_verification == want.mac_verification
        and got.data_encrypt == want.data_encrypt
        and got.data_decrypt == want.data_decrypt
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(IKIDS), COUNTERS), min_size=1, max_size=25))
def test_keys_equal_the_plain_host_derivation_in_any_order(requests):
    keyring, host = Keyring(TEST_BDK), dukpt.HostDukpt(TEST_BDK)
    for ikid, counter in requests:
        assert same_keys(keyring.keys_for(ksn(ikid, counter)), host.keys_for(ksn(ikid, counter)))


def test_a_terminal_counting_up_costs_about_one_derivation_a_message():
    keyring, host = Keyring(TEST_BDK), dukpt.HostDukpt(TEST_BDK)
    ikid = IKIDS[0]
    start = 0x0FF00000  # 8 one-bits: the plain derivation costs 8 to 16 steps a message here
    for counter in range(start, start + 500):
        got = keyring.keys_for(ksn(ikid, counter))
        assert got.transaction_key == host.transaction_key(ksn(ikid, counter))
    assert keyring.derivations <= 8 + 2 * 500  # the first counter's 8, then ~1 a message


def test_a_repeated_counter_derives_nothing_again():
    keyring = Keyring(TEST_BDK)
    first = keyring.keys_for(ksn(IKIDS[0], 0x12345))
    made = keyring.derivations
    again = keyring.keys_for(ksn(IKIDS[0], 0x12345))
    assert keyring.derivations == made and same_keys(again, first)


def test_memory_is_bounded_least_recently_used_first():
    keyring = Keyring(TEST_BDK, max_terminals=2)
    keyring.keys_for(ksn(IKIDS[0], 5))
    keyring.keys_for(ksn(IKIDS[1], 5))
    keyring.keys_for(ksn(IKIDS[0], 6))  # terminal 0 used last: terminal 1 goes first
    keyring.keys_for(ksn(IKIDS[2], 5))
    assert list(keyring._chains) == [IKIDS[0], IKIDS[2]]
    want = dukpt.HostDukpt(TEST_BDK).keys_for(ksn(IKIDS[1], 7))
    assert same_keys(keyring.keys_for(ksn(IKIDS[1], 7)), want)  # derived afresh, still right
