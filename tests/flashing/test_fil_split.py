"""A split sale on the firmware in the loop (docs/ecr.md 3.6): the flashed bundle under the unix
MicroPython with its capped heap, and the mps2-an385 board under QEMU, each sells 1,200,000
rials from the tier A member's store credit (500,000) with the rest on the bank leg, as a
cashier's ECR sale with method S and split B. The device shows the split on its LCD and asks its
keypad, pays the rest on the bank endpoint, prints each leg, and answers the legs; the club's
ledger balances. On the board, the heap it took is measured (VAFA-HEAP)."""

from simulator.cards import personas as chip
from simulator.club_server.ledger import ledger_check
from simulator.fil import FirmwareTerminal
from simulator.fil.qemu import QemuTerminal
from tests.flashing.test_fil_peripherals import CARD_A, needs_mp
from tests.flashing.test_fil_qemu import elf, heap  # noqa: F401 (the board's firmware fixture)

STORE_CREDIT = 500_000


def split_sale(terminal, invoice):
    terminal.card.insert(chip.make_card("active"))
    answer = terminal.ecr.sale(
        1_200_000, invoice=invoice, cashier="07", method="store", split="bank"
    )
    assert answer.ok and answer.response_code == "10", answer.fields
    rest = answer.payable - STORE_CREDIT
    assert [(leg["account"], leg["amount"]) for leg in answer.legs] == [
        ("70", STORE_CREDIT),
        ("40", rest),
    ]
    assert answer.bank_reference and answer.legs[1]["bank_reference"] == answer.bank_reference
    assert terminal.psp.bank.charged_total() == rest  # the bank leg charged the rest only
    assert "split" in terminal.keypad.asked  # the customer accepted on the keypad
    receipts = terminal.receipts()
    assert len(receipts) == 2, receipts
    text = "\n".join(receipts[1])
    assert f"{STORE_CREDIT:,}" in text and f"{rest:,}" in text, text  # each leg on paper
    assert CARD_A not in terminal.output() + repr(receipts) + repr(answer.fields)
    return answer


@needs_mp
def test_a_split_sale_on_the_unix_firmware(tmp_path, club, bundle):
    with FirmwareTerminal(tmp_path / "terminal", club.port, bundle) as device:
        sale = split_sale(device, "FIL-S1")
        # spent: what the card has now is what its points bought at the confirmation
        assert device.ecr.balance().store_balance == sale.store_balance < STORE_CREDIT
    report = club.call(ledger_check)
    assert report.ok, report.findings


def test_a_split_sale_on_the_cortex_m3(tmp_path, club, elf):  # noqa: F811 (the fixture)
    with QemuTerminal(tmp_path / "terminal", club.port, elf) as board:
        board.card.insert(chip.make_card("active"))
        plain = board.ecr.sale(20_000, invoice="ARM-P1", cashier="07", method="cash")
        assert plain.ok, plain.fields
        board.receipts()
        board.keypad.asked.clear()
        plain_used, _ = heap(board)
        split_sale(board, "ARM-S1")  # agent/split.py imported now, for the first time
        used, free = heap(board)
        print(f"board heap after a gc: {plain_used} used after a plain cash sale, "
              f"{used} used and {free} free after a split sale")  # fmt: skip
        assert used + free <= 143360 and free > 16 * 1024  # room to spare, as a plain sale
    report = club.call(ledger_check)
    assert report.ok, report.findings
