"""Every string marked for translation has a finished Japanese entry, checked against a fresh extraction."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
# The same keywords as the Makefile's BABEL_KEYWORDS: lazy_gettext marks form labels and error titles.
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "lazy_ngettext": (1, 2),
            "lazy_pgettext": ((1, "c"), 2)}
LANGUAGES = sorted(p.name for p in (ROOT / "translations").iterdir() if (p / "LC_MESSAGES").is_dir())


def marked_strings() -> dict[tuple, str]:
    """Extract every marked (message, context) from the code and templates now, with where it was found."""
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        found.setdefault((message, context), f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted():
    """The marked strings of the working tree, extracted once for this module."""
    return marked_strings()


def catalog(language: str):
    """Read one language's .po file."""
    with open(ROOT / "translations" / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


def test_japanese_is_there():
    assert "ja" in LANGUAGES


def test_extraction_finds_templates_and_python(extracted):
    places = {where.split(":")[0].split("/")[0] for where in extracted.values()}
    assert {"templates", "app"} <= places
    assert ("Sign in", None) in extracted  # a template string
    assert ("Enter your access key ID.", None) in extracted  # a form validator's lazy_gettext
    assert ("From", "start of a date range") in extracted  # one English word, two Japanese ones


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_string_has_a_finished_translation(extracted, language):
    entries = catalog(language)
    problems = []
    for (message, context), where in extracted.items():
        msgid = message[0] if isinstance(message, tuple) else message
        entry = entries.get(msgid, context=context)
        strings = (entry.string if isinstance(entry.string, tuple) else (entry.string,)) if entry else ()
        if entry is None or not all(strings):
            problems.append(f"untranslated: {msgid!r} ({where})")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r} ({where})")
    assert not problems, "run `make translations-update` and translate:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_their_placeholders(language):
    """A translation may reorder %(name)s placeholders but never invent or mistype one."""
    errors = [f"{message.id!r}: {', '.join(map(str, errs))}" for message, errs in catalog(language).check()]
    assert not errors, "\n".join(errors)


# Calls whose arguments people read, and which of them: positions, then keyword names.
_WORDS_FOR_PEOPLE = {
    "flash": ((0,), ()), "ValidationError": ((0,), ()),
    "InputRequired": ((0,), ("message",)), "DataRequired": ((0,), ("message",)),
    "EqualTo": ((1,), ("message",)), "Regexp": ((2,), ("message",)), "Length": ((), ("message",)),
    "NumberRange": ((), ("message",)), "AnyOf": ((1,), ("message",)),
    **{field: ((0,), ("label", "description")) for field in (
        "StringField", "PasswordField", "TextAreaField", "SelectField", "IntegerField", "BooleanField",
        "RadioField", "DateField", "SubmitField")},
    # The portal's domain errors: (message, next step).
    **{error: ((0, 1), ("message", "next_step")) for error in (
        "PortalError", "InvalidInput", "CodeRejected", "CodeAlreadyUsed", "DeviceProblem", "LimitReached",
        "NotThere", "TryShortly", "StepUpNeeded", "AlreadyEnrolled", "SetupExpired", "SessionEnded")},
}


def _plain_words(node) -> bool:
    """Tell whether an argument is text written in the code (a literal or an f-string), not a gettext call."""
    import ast

    if isinstance(node, ast.JoinedStr):  # words between the {}: "{err.message} {err.next_step}" has none
        return any(_plain_words(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(ch.isalpha() for ch in node.value)
    if isinstance(node, ast.BinOp):
        return _plain_words(node.left) or _plain_words(node.right)
    return False


def test_no_words_for_people_are_left_unmarked_in_the_code():
    """Labels, validation messages, flashes and domain errors in app/ go through gettext, so Japanese sees them."""
    import ast

    unmarked = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            positions, keywords = _WORDS_FOR_PEOPLE.get(name, ((), ()))
            arguments = [node.args[i] for i in positions if i < len(node.args)]
            arguments += [k.value for k in node.keywords if k.arg in keywords]
            unmarked += [f"{path.relative_to(ROOT)}:{arg.lineno} {name}" for arg in arguments if _plain_words(arg)]
    assert unmarked == []



def _entries(text: str):
    """Yield (context, message id) of each entry of a .po text, continuation lines joined."""
    context, message = None, None
    for line in [*text.splitlines(), ""]:
        if message is not None and line.startswith('"'):
            message += line
            continue
        if message is not None:
            yield context, message
            context, message = None, None
        if line.startswith("msgctxt "):
            context = line
        elif line.startswith("msgid "):
            message = line


@pytest.mark.parametrize("path", [*(f"{lang}/LC_MESSAGES/messages.po" for lang in LANGUAGES), "messages.pot"])
def test_no_message_is_in_a_catalog_twice(path):
    # Catalogs merge as a union (.gitattributes): two branches adding one string leave two entries, which
    # pybabel compiles silently, keeping whichever comes last.
    seen, twice = set(), []
    for entry in _entries((ROOT / "translations" / path).read_text(encoding="utf-8")):
        if entry in seen:
            twice.append(entry)
        seen.add(entry)
    assert not twice
