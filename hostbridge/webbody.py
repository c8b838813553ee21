"""The body of a request to `vafa bridge serve`: its Content-Length checked, its JSON parsed
into one flat object, or a sentence saying what is wrong (docs/ecr.md section 9). Pure: bytes
and header values in, a dict or a sentence out; the handler (web.py) does the reading.

    >>> parse_body(b'{"amount": 1200000, "invoice": "INV-1", "cashier": "7"}')["amount"]
    1200000
    >>> parse_body(b'[1, 2]')
    'a JSON object is required, not an array'
"""

import json
import re

MAX_BODY = 65536
MAX_DEPTH = 8  # JSON nesting, checked before parsing: the parser recurses once per level

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "true or false"}


def json_depth(data):
    """How deeply the arrays and objects of JSON text (bytes) nest, found without parsing it:
    brackets inside strings do not count.

    >>> json_depth(b'{"text": "[[[", "a": [1, {"b": 2}]}')
    3
    """
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub(b'""', data)):
        if bracket in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def kind(value):
    return "null" if value is None else _KINDS.get(type(value), "a number")


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def value_problem(body):
    """What is wrong with the values of a parsed body, or None: each must be a string, a number,
    true, false or null (the codec then checks it against its field)."""
    for key, value in body.items():
        if isinstance(value, (dict, list)):
            return f"{key!r} must be a string or a number, not {kind(value)}"
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"{key!r} is not Unicode text (it has a lone surrogate)"
    return None


def content_length(headers):
    """The body's size from its Content-Length header, or a sentence saying why there is none
    to trust (missing, two different ones, not a number, out of range, chunked)."""
    if "Transfer-Encoding" in headers:
        return "Transfer-Encoding is not supported: send the body with a Content-Length"
    lengths = {value.strip() for value in headers.get_all("Content-Length", ())}
    if not lengths:
        return "Content-Length is required"
    if len(lengths) > 1:
        return f"conflicting Content-Length headers: {', '.join(sorted(lengths))}"
    text = lengths.pop()
    if not (text.isascii() and text.isdigit()):
        return f"bad Content-Length {text!r}: a number of bytes is required"
    size = int(text)
    if not 0 < size <= MAX_BODY:
        return f"a body of 1..{MAX_BODY} bytes is required; Content-Length says {size}"
    return size


def parse_body(data):
    """The JSON object in `data` (bytes), or a sentence saying what is wrong with it."""
    depth = json_depth(data)
    if depth > MAX_DEPTH:
        return f"JSON nested {depth} levels deep (at most {MAX_DEPTH}): a flat object is required"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"the body is not UTF-8: {e.reason} at byte {e.start}"
    try:
        body = json.loads(text, parse_constant=_no_constant)
    except ValueError as e:  # JSONDecodeError; also an integer of over 4300 digits
        return f"not JSON: {e}"
    if not isinstance(body, dict):
        return f"a JSON object is required, not {kind(body)}"
    return body
