"""GET /openapi.json is a valid OpenAPI 3.1 document (openapi-spec-validator), it names every
endpoint the bridge answers, and the bridge's real answers, driving the emulated terminal
through every route and every error status, validate against its schemas (openapi-schema-
validator's OAS31Validator), which list exactly the fields of each answer: so a settlement
carrying a purchase's amount, a status answer with a command number, or a store credit under
the club credit's name is a failure here."""

import doctest
import json
import socket
import threading
import time

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import hostbridge.client as client_module
from hostbridge import openapi, webbody, webguard
from hostbridge.client import EcrClient
from hostbridge.web import ENDPOINTS, ROUTES, make_server
from tests.ecr.test_web import call
from tests.ecr.test_web_limits import parse, read_all

TOKEN = b"test-token-0123456789abcdef"
AUTH = {"Authorization": "Bearer " + TOKEN.decode()}


@pytest.fixture
def served(emulator_tcp):
    client = EcrClient(emulator_tcp.cashier)
    server = make_server(client, port=0, allow_origins=["http://till.local"], token=TOKEN)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    status, doc, _ = call(base, "/openapi.json")
    assert status == 200
    yield base, Checker(doc), emulator_tcp
    server.shutdown()
    thread.join()
    server.server_close()
    client.close()


class Checker:
    """Validates one real answer against the document's schema for its path, method, status."""

    def __init__(self, doc):
        self.doc = doc
        self.registry = Registry().with_resource("urn:vafa-bridge", Resource(doc, DRAFT202012))
        self.checked = set()

    def errors(self, path, method, status, body):
        """What is wrong with `body` as the answer `status` of `method path`; a path and
        method the document has no operation for (405, 404) answer the Error schema."""
        operation = self.doc["paths"].get(path, {}).get(method.lower())
        if operation is None:
            pointer = "#/components/schemas/Error"
        else:
            assert str(status) in operation["responses"], (path, method, status)
            pointer = (f"#/paths/{path.replace('/', '~1')}/{method.lower()}/responses/{status}"
                       "/content/application~1json/schema")  # fmt: skip
        validator = OAS31Validator({"$ref": "urn:vafa-bridge" + pointer}, registry=self.registry)
        return [e.message for e in validator.iter_errors(body)]

    def __call__(self, base, path, body=None, headers=None, method=None, expect=200):
        verb = method or ("POST" if body is not None else "GET")
        status, answer, _ = call(base, path, body, {**AUTH, **(headers or {})}, method)
        assert status == expect, (path, answer)
        assert self.errors(path, verb, status, answer) == [], (path, answer)
        self.checked.add((verb, path, status))
        return answer


def test_the_document_is_valid_openapi_3_1(served):
    _base, check, _emu = served
    validate(check.doc)  # raises on an invalid document
    assert check.doc["openapi"] == "3.1.0"


def test_the_document_names_every_endpoint_and_the_404_lists_them(served):
    base, check, _emu = served
    documented = sorted(
        f"{verb.upper()} {path}" for path, ops in check.doc["paths"].items() for verb in ops
    )
    assert documented == ENDPOINTS
    assert {f"POST {path}" for path in ROUTES} <= set(documented)
    status, body, _ = call(base, "/nope", headers=AUTH)
    assert status == 404 and body["endpoints"] == ENDPOINTS


