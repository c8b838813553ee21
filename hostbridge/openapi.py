"""The OpenAPI 3.1 document of `vafa bridge serve` (GET /openapi.json; docs/ecr.md section 9).

Built from the same tables the bridge runs on, so it cannot drift from them: the routes and
their keys (webroutes.ROUTES), each field's type and size (protocol.FIELDS, docs/ecr.md 3.3); and,
from docs/ecr.md 3.4, which fields each answer carries (ANSWERS). A 200 answer's schema lists
exactly those fields (additionalProperties: false), so an answer carrying a field its command
does not (a settlement with an amount) fails validation: tests/ecr/test_openapi.py checks real
answers of the emulated terminal against it.

    >>> doc = document({"/status": ("status", ("invoice",), ())})
    >>> doc["openapi"], sorted(doc["paths"])[:3]
    ('3.1.0', ['/', '/health', '/icon.svg'])
"""

from hostbridge.protocol import FIELDS, METHODS, RESULTS, SPLITS, Digits, Number, Printable

# docs/ecr.md 3.4: the fields each answer may carry besides command, result, result_text,
# message, invoice and recovered. The terminal's own table (agent/ecr/spec.py ANSWERS) is
# written independently; the tests hold both to real answers.
_TAIL = ("response_code", "club_message", "receipt", "confirmed", "flow", "terminal_id", "time")
_LEGS = ("credit_account", "credit_part", "remainder_account", "remainder")  # 3.6: split legs
ANSWERS = {
    "sale": ("amount", "discount", "fee", "payable", "points_earned", "points_balance",
             "club_balance", "store_balance", "card", "stan", "rrn", "bank_reference", "tier",
             "reason", "coupon", "coupon_discount", "coupon_text", "coupon_reason", *_LEGS,
             *_TAIL),
    "balance": ("points_balance", "club_balance", "store_balance", "tier", "card", "stan", "rrn",
                "response_code", "club_message", "receipt", "flow", "terminal_id", "time"),
    "refund": ("amount", "payable", "points_earned", "points_balance", "club_balance",
               "store_balance", "card", "stan", "rrn", "reason", *_LEGS, *_TAIL),
    "void": ("amount", "payable", "card", "stan", "rrn", "bank_reference", "reason", *_LEGS,
             *_TAIL),
    "settlement": ("debit_count", "debit_amount", "credit_count", "credit_amount",
                   "reversal_count", "reversal_amount", "stan", "response_code", "receipt",
                   "flow", "terminal_id", "time"),
    "print": ("flow", "terminal_id", "time"),
    "show": ("flow", "terminal_id", "time"),
    "topup": ("amount", "discount", "fee", "payable", "points_balance", "club_balance", "card",
              "stan", "rrn", "tier", "reason", *_TAIL),
}  # fmt: skip
KEPT = ("sale", "refund", "void", "settlement", "topup")  # a status answer is one of these
FLOWS = (
    "bank",
    "club_credit",
    "store_credit",
    "cash",
    "points",
    "split",
    "balance",
    "top_up",
    "refund",
    "void",
    "close",
    "print",
    "show",
    *KEPT,
)  # fmt: skip  (the last: a power cut's result)
REASONS = ("TO", "CN", "BD", "BT", "VD", "PF", "MC", "PR")

# a field's value type (protocol.py) -> its JSON Schema
TYPES = {
    Number: lambda v: {"type": "integer", "minimum": 0, "maximum": 10**v.high - 1},
    Digits: lambda v: {"type": "string", "pattern": f"^[0-9]{{{v.low},{v.high}}}$"},
    Printable: lambda v: {
        "type": "string",
        "pattern": "^[ -~]*$",
        "minLength": v.low,
        "maxLength": v.high,
    },
}
TEXT = lambda v: {"type": "string", "minLength": 1, "maxLength": v.high}  # noqa: E731 (a row)

