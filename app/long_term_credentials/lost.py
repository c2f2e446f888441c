"""After a change whose AWS answer was lost: remember what was there before; the next page says what AWS did."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import flash

from ..domain import LostAnswer
from ..errors import AwsUnavailable
from ..sessions import portal


def remember(kind: str, before: list[str], target: str | None = None) -> None:
    """Keep what AWS listed before the lost call (IDs), and the one thing it was about, if any."""
    portal().keep_lost_answer(kind, LostAnswer(tuple(before), target))


@contextmanager
def watch(kind: str | None = None, before: list[str] | None = None, target: str | None = None) -> Iterator[None]:
    """Should AWS's answer to the change inside be lost, remember what was there (for `kind`) and say so.

    Wraps the audit attempt, which records the outcome as unknown before the 503 page tells the person.
    """
    try:
        yield
    except AwsUnavailable as err:
        if not err.may_have_acted:
            raise
        if kind is not None:
            remember(kind, before or [], target)
        raise AwsUnavailable.answer_lost() from None


def pending(kind: str) -> bool:
    """Tell whether a lost call of this kind still waits to be found out."""
    return portal().lost_answer(kind) is not None


def settle(kind: str, now: list[str]) -> tuple[list[str], str | None] | None:
    """Compare with what AWS lists now; return (IDs new since the lost call, its target), None if nothing was lost.

    The memory is dropped: the page that asks says the outcome once.
    """
    held = portal().lost_answer(kind)
    if held is None:
        return None
    portal().drop_lost_answer(kind)
    return [item for item in now if item not in held.before], held.target


def say(success: str | None, nothing: str | None) -> None:
    """Flash what AWS turned out to have done (or not done)."""
    if success:
        flash(success, "success")
    elif nothing:
        flash(nothing, "info")
