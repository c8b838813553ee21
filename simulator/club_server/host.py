"""The host's checks that need the database, in the order of docs/protocol.md 4.3 (steps 4-6),
then the business rules: one call per request, inside one database transaction.

Steps 1-3 (format, initial key id, MAC) happen before, in the server's event loop
(simulator.club_server.server). Here:
4. replay: the KSN counter must be above the last accepted for the terminal; the counter is
   recorded (the MAC has verified). A request under an older counter that is a copy of one the
   club answered (same key and content, section 6) gets the recorded answer and changes
   nothing; any other is answered 63;
5. field 62 decrypted (else 63), its terminal id and field 42 match the terminal registered for
   the initial key id, and the terminal is active (else 03);
6. duplicates and repeats (section 6), the outcome table, then the handler of the message
   class. A handler's exception rolls back its own work (a savepoint; the counter is recorded
   again) and is answered 96.
"""

import json
import logging

from simulator.club_server import admin_messages, phase_one, phase_two, split, wire
from simulator.club_server.context import Ctx, Reply, encode_amounts, encode_tags
from simulator.club_server.outcomes import BEHAVIOURS, PHASE_ONE, RESPOND
from simulator.club_server.program import DEFAULT_SETTINGS
from simulator.club_server.protection import SECRET_CARD, SECRET_TERMINAL

log = logging.getLogger("vafa.club_server")

HANDLERS = {
    "010": phase_one.handle,
    "022": phase_two.confirm,
    "042": phase_two.reverse,
    "050": admin_messages.reconcile,
    "080": admin_messages.network,
}

CLOSE = None  # handle() returns this when the connection is to be closed without answer


class Outcome:
    """The response to send (a message dict, not yet protected) and how to send it."""

    __slots__ = ("behaviour", "message", "summary")

    def __init__(self, message, behaviour=None, summary=""):
        self.message = message
        self.behaviour = behaviour  # None, or an outcomes effect (slow, drop, twice, bad_mac)
        self.summary = summary  # for the log line; never a card number


def respond(request_message, code, reply=None, checked=False):
    """The response to a request: the echoed fields, field 39 and what the reply adds
    (checked: the request passed wire.check_format)."""
    return _complete(wire.response_skeleton(request_message, checked), code, reply)


def _complete(out, code, reply):
    out["39"] = code
    if reply is not None:
        if out["t"] == "0110" and code in split.APPROVALS and reply.txn is not None:
            out["37"] = reply.txn["rrn"]
            out["38"] = reply.txn["auth_code"]
        if reply.tags:
            out["48"] = encode_tags(reply.tags)
        if reply.amounts:
            out["54"] = encode_amounts(reply.amounts)
        out.update(reply.fields)
    return out


def dump_response(message):
    return json.dumps(
        {k: (v.hex() if isinstance(v, bytes) else v) for k, v in message.items()},
        ensure_ascii=False,
    )


def recorded(seen, msg):
    """The recorded answer of a request row, as the response to `msg` (0101 -> 0110).

    The record holds what the answer does not take from its request: field 39 and what the
    handler added (37, 38, 48, 54, ...). The rest is the skeleton of `msg`, which is the
    original's: a copy or repeat gets the record only when its content hash (every field the
    skeleton echoes) is the original's. A record with "t" is a whole answer (made before)."""
    data = load_response(seen["response"])
    if "t" in data:
        data["t"] = wire.RESPONSE[msg["t"]]
        return data
    response = wire.response_skeleton(msg, checked=True)
    response.update(data)
    return response


def load_response(text):
    data = json.loads(text)
    return {k: (bytes.fromhex(v) if k in wire.BINARY else v) for k, v in data.items()}


class Host:
    def __init__(self, config, vault, outcomes):
        self.config = config
        self.vault = vault
        self.outcomes = outcomes

    def handle(self, store, request):
        """The Outcome of one request, or CLOSE (the terminal is gone from the database)."""
        with store.transaction():
            return self._handle(store, request)

    def _handle(self, store, request):
        msg = request.message
        terminal = store.terminal_by_ikid(request.ikid)
        if terminal is None:
            return CLOSE
        terminal_id = terminal["terminal_id"]
        key = (terminal_id, request.cls, msg["11"], msg["7"])
        if request.counter <= terminal["last_counter"]:
            return self._copy(store, msg, key, request.content_hash)
        store.set_last_counter(terminal_id, request.counter)
        if request.secrets is None:
            return Outcome(respond(msg, "63"), summary="field 62 does not decrypt")
        merchant = store.merchant(terminal["merchant_id"])
        if (
            request.secrets.get(SECRET_TERMINAL) != terminal_id
            or msg["42"].rstrip(" ") != terminal["merchant_id"]
            or terminal["status"] != "active"
            or merchant is None
            or merchant["status"] != "active"
        ):
            return Outcome(respond(msg, "03"), summary="terminal or merchant mismatch")

        card = request.secrets.get(SECRET_CARD)
        amount = int(msg["4"]) if "4" in msg else None
        seen = store.request(*key)
        if seen is not None and seen["state"] == "answered":
            if seen["content_hash"] != request.content_hash:
                return Outcome(respond(msg, "94"), summary="same STAN, different content")
            rule = self.outcomes.match(request.cls, amount, card, fresh=False)
            return Outcome(recorded(seen, msg), _behaviour(rule), "repeat: original response")

        rule = self.outcomes.match(request.cls, amount, card, fresh=True)
        ctx = Ctx(store, request, terminal, merchant, self.config, self.vault, self.outcomes)
        if seen is not None:  # a reversal came first: the terminal has given this one up
            reply = Reply("12")
        elif rule is not None and rule.effect == RESPOND and request.cls == PHASE_ONE:
            reply = Reply(rule.argument)
        else:
            try:
                with store.handler_savepoint():
                    reply = HANDLERS[request.cls](ctx)
            except Exception:
                log.exception(
                    "handler failed: terminal %s MTI %s STAN %s", terminal_id, msg["t"], msg["11"]
                )
                # the savepoint may have been the request's own: the counter again
                store.set_last_counter(terminal_id, request.counter)
                reply = Reply("96", record=False)
        skeleton = wire.response_skeleton(msg, checked=True)
        response = _complete(dict(skeleton), reply.code, reply)
        if reply.record:  # what the request does not give (recorded() puts the two together)
            added = {k: v for k, v in response.items() if skeleton.get(k) != v}
            txn_id = reply.txn["id"] if reply.txn is not None else None
            store.save_request(
                *key, request.content_hash, dump_response(added), txn_id, request.now
            )
        return Outcome(response, _behaviour(rule), f"code {reply.code}")

    def _copy(self, store, msg, key, content_hash):
        """A request under a KSN already used (docs/protocol.md 4.3 step 4 and 6.1): a copy of
        a request the club answered (the network delivered it twice, or a late repeat) gets the
        recorded answer again and changes nothing; anything else is a replay, 63."""
        seen = store.request(*key)
        if seen is None or seen["state"] != "answered" or seen["content_hash"] != content_hash:
            return Outcome(respond(msg, "63"), summary="replayed KSN")
        return Outcome(recorded(seen, msg), summary="copy: recorded answer")

    def sweep(self, store, now):
        with store.transaction():
            settings = {**DEFAULT_SETTINGS, **store.settings()}
            return phase_two.sweep(store, now, settings, self.config.request_retention)


def _behaviour(rule):
    if rule is not None and rule.effect in BEHAVIOURS:
        return rule.effect
    return None
