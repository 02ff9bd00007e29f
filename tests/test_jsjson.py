"""The JavaScript-compatible serializer, checked by hand and against Node's JSON.stringify."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.providers.hypetech import jsjson
from tests.node_js import requires_node


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (Decimal("200.0"), "200"),
        (Decimal("200.50"), "200.5"),
        (Decimal("1e21"), "1e+21"),
        (Decimal("1e20"), "100000000000000000000"),
        (Decimal("-0"), "0"),
        (Decimal("-0.0"), "0"),
        (Decimal("0.1"), "0.1"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("0.0000001"), "1e-7"),
        (Decimal("1.5e-10"), "1.5e-10"),
        (Decimal("123456789012345678901234"), "1.2345678901234569e+23"),
        (Decimal("1e400"), "null"),
        (10**400, "null"),
        (12345678901234567890, "12345678901234567000"),
        (-5, "-5"),
    ],
)
def test_numbers_are_formatted_as_javascript_formats_the_double(number, expected):
    assert jsjson.stringify(number) == expected


def test_integer_like_keys_come_first_in_ascending_order():
    value = {"b": 1, "10": 2, "a": 3, "2": 4, "01": 5, "4294967295": 6, "4294967294": 7}
    assert jsjson.stringify(value) == (
        '{"2":4,"10":2,"4294967294":7,"b":1,"a":3,"01":5,"4294967295":6}'
    )


def test_strings_keep_non_ascii_slash_and_line_separators_but_escape_controls():
    text = 'Jo\u00e3o / \u2028\u2029 "q" \\ \n\t\x01\x7f \ud800 \U0001f600'
    assert jsjson.stringify(text) == (
        '"Jo\u00e3o / \u2028\u2029 \\"q\\" \\\\ \\n\\t\\u0001\x7f \\ud800 \U0001f600"'
    )


def test_compact_nesting():
    assert jsjson.stringify({"a": [1, {"b": None}, True, False, []], "c": {}}) == (
        '{"a":[1,{"b":null},true,false,[]],"c":{}}'
    )


# --- against Node -----------------------------------------------------------------------

NUMBER_TOKENS = st.one_of(
    st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
STRINGS = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
KEYS = st.one_of(STRINGS, st.integers(0, 2**33).map(str), st.sampled_from(["01", "-1", "1.5"]))


def _string_token(text: str, ascii_only: bool) -> str:
    has_surrogate = any("\ud800" <= c <= "\udfff" for c in text)
    return json.dumps(text, ensure_ascii=ascii_only or has_surrogate)


def _json_text(draw_from: st.DrawFn, depth: int = 0) -> str:
    choice = draw_from(st.integers(0, 6 if depth < 3 else 3))
    if choice == 0:
        return draw_from(NUMBER_TOKENS)
    if choice == 1:
        return _string_token(draw_from(STRINGS), draw_from(st.booleans()))
    if choice == 2:
        return draw_from(st.sampled_from(["true", "false", "null"]))
    if choice == 3:
        return draw_from(NUMBER_TOKENS)
    if choice == 4:
        items = draw_from(st.integers(0, 4))
        return "[" + ", ".join(_json_text(draw_from, depth + 1) for _ in range(items)) + "]"
    size = draw_from(st.integers(0, 5))
    members = [
        f"{_string_token(draw_from(KEYS), False)} : {_json_text(draw_from, depth + 1)}"
        for _ in range(size)
    ]
    return "{ " + ",\n ".join(members) + " }"


json_texts = st.composite(lambda draw: _json_text(draw))()


@requires_node
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=json_texts)
def test_matches_node_json_stringify_on_generated_bodies(node_stringify, text):
    parsed = json.loads(text, parse_float=Decimal)
    assert jsjson.stringify(parsed) == node_stringify(text)
