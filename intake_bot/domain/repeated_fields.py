"""A field given more than once on one form: settled to one value, or put to the sender.

Readers keep the first value given for a field and every later one as a repeat (a row filled
in twice, a label merged over two rows, an older label beside today's). Repeats that say the
same thing, or say nothing ("N/A", an empty prompt), are harmless. Two different answers to one
question are not: the register decides who receives NHS data, so the bot does not pick one.
"""

from __future__ import annotations

from dataclasses import replace

from intake_bot.domain import values as v
from intake_bot.domain.rawform import RawForm, RawValue

# The requester's own details, under labels as loose as "Name", "Role" and "Tel" that a form's
# sign-off box repeats for someone else: two answers here are flagged for staff, the first used.
# Every other field decides who receives what, and two answers there go back to the sender.
CONTACT_DETAILS = frozenset({"requester_name", "requester_role", "requester_phone"})
# Long enough that two long values differing near the end are still told apart.
_COMPARED_CHARS = 2_000


def settle_repeats(form: RawForm) -> tuple[RawForm, dict[str, list[str]]]:
    """`form` with each field's first given value, and the fields given different values.

    The second item maps a field's key to its different values as quoted to a person, in form
    order; a field in it is a problem for the sender (see validation)."""
    if not form.repeats:
        return form, {}
    values = dict(form.values)
    clashes: dict[str, list[str]] = {}
    for key, later in form.repeats.items():
        given = [raw for raw in (form.values.get(key), *later) if _given(raw)]
        if not given:
            continue
        values[key] = given[0]  # a prompt or "N/A" first does not hide an answer below it
        distinct: dict[str, str] = {}
        for raw in given:
            distinct.setdefault(_compared(raw), v.display(raw))
        if len(distinct) > 1:
            clashes[key] = list(distinct.values())
    return replace(form, values=values), clashes


def _given(raw: RawValue) -> bool:
    return not (v.is_blank(raw) or v.is_placeholder(raw))


def _compared(raw: RawValue) -> str:
    """What two values must share to say the same thing: case and spacing aside."""
    return v.display(raw, limit=_COMPARED_CHARS).casefold()


def one_value_expected(count: int) -> str:
    """What the sender is asked for when a field was given `count` different values."""
    return f"one value: the form gives {count} different ones, so fill this in once"