# what a field may be beyond its type (docs/ecr.md 3.3), as JSON Schema keywords
NARROWER = {
    "method": {"enum": list(METHODS), "type": "string"},
    "account": {"enum": ["00", "40", "60", "70"]},
    "seconds": {"maximum": 999},
    "result": {"enum": list(RESULTS)},
    "card": {"pattern": r"^\*+[0-9]{4}$"},  # the last 4 digits only, never more
    "confirmed": {"enum": ["Y", "N"]},
    "tier": {"enum": ["A", "B", "C"]},
    "reason": {"enum": list(REASONS)},
    "flow": {"enum": list(FLOWS)},
    "coupon_reason": {"enum": ["TX", "UK", "DS", "EX", "ST", "MB", "MN", "US"]},
    "split": {"enum": list(SPLITS), "type": "string"},
    "credit_account": {"enum": ["60", "70"]},
    "remainder_account": {"enum": ["40", "00"]},
}
# what the bridge adds to an answer that has legs (a split sale, its void or refund): the legs
# in paying order, from the answer's fields (hostbridge.client.Result.legs; docs/ecr.md 3.6)
LEGS = {
    "type": "array",
    "minItems": 1,
    "maxItems": 2,
    "description": "the legs in paying order: the credit part, then the remainder",
    "items": {
        "type": "object",
        "required": ["account", "amount"],
        "properties": {
            "account": {"enum": ["60", "70", "40", "00"]},
            "amount": {"type": "integer", "minimum": 0},
            "bank_reference": {"$ref": "#/components/schemas/bank_reference"},
        },
        "additionalProperties": False,
    },
}
WITH_LEGS = ("sale", "refund", "void", "status")
# a command's values beyond what an answer's may be: no sale or refund of 0 rials
REQUEST_NARROWER = {"amount": {"minimum": 1}}
REQUEST_ONLY = {
    "method": "bank, club, store, cash or points (the bridge's names for B, C, S, K, P); with "
    "split, club (the default then) or store; points takes no coupon and no split",
    "split": "a split sale: bank or cash (the bridge's names for B, K), how the rest is paid "
    "after the credit of method",
}


def field_schema(name):
    """The JSON Schema of one field by its docs/ecr.md name."""
    tag, value = next((tag, v) for tag, (n, v) in FIELDS.items() if n == name)
    schema = TYPES.get(type(value), TEXT)(value)
    schema.update(NARROWER.get(name, {}))
    if name in ("method", "split"):
        schema.pop("pattern", None)
        schema.pop("maxLength", None)
    schema["description"] = REQUEST_ONLY.get(name, f"docs/ecr.md 3.3, tag {tag:02X}")
    return schema


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(command, fields, extra=None):
    props = {
        "command": {"const": command, "description": "the command this answers"},
        "result": _ref("result"),
        "result_text": {"type": "string", "enum": [*RESULTS.values(), "unknown result"]},
        "message": _ref("message"),
        "invoice": _ref("invoice"),
        "recovered": {"type": "boolean", "description": "the answer came from a status inquiry"},
    }
    props.update({name: _ref(name) for name in fields})
    if command in WITH_LEGS:
        props["legs"] = LEGS
    props.update(extra or {})
    return {
        "type": "object",
        "required": ["command", "result", "result_text", "message", "recovered"],
        "properties": props,
        "additionalProperties": False,
    }


