from agent.protocol.errors import DecodeError, ProtocolError


def test_error_names_field_and_offset():
    e = DecodeError("length out of range", field=2, offset=7)
    assert str(e) == "length out of range (field 2, offset 7)"
    assert e.field == 2 and e.offset == 7
    assert isinstance(e, ProtocolError) and isinstance(e, ValueError)
