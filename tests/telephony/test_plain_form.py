"""The hot path's form reading (`signature.plain_form`): the same fields as Starlette's parser,
or None (then Starlette's parser reads it), and the same signature verdict from the SDK's
validator — property-tested over generated Twilio-like forms and raw bodies."""

from __future__ import annotations

import asyncio
from urllib.parse import quote_plus, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from twilio.request_validator import RequestValidator

from services.telephony.signature import TEST_AUTH_TOKEN, plain_form

URL = "https://primaires.example/twilio/sms"


def starlette_form(body: bytes) -> dict[str, list[str]]:
    """Every field as Starlette reads it (name → its values, in order)."""

    async def read() -> dict[str, list[str]]:
        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/twilio/sms",
            "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
            "query_string": b"",
        }
        form = await Request(scope, receive).form()
        fields: dict[str, list[str]] = {}
        for name, value in form.multi_items():
            fields.setdefault(name, []).append(value)  # type: ignore[arg-type]
        return fields

    return asyncio.run(read())


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
forms = st.dictionaries(st.text(min_size=1, max_size=12), texts, max_size=8)


@settings(max_examples=400, deadline=None)
@given(forms)
def test_twilio_shaped_forms_read_as_starlette_reads_them(form: dict[str, str]) -> None:
    body = urlencode(form).encode()
    parsed = plain_form(body)
    assert parsed is not None
    assert {name: [value] for name, value in parsed.items()} == starlette_form(body)


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=60) | st.text(alphabet="ab=&;+%2A0é ", max_size=30).map(str.encode))
def test_any_body_is_read_as_starlette_or_left_to_it(body: bytes) -> None:
    parsed = plain_form(body)
    if parsed is not None:  # when it answers, it answers what Starlette reads
        assert {name: [value] for name, value in parsed.items()} == starlette_form(body)


def test_unusual_forms_are_left_to_starlette() -> None:
    assert plain_form(b"a=1&a=2") is None  # a repeated name
    assert plain_form(b"a=1;b=2") is None
    assert plain_form(b"a=1&&b=2") is None
    assert plain_form(b"a") is None
    assert plain_form(b"") == {}
    assert plain_form(b"Body=T1+75056%C3%A9&From=%2B33611") == {"Body": "T1 75056é", "From": "+33611"}


@settings(max_examples=300, deadline=None)
@given(forms, st.booleans())
def test_the_validator_gives_the_same_verdict_on_both_readings(form: dict[str, str], genuine: bool) -> None:
    validator = RequestValidator(TEST_AUTH_TOKEN)
    body = urlencode(form).encode()
    signature = validator.compute_signature(URL, form if genuine else {**form, "Body": "falsifié"})
    if not genuine and form.get("Body") == "falsifié":
        return
    from starlette.datastructures import FormData

    starlette = FormData([(name, value) for name, values in starlette_form(body).items() for value in values])
    fast = plain_form(body)
    assert fast is not None
    assert validator.validate(URL, fast, signature) == validator.validate(URL, starlette, signature) == genuine


def test_percent_encoding_in_names_and_values() -> None:
    body = ("Body=" + quote_plus("OK K7PX ; & = +") + "&" + quote_plus("Nom é") + "=x").encode()
    assert plain_form(body) == {"Body": "OK K7PX ; & = +", "Nom é": "x"}


@pytest.mark.parametrize(
    "url",
    [
        "https://primaires.example/twilio/sms",
        "https://primaires.example:443/twilio/sms",
        "http://127.0.0.1:8000/twilio/sms",
        "http://primaires.example/twilio/sms",
        "https://primaires.example:8443/base/twilio/sms",
    ],
)
def test_the_configured_url_is_one_of_the_two_the_sdk_accepts(url: str) -> None:
    """`check_plain` accepts at once a signature of the URL as configured: the SDK's `validate`
    accepts it too (it is the URL with, or without, its port)."""
    from urllib.parse import urlparse

    from twilio.request_validator import add_port, remove_port

    parsed = urlparse(url)
    assert url in (add_port(parsed), remove_port(parsed))
    validator = RequestValidator(TEST_AUTH_TOKEN)
    form = {"Body": "OK K7PX", "From": "+33611000000", "MessageSid": "SM" + "a" * 32}
    assert validator.validate(url, form, validator.compute_signature(url, form))
