"""A split sale over ECR whose bank leg charged the remainder but whose confirmation the club
refused (0230 12: its hold window had passed; docs/terminal.md "Deadlines", docs/ecr.md 3.6):
the answer is 01 with response_code 12, the bank leg gives the remainder back (agent/bankback.py)
and the answer says so, and carries the legs with the bank reference. The real engine and ECR
session over the in-test club with split payment (tests/portable/splithost.py)."""

from agent.ecr.session import EcrSession
from agent.storage import RESERVE, MemoryStorage
from tests.portable.fakehost import START_CREDIT, Terminal, card
from tests.portable.splithost import SplitHost


def test_the_club_refuses_the_confirmation_after_the_bank_charged():
    t = Terminal(MemoryStorage(None, RESERVE), cards=[card()], host=SplitHost())
    t.engine.recover()

    def refuse(response):
        if response["t"] == "0230":
            response["39"] = "12"

    t.host.edit = refuse
    session = EcrSession(t.engine)
    session.recover({"actions": []})
    sale = {
        "seq": 1,
        "type": 0x01,
        "fields": {
            "amount": START_CREDIT + 385_000,
            "invoice": "S-12",
            "cashier": "07",
            "method": "C",
            "split": "B",
        },
    }
    answer = session.handle(sale)[0][1]
    assert (answer["result"], answer["response_code"]) == ("01", "12"), answer
    assert answer["message"] == (
        "Not completed: the club refused the confirmation; bank payment given back"
    )
    assert t.bank.net_total() == 0 and t.bank.reversals[0]["amount"] == 385_000
    charge = t.bank.charges()
    assert len(charge) == 1 and charge[0]["amount"] == 385_000
    assert (answer["remainder_account"], answer["remainder"]) == ("40", 385_000)
    assert answer["bank_reference"] == charge[0]["reference"]
    assert (answer["credit_account"], answer["credit_part"]) == ("60", START_CREDIT)
