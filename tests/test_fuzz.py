"""Bad input everywhere: never a 500, never reflected unescaped, always a clear message, and no AWS call on junk."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pages import assert_page
from werkzeug.datastructures import MultiDict
from wtforms import Form, StringField

from app.forms import code_field
from app.redirects import safe_next
from conftest import Clock, code, operations

FUZZ = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Markup that would create an element or attribute named fuzzmark* if the portal echoed it unescaped.
PAYLOADS = [
    "<fuzzmarktag>", "\"><fuzzmarktag x=1>", "' fuzzmarkattr='1", "\" fuzzmarkattr=\"1",
    "<img src=x fuzzmarkattr=1>", "</textarea><fuzzmarktag>", "<script>fuzzmark()</script>",
    "javascript:fuzzmark()", "{{ 7*7 }}fuzzmark", "%(fuzzmark)s", "fuzzmark\r\nSet-Cookie: fuzz=1",
]
_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=80)  # any character but surrogates
values = st.one_of(
    _text,
    st.builds(lambda a, p, b: a + p + b, _text, st.sampled_from(PAYLOADS), _text),
    st.sampled_from(["", " ", "\x00", "\x00123456", "123456\x00", "１２３４５６", "١٢٣٤٥٦", "12345６",
                     "123 456", "123-456", "-123456", "0x1E240", "1e5", "123456" * 50, "A" * 5000,
                     "AKIA" + "\u200b" * 16, "\u202eAKIAABCDEFGHIJKLMNOP", "null", "[]", "{}", "true"]),
)
FORM_POSTS = ["/login", "/enroll/verify", "/credentials", "/device/replace", "/enroll/resync"]
fields = st.one_of(values, st.lists(values, min_size=2, max_size=3))  # a list repeats the field


_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}


class _Tags(HTMLParser):
    """Collect every element and attribute name on a page."""

    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.names.add(tag)
        for name, value in attrs:
            self.names.add(name)
            if name in _URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.names.add("fuzzmark-javascript-url")


def assert_handled(page) -> str:
    """No 500, nothing injected or evaluated, a 400 always says what to fix, redirects stay on the portal."""
    body = page.get_data(as_text=True)
    assert page.status_code in {200, 302, 400, 401, 403, 404, 413}, (page.status_code, body[:800])
    parser = _Tags()
    parser.feed(body)
    assert not any(name.startswith("fuzzmark") for name in parser.names)
    assert "49fuzzmark" not in body  # a template expression in the input was not evaluated
    assert "fuzz=1" not in page.headers.get("Set-Cookie", "") and "Set-Cookie: fuzz" not in str(page.headers)
    if page.status_code == 400:
        assert re.search(r'class="(problem|field-error)"|Next step', body), body[:800]
    if page.status_code == 302:
        assert urlsplit(page.headers["Location"]).netloc in ("", "localhost")
    return body


def form(**items) -> MultiDict:
    """Form data in which a list value repeats its field."""
    data = MultiDict()
    for name, value in items.items():
        for one in value if isinstance(value, list) else [value]:
            data.add(name, one)
    return data


def shaped(value) -> bool:
    """Whether a field (its first value, as WTForms reads it) looks like a code once spaces are dropped."""
    first = value[0] if isinstance(value, list) else value
    return bool(re.fullmatch(r"[0-9]{6}", re.sub(r"[\s-]", "", first)))


def assert_junk_never_reached_aws(aws_calls, *code_fields) -> None:
    """A malformed code never costs an AWS code check (nor a guess against the person's device)."""
    if not all(shaped(value) for value in code_fields):
        assert not {"EnableMFADevice", "ResyncMFADevice", "GetSessionToken"} & set(operations(aws_calls))


def enrolled(person):
    """Enroll the person and move past the codes enrollment spent."""
    person.enroll_fully()
    Clock.advance(2)
    return f"arn:aws:iam::123456789012:mfa/{person.user.name}"


@FUZZ
@given(key_id=fields, secret=fields, extra=values)
def test_sign_in_form(client, moto, aws_calls, key_id, secret, extra):
    aws_calls.clear()
    page = client.post("/login", data=form(access_key_id=key_id, secret_access_key=secret, unexpected=extra))
    assert_handled(page)
    if page.status_code == 400:
        assert operations(aws_calls) == []


@FUZZ
@given(target=values)
def test_sign_in_next_parameter(client, person, target):
    page = client.post(f"/login?next={quote(target, safe='')}", data={
        "access_key_id": person.user.access_key_id, "secret_access_key": person.user.secret_access_key})
    assert_handled(page)
    location = page.headers.get("Location", "/")
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location


@FUZZ
@given(first=fields, second=fields)
def test_verify_form(client, person, aws_calls, first, second):
    if person.seed is None:
        person.sign_in()
        person.start_enrollment()
    aws_calls.clear()
    assert_handled(client.post("/enroll/verify", data=form(code1=first, code2=second)))
    assert_junk_never_reached_aws(aws_calls, first, second)
    # Still enrolling: junk did not end the setup.
    assert_page(client.get("/enroll/scan"), 200, "Add this account to your authenticator app")


@FUZZ
@given(device=fields, first=fields, second=fields)
def test_resync_form(client, person, aws_calls, device, first, second):
    if person.seed is None:
        enrolled(person)
    aws_calls.clear()
    assert_handled(client.post("/enroll/resync", data=form(device=device, code1=first, code2=second)))
    assert_junk_never_reached_aws(aws_calls, first, second)


@FUZZ
@given(device=fields, token=fields, duration=fields, profile=fields, good_device=st.booleans())
def test_credentials_form(client, person, aws_calls, device, token, duration, profile, good_device):
    serial = enrolled(person) if person.seed is None else f"arn:aws:iam::123456789012:mfa/{person.user.name}"
    aws_calls.clear()
    page = client.post("/credentials", data=form(device=serial if good_device else device, code=token,
                                                 duration=duration, profile=profile))
    assert_handled(page)
    assert_junk_never_reached_aws(aws_calls, token)


@FUZZ
@given(device=fields, token=fields)
def test_replace_form(client, person, aws_calls, device, token):
    if person.seed is None:
        enrolled(person)
    aws_calls.clear()
    assert_handled(client.post("/device/replace", data=form(device=device, code=token)))
    assert_junk_never_reached_aws(aws_calls, token)


@FUZZ
@given(profile=values, path=st.sampled_from(["/credentials/result", "/credentials/download"]))
def test_profile_parameter(client, person, profile, path):
    if person.seed is None:
        enrolled(person)
        person.get_credentials(token=code(person.seed, 0))
    page = client.get(f"{path}?profile={quote(profile, safe='')}")
    assert_handled(page)
    disposition = page.headers.get("Content-Disposition", "")
    assert re.fullmatch(r'(attachment; filename="credentials-[A-Za-z0-9_.-]{1,64}")?', disposition)


@FUZZ
@given(segment=values, prefix=st.sampled_from(["/", "/enroll/", "/credentials/", "/admin/users/", "/static/"]))
def test_any_path(client, person, segment, prefix):
    if person.seed is None:
        person.sign_in()
    assert_handled(client.get(prefix + quote(segment, safe="")))


@FUZZ
@given(path=st.sampled_from(FORM_POSTS), body=st.binary(max_size=400), content_type=st.sampled_from([
    "application/x-www-form-urlencoded", "application/json", "text/plain", "multipart/form-data",
    "multipart/form-data; boundary=fuzz", "application/x-www-form-urlencoded; charset=latin-1"]))
def test_raw_bodies(client, person, path, body, content_type):
    if person.seed is None:
        enrolled(person)
    assert_handled(client.post(path, data=body, content_type=content_type))


def test_files_and_json_where_text_belongs(client, person):
    serial = enrolled(person)
    upload = client.post("/credentials", content_type="multipart/form-data",
                         data={"device": serial, "code": (io.BytesIO(b"123456"), "code.txt")})
    assert "does not take file uploads" in assert_handled(upload)
    for document in ({"device": serial, "code": "123456"}, [1, 2], {"device": [1], "code": {"a": 1}}):
        assert "only what its own forms send" in assert_handled(client.post("/credentials", json=document))


json_documents = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | _text,
                              lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=4),
                              max_leaves=8)


