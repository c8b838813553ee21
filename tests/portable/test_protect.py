"""Message protection (docs/protocol.md section 4) with the published X9.24-3 test keys."""

from agent.protocol import crypto, dukpt, iso8583, messages
from agent.protocol.errors import CryptoError, DecodeError, MacError, ProtocolError
from agent.protocol.protect import REQUEST, RESPONSE, mac_field, open_sealed, seal
from tests.portable.support import hexu, load_vectors, raises, unhex

V = load_vectors()["aes_dukpt_x9_24_3"]
BDK = unhex(V["bdk"])
KSN1 = unhex(V["transactions"][0]["ksn"])
CARD = "9879110000000017"
SECRETS = {
    messages.SECRET_CARD_NUMBER: CARD,
    messages.SECRET_CARD_EXPIRY: "2812",
    messages.SECRET_TERMINAL_ID: "T0000001",
}
REQUEST_0100 = {
    "t": "0100",
    "3": messages.PURCHASE_BANK,
    "4": "000001200000",
    "7": "1123101500",
    "11": "000042",
    "12": "134500",
    "13": "1123",
    "22": messages.ENTRY_CHIP,
    "25": messages.CONDITION_NORMAL,
    "42": "MERCHANT0000001",
    "49": messages.CURRENCY_IRR,
}
# The sealed 0100 above under KSN 123456789012345600000001: a golden vector for vendors.
# MTI "0100", bitmap 3238048000408805 (fields 3 4 7 11 12 13 22 25 42 49 53 62 64, checked by
# hand), the clear fields, the KSN, field 62 (LLL "048" + 48 bytes) and the 8-byte MAC.
GOLDEN_0100 = (
    "30313030323804800040880530303430303030303030303132303030303031313233313031353030"
    "3030303034323133343530303131323330353130304D45524348414E543030303030303133363412"
    "34567890123456000000013034386329094EAEA280BA48625E8A538396E5784C67FEA95A209D30A6"
    "2843510C97452E1C80FC9837A1D615AC87155B90E07F59FE16CA9C3ACB2E"
)


def host_keys(ksn):
    return dukpt.HostDukpt(BDK).keys_for(ksn)


def sealed_0100():
    return seal(REQUEST_0100, host_keys(KSN1), REQUEST, SECRETS)


def test_request_uses_published_working_keys():
    data = sealed_0100()
    # MAC: CMAC under the published MAC generation key over all but the last 8 bytes.
    mac_key = unhex(V["transactions"][0]["mac_generation_key_aes128"])
    assert crypto.aes_cmac(mac_key, data[:-8])[:8] == data[-8:]
    # Field 62: AES-CBC, zero IV, under the published data encryption key.
    message = iso8583.decode(data)
    data_key = unhex(V["transactions"][0]["data_encryption_key_aes128"])
    plain = crypto.unpad_iso9797_m2(crypto.aes_cbc_decrypt(data_key, bytes(16), message["62"]))
    assert plain == b"\x01\x10" + CARD.encode() + b"\x02\x042812\x03\x08T0000001"
    assert message["53"] == KSN1
    assert CARD.encode() not in data


def test_request_round_trip():
    message, secrets, keys = open_sealed(sealed_0100(), host_keys, REQUEST)
    assert secrets == SECRETS
    assert keys.ksn == KSN1
    for field, value in REQUEST_0100.items():
        assert message[field] == value
    assert "64" in message and "128" not in message


def test_golden_0100():
    data = sealed_0100()
    assert hexu(data[4:12]) == "3238048000408805"
    assert hexu(data) == GOLDEN_0100


def test_response_with_secondary_bitmap_uses_field_128():
    keys = host_keys(KSN1)
    response = {
        "t": "0230",
        "3": messages.PURCHASE_BANK,
        "4": "000001200000",
        "7": "1123101501",
        "11": "000043",
        "37": "000000000123",
        "39": messages.APPROVED,
        "42": "MERCHANT0000001",
        "49": messages.CURRENCY_IRR,
        "90": "0100" + "000042" + "1123101500" + "0" * 22,
    }
    data = seal(response, keys, RESPONSE)
    assert mac_field(iso8583.decode(data)) == "128"
    message, secrets, _ = open_sealed(data, lambda ksn: keys, RESPONSE)
    assert message["39"] == "00" and secrets == {}
    # A response is not accepted as a request: the keys differ by direction.
    raises(MacError, open_sealed, data, lambda ksn: keys, REQUEST)


def test_every_flipped_byte_is_refused():
    data = sealed_0100()
    for i in range(len(data)):
        forged = bytearray(data)
        forged[i] ^= 0x01
        try:
            open_sealed(bytes(forged), host_keys, REQUEST)
        except ProtocolError:
            continue
        raise AssertionError(f"byte {i} flipped and still accepted")


def test_wrong_key_is_a_mac_error():
    other = host_keys(unhex(V["transactions"][1]["ksn"]))
    e = raises(MacError, open_sealed, sealed_0100(), lambda ksn: other, REQUEST)
    assert e.field == 64


def test_missing_mac_and_ksn():
    plain = iso8583.encode(REQUEST_0100)
    assert raises(DecodeError, open_sealed, plain, host_keys).field == 64
    no_ksn = dict(REQUEST_0100, **{"64": bytes(8)})
    assert raises(DecodeError, open_sealed, iso8583.encode(no_ksn), host_keys).field == 53


def test_undecryptable_protected_data():
    keys = host_keys(KSN1)
    message = dict(REQUEST_0100)
    message["53"] = KSN1
    message["62"] = bytes(32)  # decrypts to junk: padding check fails
    message["64"] = bytes(8)
    encoded = iso8583.encode(message)
    from agent.protocol.protect import mac

    data = encoded[:-8] + mac(keys.mac_generation, encoded)
    assert raises(CryptoError, open_sealed, data, host_keys).field == 62
