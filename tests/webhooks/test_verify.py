"""Signature verification: a known vector, every single-byte corruption fails, constant-time comparison."""

from __future__ import annotations

import hmac
from typing import Any

import pytest

from calypso_async import CalypsoError, WebhookPayloadError, WebhookSignatureError
from calypso_async.webhooks import construct_event, header_value, parse_body, verify_signature

from .conftest import BODY, PUBLIC, SECRET, SIGN, sign, signed_headers


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_known_vector_verifies() -> None:
    assert sign(BODY) == SIGN
    assert verify_signature(BODY, SIGN, SECRET) is True


@pytest.mark.parametrize("index", [0, 1, 57, len(BODY) // 2, len(BODY) - 2, len(BODY) - 1])
def test_one_flipped_body_byte_fails(index: int) -> None:
    assert verify_signature(flip(BODY, index), SIGN, SECRET) is False


def test_every_flipped_body_byte_fails() -> None:
    assert not any(verify_signature(flip(BODY, i), SIGN, SECRET) for i in range(len(BODY)))


def test_every_changed_signature_character_fails() -> None:
    for i, char in enumerate(SIGN):
        other = "0" if char != "0" else "1"
        assert verify_signature(BODY, SIGN[:i] + other + SIGN[i + 1 :], SECRET) is False


def test_changed_secret_fails() -> None:
    secret = SECRET.encode()
    for i in range(len(secret)):
        assert verify_signature(BODY, SIGN, flip(secret, i).decode()) is False
    assert verify_signature(BODY, SIGN, SECRET + "0") is False
    assert verify_signature(BODY, SIGN, SECRET[:-1]) is False


def test_appended_or_truncated_body_fails() -> None:
    assert verify_signature(BODY + b" ", SIGN, SECRET) is False
    assert verify_signature(BODY + b"\n", SIGN, SECRET) is False
    assert verify_signature(BODY[:-1], SIGN, SECRET) is False


@pytest.mark.parametrize("bad", ["", "   ", SIGN[:-1], SIGN[:64], SIGN + "0", SIGN + SIGN])
def test_empty_or_wrong_length_signature_fails(bad: str) -> None:
    assert verify_signature(BODY, bad, SECRET) is False


def test_empty_secret_never_verifies() -> None:
    assert verify_signature(BODY, sign(BODY, ""), "") is False


def test_tolerates_hex_case_and_surrounding_whitespace() -> None:
    assert verify_signature(BODY, SIGN.upper(), SECRET)
    assert verify_signature(BODY, f"  {SIGN}\r\n", SECRET)
    assert verify_signature(BODY, f"\t{SIGN.upper()} ", SECRET)


@pytest.mark.parametrize(
    "bad",
    [
        f"sha512={SIGN}",
        f"{SIGN[:64]} {SIGN[64:]}",
        f"\u00a0{SIGN}",  # non-ASCII whitespace is not "surrounding whitespace"
        SIGN.replace("a", "\uff41"),  # full-width letters must not fold into hex digits
        f"0x{SIGN}",
        f'"{SIGN}"',
    ],
)
def test_nothing_else_is_tolerated(bad: str) -> None:
    assert verify_signature(BODY, bad, SECRET) is False


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert verify_signature(BODY, SIGN, SECRET)
    assert not verify_signature(BODY, "00" * 64, SECRET)
    assert not verify_signature(BODY, "", SECRET)
    assert len(calls) == 3  # every verification, even of an empty header, goes through compare_digest
    construct_event(BODY, signed_headers(BODY), SECRET)
    assert len(calls) == 4


def test_str_body_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="raw_body must be the bytes"):
        verify_signature(BODY.decode(), SIGN, SECRET)  # type: ignore[arg-type]


def test_memoryview_and_bytearray_bodies() -> None:
    assert verify_signature(bytearray(BODY), SIGN, SECRET)
    assert verify_signature(memoryview(BODY), SIGN, SECRET)


# ------------------------------------------------------------------------------------ construct_event


def test_construct_event_verifies_and_parses() -> None:
    event = construct_event(BODY, {"Sign": SIGN}, SECRET)
    assert event.type == "INVOICE_PAID"
    assert event.request_id == "bf9348b7-2c14-46d7-868c-b597852da319"


@pytest.mark.parametrize("name", ["Sign", "sign", "SIGN", "sIgN"])
def test_headers_are_case_insensitive(name: str) -> None:
    assert construct_event(BODY, {name: SIGN}, SECRET).id == "1"
    assert construct_event(BODY, [(name, SIGN)], SECRET).id == "1"


def test_aiohttp_multidict_headers() -> None:
    from multidict import CIMultiDict, CIMultiDictProxy

    headers = CIMultiDictProxy(CIMultiDict([("sign", SIGN), ("KEY", PUBLIC)]))
    assert construct_event(BODY, headers, SECRET, public_key=PUBLIC).id == "1"
    assert header_value(headers, "Key") == PUBLIC


def test_missing_sign_header() -> None:
    with pytest.raises(WebhookSignatureError, match="no 'Sign' header"):
        construct_event(BODY, {"Key": PUBLIC}, SECRET)
    with pytest.raises(WebhookSignatureError, match="no 'Sign' header"):
        construct_event(BODY, {"Sign": "  "}, SECRET)


def test_wrong_sign_header() -> None:
    with pytest.raises(WebhookSignatureError, match="does not match"):
        construct_event(flip(BODY, 10), {"Sign": SIGN}, SECRET)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        construct_event(BODY, {"Sign": SIGN}, "another-secret")


def test_empty_secret_is_refused() -> None:
    with pytest.raises(WebhookSignatureError, match="no webhook secret"):
        construct_event(BODY, {"Sign": sign(BODY, "")}, "")


def test_conflicting_duplicate_sign_headers_are_refused() -> None:
    with pytest.raises(WebhookSignatureError, match="several"):
        construct_event(BODY, [("Sign", SIGN), ("sign", "00" * 64)], SECRET)
    from multidict import CIMultiDict

    with pytest.raises(WebhookSignatureError, match="several"):
        construct_event(BODY, CIMultiDict([("Sign", "00" * 64), ("Sign", SIGN)]), SECRET)
    assert construct_event(BODY, [("Sign", SIGN), ("SIGN", SIGN)], SECRET).id == "1"


def test_key_header_checked_when_public_key_given() -> None:
    assert construct_event(BODY, signed_headers(BODY), SECRET, public_key=PUBLIC).id == "1"
    with pytest.raises(WebhookSignatureError, match="public key"):
        construct_event(BODY, signed_headers(BODY, key="someone-else"), SECRET, public_key=PUBLIC)
    with pytest.raises(WebhookSignatureError, match="no 'Key' header"):
        construct_event(BODY, {"Sign": SIGN}, SECRET, public_key=PUBLIC)
    # Without public_key the Key header is informational only.
    assert construct_event(BODY, signed_headers(BODY, key="anything"), SECRET).id == "1"


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"", "not valid UTF-8 JSON"),
        (b"not json", "not valid UTF-8 JSON"),
        (b"\xff\xfe{}", "not valid UTF-8 JSON"),
        (b'{"id": NaN, "eventType": "X"}', "not valid UTF-8 JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'{"eventType": "INVOICE_PAID", "data": {}}', "no usable event 'id'"),
        (b'{"id": true, "eventType": "INVOICE_PAID"}', "no usable event 'id'"),
        (b'{"id": 1, "data": {"amount": 1}}', "names no event type"),
        (b'{"id": 1, "eventType": "INVOICE_PAID", "data": [1]}', "'data' must be a JSON object"),
        (b'{"id": 1, "eventType": "INVOICE_PAID", "data": "x"}', "'data' must be a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid UTF-8 JSON"),
    ],
)
def test_signed_but_malformed_bodies_raise_payload_error(body: bytes, match: str) -> None:
    with pytest.raises(WebhookPayloadError, match=match) as caught:
        construct_event(body, {"Sign": sign(body)}, SECRET)
    assert isinstance(caught.value, CalypsoError)


def test_signature_is_checked_before_the_body_is_parsed() -> None:
    with pytest.raises(WebhookSignatureError):
        construct_event(b"not json", {"Sign": SIGN}, SECRET)


def test_parse_body_without_verification() -> None:
    assert parse_body(BODY).type == "INVOICE_PAID"


def test_errors_never_show_the_secret_or_signature() -> None:
    for body, headers in [(BODY, {"Sign": "00" * 64}), (b"x", {"Sign": sign(b"x")})]:
        with pytest.raises(CalypsoError) as caught:
            construct_event(body, headers, SECRET)
        text = f"{caught.value!s} {caught.value!r}"
        assert SECRET not in text and SIGN not in text and sign(b"x") not in text