@FUZZ
@given(path=st.sampled_from(FORM_POSTS), document=st.one_of(json_documents, st.dictionaries(
    st.sampled_from(["device", "code", "code1", "code2", "duration", "profile", "access_key_id"]),
    json_documents, max_size=5)))
def test_json_bodies(client, person, path, document):
    if person.seed is None:
        enrolled(person)
    assert_handled(client.post(path, json=document))


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=40))
def test_safe_next_only_ever_returns_a_path_on_this_site(target):
    result = safe_next(target)
    if result is not None:
        parts = urlsplit(result)
        assert result == target
        assert result.startswith("/") and not result.startswith("//")
        assert not parts.scheme and not parts.netloc
        assert "\\" not in result and not any(ord(c) < 32 or ord(c) == 127 for c in result)


@settings(max_examples=200, deadline=None, database=None)
@given(values)
def test_codes_are_six_ascii_digits_or_refused(raw):
    # What every code field lets through to a view: six ASCII digits, nothing else.
    form = CodeOnly(formdata=MultiDict({"code": raw}))
    if form.validate():
        assert re.fullmatch(r"[0-9]{6}", form.code.data)


@given(st.from_regex(r"\A[0-9]{3}[ -]?[0-9]{3}\Z"))
def test_codes_as_apps_show_them_are_accepted(raw):
    form = CodeOnly(formdata=MultiDict({"code": raw}))
    assert form.validate() and form.code.data == raw.replace(" ", "").replace("-", "")


class CodeOnly(Form):
    """A bare form with the portal's code field, as every code form declares it."""

    code = StringField(**code_field())