def _schemas(routes):
    names = sorted(name for name, _ in FIELDS.values() if name != "command")
    schemas = {name: field_schema(name) for name in names}
    for method, _must, _may in routes.values():
        command = _command(method)
        if command == "status":
            union = sorted({f for kept in KEPT for f in ANSWERS[kept]})
            status_of = {"enum": list(KEPT), "description": "the command whose result this is"}
            schemas["StatusAnswer"] = _answer("status", union, {"status_of": status_of})
        else:
            schemas[f"{command.capitalize()}Answer"] = _answer(command, ANSWERS[command])
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "description": "what is wrong, in one sentence"},
            "detail": {"type": "string"},
            "required": {"type": "array", "items": {"type": "string"}},
            "optional": {"type": "array", "items": {"type": "string"}},
            "endpoints": {"type": "array", "items": {"type": "string"}},
            "kind": {"type": "string", "description": "502: PortError, NoAck, ..."},
            "sent": {"type": "boolean", "description": "502: whether the command went out"},
            "result": {"const": "10", "description": "409: busy"},
            "result_text": {"const": "busy"},
        },
        "additionalProperties": False,
    }
    schemas["Health"] = {
        "type": "object",
        "required": ["ok", "port", "busy"],
        "properties": {
            "ok": {"const": True},
            "port": {"type": "string", "description": "the terminal's port (--port)"},
            "busy": {"type": "boolean", "description": "a command is in flight"},
        },
        "additionalProperties": False,
    }
    return schemas


def _command(method):
    return {"print_text": "print", "show_text": "show"}.get(method, method)


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": "a bad body or value (the sentence says which); nothing was sent",
    "401": "the bridge has a token and the request does not carry it (WWW-Authenticate)",
    "403": "a browser request from an origin not allowed with --allow-origin",
    "405": "a method this path does not answer (Allow names the ones it does)",
    "409": "another command is in flight (the link carries one at a time)",
    "415": "the body is not Content-Type: application/json",
    "502": "the terminal could not be reached; sent says whether the command went out",
    "503": "--max-connections are open already (Retry-After)",
}
ERROR = {"$ref": "#/components/responses/Error"}


def _post(path, method, must, may):
    command = _command(method)
    answer = "StatusAnswer" if command == "status" else f"{command.capitalize()}Answer"
    body = {
        "type": "object",
        "required": list(must),
        "properties": {
            name: {**_ref(name), **REQUEST_NARROWER.get(name, {})} for name in (*must, *may)
        },
        "additionalProperties": False,
    }
    responses = {"200": _json(_ref(answer), "the terminal answered: look at result")}
    responses.update({code: _json(_ref("Error"), text) for code, text in ERRORS.items()})
    return {
        "post": {
            "operationId": command,
            "summary": f"the {command} command (docs/ecr.md 3.2)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": responses,
            "security": [{"bearer": []}, {}],
        }
    }


def _get(operation, summary, content_type, schema):
    return {
        "get": {
            "operationId": operation,
            "summary": summary,
            "responses": {
                "200": {"description": summary, "content": {content_type: {"schema": schema}}},
                "403": ERROR,
                "503": ERROR,
            },
            "security": [],
        }
    }


def document(routes):
    """The OpenAPI 3.1 document for a bridge serving `routes` (webroutes.ROUTES)."""
    text = {"type": "string"}
    paths = {
        "/": _get("page", "the integrator's page: send a sale from a browser", "text/html", text),
        "/page.js": _get("page_script", "the page's script", "text/javascript", text),
        "/page.css": _get("page_style", "the page's style", "text/css", text),
        "/icon.svg": _get("page_icon", "the page's icon", "image/svg+xml", text),
        "/openapi.json": _get("openapi", "this document", "application/json", {"type": "object"}),
        "/health": _get(
            "health", "whether the bridge is up and busy", "application/json", _ref("Health")
        ),
    }
    for path, (method, must, may) in routes.items():
        paths[path] = _post(path, method, must, may)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Vafa bridge",
            "version": "1",
            "summary": "ECR commands to a Vafa terminal over HTTP/JSON (docs/ecr.md section 9)",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": _schemas(routes),
            "responses": {"Error": _json(_ref("Error"), "an error: the sentence says what")},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "required when the bridge runs with --token-file or "
                    "$VAFA_BRIDGE_TOKEN; otherwise any caller on the machine is served",
                }
            },
        },
    }
