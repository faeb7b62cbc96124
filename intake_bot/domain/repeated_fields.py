"""A field given more than once on one form: settled to one value, flagged, or put to the sender.

Readers keep the first value given for a field and every later one as a repeat (a row filled
in twice, a label merged over two rows, an older label beside today's), each marked with whether
it came under the field's own label or key or under a loose alias ("Email", "Region", "Name")
that a letterhead, a sign-off box or a notes column also uses. Answers are compared by what
they mean, as the field reads them (01/04/2016 is 1 April 2016; "SUS, HES" is "HES; SUS").

- Answers that mean the same, or say nothing ("N/A", an empty prompt), are one answer.
- The field's own label wins over an alias: the answer is the first given under it.
- Two different answers under the field's own label are a problem for the sender: the register
  decides who receives NHS data, so the bot does not pick one.
- An alias answering differently is flagged for staff: it is most likely another box's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace

from intake_bot.domain import values as v
from intake_bot.domain.fields import FIELDS_BY_KEY, Field
from intake_bot.domain.rawform import RawForm, RawValue

# Long enough that two long values differing near the end are still told apart.
_COMPARED_CHARS = 2_000
Given = list[tuple[RawValue, bool]]  # the answers given for a field: (value, under its own label)
Reader = Callable[[Field, RawValue], object]  # a value as the field reads it; ValueError if not


def settle_repeats(form: RawForm) -> tuple[RawForm, dict[str, Given]]:
    """`form` with each repeated field's answer chosen, and every answer given for those fields
    (for `weigh`). The answer: the first under the field's own label, else the first given."""
    if not form.repeats:
        return form, {}
    values = dict(form.values)
    answers: dict[str, Given] = {}
    for key, later in form.repeats.items():
        first = (form.values.get(key), key not in form.loose)
        given = [(raw, own) for raw, own in (first, *later) if _given(raw)]
        if given:
            values[key] = _chosen(given)
            answers[key] = given
    return replace(form, values=values), answers


@dataclass(frozen=True)
class Clash:
    field: Field
    shown: list[str]  # the different answers, as quoted to a person, in form order
    for_sender: bool  # two under the field's own label: the sender must say which

    def note(self) -> str:
        """For staff, when an alias answered differently."""
        return f"{self.field.label}: also given as {'; '.join(self.shown[1:])} (not used)"


def weigh(answers: Mapping[str, Given], read: Reader) -> Iterator[Clash]:
    """The fields whose answers differ in meaning."""
    for key, given in answers.items():
        field = FIELDS_BY_KEY[key]
        # An answer the field cannot read is its own problem, not a second answer to settle.
        own = _distinct(field, [raw for raw, is_own in given if is_own], read, readable=True)
        if len(own) > 1:
            yield Clash(field, own, for_sender=True)
            continue
        every = _distinct(field, [_chosen(given), *(raw for raw, _ in given)], read)
        if len(every) > 1:
            yield Clash(field, every, for_sender=False)


def _chosen(given: Given) -> RawValue:
    """The answer used: the first under the field's own label, else the first given."""
    return next((raw for raw, own in given if own), given[0][0])


def one_value_expected(count: int) -> str:
    """What the sender is asked for when a field was given `count` different values."""
    return f"one value: the form gives {count} different ones, so fill this in once"


def _distinct(
    field: Field, raws: list[RawValue], read: Reader, *, readable: bool = False
) -> list[str]:
    """The answers that differ in meaning, as quoted; `readable`: only those the field reads."""
    found: dict[object, str] = {}
    for raw in raws:
        meaning = _meaning(field, raw, read)
        if meaning is not _UNREADABLE or not readable:
            found.setdefault(_written(raw) if meaning is _UNREADABLE else meaning, v.display(raw))
    return list(found.values())


_UNREADABLE = object()


def _written(raw: RawValue) -> str:
    """An unreadable answer compared as written, case and spacing aside."""
    return v.display(raw, limit=_COMPARED_CHARS).casefold()


def _meaning(field: Field, raw: RawValue, read: Reader) -> object:
    try:
        value = read(field, raw)
    except ValueError:
        return _UNREADABLE
    if isinstance(value, list):
        return tuple(sorted(str(item).casefold() for item in value))
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    return value


def _given(raw: RawValue) -> bool:
    return not (v.is_blank(raw) or v.is_placeholder(raw))
