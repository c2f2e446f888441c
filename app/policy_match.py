"""Match one IAM statement's Action, Resource and Condition elements against a request, as IAM does."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Negated operators and the positive test they invert.
_NEGATIONS = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
}
# String operators as (wildcards allowed, case-insensitive).
_STRING_OPERATORS = {
    "StringEquals": (False, False),
    "StringEqualsIgnoreCase": (False, True),
    "StringLike": (True, False),
}


def _element(statement: dict, name: str) -> tuple[list[str], bool]:
    """Return the patterns of Action/NotAction (or Resource/NotResource) and whether negated."""
    if (name in statement) == (f"Not{name}" in statement):
        raise ValueError(f"a statement needs exactly one of {name} and Not{name}: {statement}")
    negated = name not in statement
    values = statement[f"Not{name}" if negated else name]
    return ([values] if isinstance(values, str) else list(values)), negated


def targets(statement: dict, action: str, resource: str, ctx: Mapping[str, str], expand: bool) -> bool:
    """Tell whether a statement's action and resource elements cover this request."""
    actions, not_action = _element(statement, "Action")
    patterns, not_resource = _element(statement, "Resource")
    action_hit = _matches_any(actions, action, ctx, expand=False, ignore_case=True)
    resource_hit = _matches_any(patterns, resource, ctx, expand=expand, arn=True)
    return action_hit != not_action and resource_hit != not_resource


def _matches_any(patterns: list[str], text: str, ctx: Mapping[str, str], **options: bool) -> bool:
    """Tell whether any IAM pattern matches the whole text."""
    compiled = (_glob(pattern, ctx, **options) for pattern in patterns)
    return any(c is not None and c.fullmatch(text) is not None for c in compiled)


def conditions_hold(conditions: dict, ctx: Mapping[str, str], expand: bool) -> tuple[bool, list[str]]:
    """Judge a Condition block (every operator and key must hold) and name operators we can't judge."""
    unsupported = []
    for operator, tests in conditions.items():
        base = operator.removesuffix("IfExists")
        positive = _NEGATIONS.get(base, base)
        if positive not in (*_STRING_OPERATORS, "Bool", "Null") or operator == "NullIfExists":
            unsupported.append(operator)
            continue
        for key, wanted in tests.items():
            actual = ctx.get(key.lower())
            values = [_text(v) for v in (wanted if isinstance(wanted, list) else [wanted])]
            if positive == "Null":
                # Null tests presence itself: "true" means the key must be absent.
                holds = any((actual is None) == (v.lower() == "true") for v in values)
            elif actual is None:
                # A missing key fails a positive test, passes a negated one; ...IfExists skips it.
                holds = base != operator or base in _NEGATIONS
            else:
                hit = any(_value_matches(positive, actual, v, ctx, expand) for v in values)
                holds = hit != (base in _NEGATIONS)
            if not holds:
                return False, unsupported
    return True, unsupported


def _value_matches(operator: str, actual: str, wanted: str, ctx: Mapping[str, str], expand: bool) -> bool:
    """Compare one context value with one policy value under a positive operator."""
    if operator == "Bool":
        return actual.lower() == wanted.lower()
    wildcards, ignore_case = _STRING_OPERATORS[operator]
    pattern = _glob(wanted, ctx, expand=expand, wildcards=wildcards, ignore_case=ignore_case)
    return pattern is not None and pattern.fullmatch(actual) is not None


def _text(value: Any) -> str:
    """Render a JSON condition value as IAM compares it (JSON true is "true")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _glob(
    pattern: str,
    ctx: Mapping[str, str],
    *,
    expand: bool,
    wildcards: bool = True,
    arn: bool = False,
    ignore_case: bool = False,
) -> re.Pattern[str] | None:
    """Compile an IAM pattern to a regex; None when a policy variable has no value."""
    out = []
    i = 0
    while i < len(pattern):
        end = pattern.find("}", i) if expand and pattern.startswith("${", i) else -1
        if end != -1:
            value = _variable(pattern[i + 2 : end], ctx)
            # An unknown variable makes the pattern match nothing, as in IAM.
            if value is None:
                return None
            out.append(re.escape(value))
            i = end + 1
            continue
        char = pattern[i]
        if wildcards and char == "*":
            # In an ARN, * stays inside its colon-separated segment unless it ends one.
            out.append("[^:]*" if arn and pattern[i + 1 : i + 2] not in ("", ":") else ".*")
        elif wildcards and char == "?":
            out.append(".")
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _variable(spec: str, ctx: Mapping[str, str]) -> str | None:
    """Resolve "aws:username", "aws:username, 'default'" or the escapes *, ? and $."""
    if spec in ("*", "?", "$"):
        return spec
    key, has_default, default = spec.partition(",")
    value = ctx.get(key.strip().lower())
    return default.strip().strip("'") if value is None and has_default else value