def test_real_answers_of_every_route_match_the_document(served):
    base, check, _emu = served
    sale = check(base, "/sale", {"amount": 1200000, "invoice": "O-1", "cashier": "7"})
    assert sale["result"] == "00" and sale["card"] == "****0014"
    club = check(base, "/sale", {"amount": 30000, "invoice": "O-2", "cashier": "7",
                                 "method": "club"})  # fmt: skip
    assert club["flow"] == "club_credit" and "club_balance" in club
    assert "store_balance" not in club
    store = check(base, "/sale", {"amount": 1000, "invoice": "O-3", "cashier": "7",
                                  "method": "store"})  # fmt: skip
    assert store["flow"] == "store_credit" and "store_balance" in store
    assert "club_balance" not in store  # the store credit is not told as the club credit
    check(base, "/sale", {"amount": 5000, "invoice": "O-4", "cashier": "7", "method": "cash"})
    balance = check(base, "/balance", {"cashier": "7"})
    assert balance["store_balance"] == store["store_balance"]
    assert balance["club_balance"] == club["club_balance"]
    refund = {"amount": 1000, "invoice": "O-5", "cashier": "7", "original_rrn": club["rrn"]}
    check(base, "/refund", refund)
    check(base, "/void", {"invoice": "O-6", "cashier": "7", "original_invoice": "O-5"})
    status = check(base, "/status", {"invoice": "O-1"})
    assert status["command"] == "status" and status["status_of"] == "sale"
    assert status["rrn"] == sale["rrn"]
    assert check(base, "/status", {"invoice": "none"})["result"] == "12"
    topup = check(base, "/topup", {"amount": 20000, "invoice": "O-7", "cashier": "7"})
    assert check(base, "/status", {"invoice": "O-7"})["status_of"] == "topup"
    check(base, "/print", {"text": "hello"})
    check(base, "/show", {"text": "hi", "seconds": 2})
    close = check(base, "/settlement", {"invoice": "O-Z"})
    assert close["credit_amount"] >= topup["amount"]
    for purchase_field in ("amount", "discount", "fee", "payable", "confirmed", "card"):
        assert purchase_field not in close
    health = check(base, "/health", headers={})
    assert health == {"ok": True, "port": "", "busy": False}
    assert {path for _verb, path, _status in check.checked} == {*ROUTES, "/health"}


def test_real_error_answers_match_the_document(served):
    base, check, emu = served
    check(base, "/sale", {"amount": 0, "invoice": "E-1", "cashier": "7"}, expect=400)
    check(base, "/sale", {"amount": 5}, expect=400)
    check(base, "/status", {"invoice": "I"}, {"Authorization": "Bearer wrong-token"}, expect=401)
    check(base, "/status", {"invoice": "I"}, {"Origin": "http://evil.example"}, expect=403)
    check(base, "/health", method="POST", body={}, expect=405)
    check(base, "/nope", {}, expect=404)
    check(base, "/status", {"invoice": "I"}, {"Content-Type": "text/plain"}, expect=415)
    emu.gate.hold.set()
    worker = threading.Thread(target=call, args=(base, "/sale", {"amount": 1200000,
                              "invoice": "E-2", "cashier": "7"}, AUTH))  # fmt: skip
    worker.start()
    assert emu.gate.entered.wait(10)
    check(base, "/balance", {}, expect=409)
    emu.gate.release()
    worker.join(30)


def test_the_schemas_refuse_what_an_answer_must_not_carry(served):
    # the document is strict: the shapes this issue removed would fail the checks above
    _base, check, _emu = served
    good = {"command": "settlement", "result": "00", "result_text": "approved",
            "message": "Totals agree", "recovered": False, "debit_count": 1}  # fmt: skip
    assert check.errors("/settlement", "POST", 200, good) == []
    assert check.errors("/settlement", "POST", 200, {**good, "amount": 0})
    status = {**good, "command": "status", "status_of": "sale"}
    assert check.errors("/status", "POST", 200, status) == []
    assert check.errors("/status", "POST", 200, {**status, "status_of": 1})
    assert check.errors("/sale", "POST", 200, {**good, "command": "sale", "balance": 5})
    assert check.errors("/sale", "POST", 200, {**good, "command": "sale",
                                                "card": "9879110000000014"})  # fmt: skip


def test_the_document_is_served_once_built(served):
    base, check, _emu = served
    start = time.monotonic()
    status, again, headers = call(base, "/openapi.json")
    assert status == 200 and again == check.doc
    assert headers["Content-Type"].startswith("application/json")
    assert time.monotonic() - start < 1.0
    assert json.dumps(again)  # plain JSON, nothing Python-only


@pytest.mark.parametrize("module", [openapi, webbody, webguard, client_module])
def test_the_doctests_of_the_bridge_modules(module):
    assert doctest.testmod(module).failed == 0


def test_unreachable_and_refused_answers_match_the_document(tmp_path, served):
    _base, check, _emu = served
    client = EcrClient(str(tmp_path / "no-such-tty"))
    server = make_server(client, port=0, max_connections=1)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        status, body, _ = call(base, "/balance", {})
        assert status == 502 and body["sent"] is False
        assert check.errors("/balance", "POST", 502, body) == []
        deadline = time.monotonic() + 3
        while server.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as held:
            held.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            held.recv(4096)  # answered: the one connection is held open (keep-alive)
            with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as extra:
                # answered at once, before the request is sent (sending could meet the close)
                status, body = parse(read_all(extra))
        assert status == 503 and check.errors("/balance", "POST", 503, body) == []
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        client.close()
