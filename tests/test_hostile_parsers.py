"""Hypothesis at the doors: the signature verifiers and the body and amount parsers only
ever accept or raise their own domain error, whatever bytes arrive."""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import money
from app.errors import InvalidAmount, InvalidRequest, InvalidSignature, UnknownCurrency
from app.providers import base, schemas
from app.providers.hypetech import signature as hypetech_signature
from app.providers.upside import auth as upside_auth
from app.providers.upside import win_units
from app.providers.upside.errors import AuthenticationFailed

FAST = settings(max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "10")) * 10, deadline=None)
SECRET = "s3cret"
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@FAST
@given(body=st.binary(max_size=512), given_sig=st.one_of(st.none(), st.text(max_size=80)))
def test_igpx_verifier_only_accepts_the_right_signature(body, given_sig):
    right = base.hmac_sha256_hex(SECRET, body)
    try:
        base.check_hex_signature(SECRET, body, given_sig)
    except InvalidSignature:
        assert given_sig is None or given_sig.strip().lower() != right
    else:
        assert given_sig is not None and given_sig.strip().lower() == right


@FAST
@given(raw=st.binary(max_size=512) | json_values.map(lambda v: json.dumps(v, default=str).encode()))
def test_hypetech_verifier_refuses_forgeries_and_never_crashes(raw):
    url = "https://wallet.example.com/hypetech/register"
    with contextlib.suppress(InvalidSignature):
        hypetech_signature.verify(SECRET, url, raw, "0" * 64)
    hypetech_signature.verify(SECRET, url, raw, hypetech_signature.sign(SECRET, url, raw))


@FAST
@given(
    headers=st.dictionaries(
        st.sampled_from(list(upside_auth.HEADERS.values())), st.text(max_size=60), max_size=5
    ),
    body=st.binary(max_size=256),
)
def test_upside_credentials_and_signature_refuse_garbage(headers, body):
    try:
        credentials = upside_auth.Credentials.from_headers(headers)
        upside_auth.check_timestamp(credentials.timestamp, datetime.now(UTC), 30)
        upside_auth.check_signature(SECRET, credentials, body)
        upside_auth.player_of(credentials.jwt, SECRET)
    except AuthenticationFailed:
        return
    raise AssertionError("random headers were accepted")


@FAST
@given(token=st.text(max_size=200))
def test_a_forged_b3_jwt_is_refused(token):
    try:
        upside_auth.player_of(token, SECRET)
    except AuthenticationFailed:
        return
    raise AssertionError(f"accepted {token!r}")


@FAST
@given(raw=st.binary(max_size=512))
def test_parse_json_object_accepts_objects_or_raises_invalid_request(raw):
    try:
        parsed = schemas.parse_json_object(raw)
    except InvalidRequest:
        return
    assert isinstance(parsed, dict)


@FAST
@given(value=json_values.filter(lambda v: isinstance(v, dict)))
def test_parse_json_object_round_trips_json_objects_exactly(value):
    parsed = schemas.parse_json_object(json.dumps(value, default=str).encode())
    assert parsed == json.loads(json.dumps(value, default=str), parse_float=Decimal)


amounts = st.one_of(
    json_values,
    st.floats(),
    st.from_regex(r"-?[0-9]{0,45}(\.[0-9]{0,45})?([eE][-+]?[0-9]{1,12})?", fullmatch=True),
    st.decimals(),
)


@FAST
@given(value=amounts, currency=st.sampled_from(["USD", "JPY", "BHD", "WIN", "XXX", ""]))
def test_parse_amount_returns_an_exact_bounded_amount_or_refuses(value, currency):
    try:
        amount = money.parse_amount(value, currency)
    except (InvalidAmount, UnknownCurrency):
        return
    assert isinstance(amount, Decimal) and amount.is_finite()
    assert 0 <= amount < money.MAX_AMOUNT
    assert amount == amount.quantize(Decimal(1).scaleb(-money.exponent(currency)))
    assert not isinstance(value, float | bool)


@FAST
@given(value=amounts)
def test_parse_atomic_returns_an_exact_integer_or_refuses(value):
    try:
        atomic = win_units.parse_atomic(value, "betAmount")
    except InvalidAmount:
        return
    assert 0 <= atomic <= win_units.MAX_ATOMIC and str(atomic) == str(value)


@FAST
@given(value=json_values)
def test_check_storable_json_refuses_only_with_invalid_request(value):
    with contextlib.suppress(InvalidRequest):
        schemas.check_storable_json(value, "gameData")
