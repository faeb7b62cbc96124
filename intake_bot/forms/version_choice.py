"""Which version's names a form is read by, whatever it declares.

A form that declares no version is read by today's labels, or an older version's when they read
more of it (`best_reading`). One that declares a version is read by that version's names, unless
its own labels leave the form largely unread and another version's read clearly more of it: the
current blank with an old filled-in table pasted into it, or an old form re-stamped with today's
version (`read_declared`). Whole readings are compared, not label by label, so a value that
happens to be another version's label changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from intake_bot.domain.fields import FIELDS_BY_KEY
from intake_bot.domain.form_versions import FieldNames, FormVersions, Resolution, version_key
from intake_bot.domain.rawform import RawForm, Versioning

Read = Callable[[FieldNames], list[RawForm]]
FieldsIn = Callable[[list[RawForm]], int]

# Today's reading of a form that names no version is taken as it is when it leaves no label
# unread and fills at least this many fields; else older readings are tried too. Not the
# unknown labels alone: a Word reader only notes one in a label | value row, so a 2016 form
# typed as paragraphs would read a few shared labels and never be tried as 2016's.
CLEARLY_A_FORM = len(FIELDS_BY_KEY) // 2


# Another version's reading names the form that version's only when it reads at least this
# share of its fields beyond what the first reading did: today's form with a label or two typed
# the old way ("Purpose of processing") is not called an old form, nor is an old form with a
# label or two typed today's way called today's.
OLDER_SHARE = 1 / 3
# A form that names no version is called an older version's when that version's labels read at
# least this many of its fields that today's do not: a few renamed labels are what tell two
# versions apart, and one old label typed in a correction does not make an old form.
OLDER_FIELDS = 3


def stamp(forms: list[RawForm], resolution: Resolution) -> list[RawForm]:
    """Mark each form read from one file with the version it was read as and how."""
    for form in forms:
        form.version = resolution.version
        form.versioning = resolution.versioning
    return forms


def best_reading(
    read: Read,
    versions: FormVersions,
    fields_in: FieldsIn,
    min_fields: int,
    *,
    always_compare: bool = False,
) -> list[RawForm]:
    """The forms of a file that names no version (made by hand, another template, or a form
    from before forms carried their version): read by today's names; if that leaves labels it
    does not know, or finds few fields or no form (or `always_compare`), by each older version's
    names in turn. The reading that finds the most fields wins, then the one leaving the fewest
    labels unknown, then the one reading more second answers (so an old label beside today's
    that gives another answer is weighed as a second answer, not dropped), today's on a tie;
    an older one needs `min_fields` at least. Each form of an older reading that owes it at
    least OLDER_FIELDS of its fields names that version in `older_labels`: its sender is sent
    the current form. A letter with one control tagged "region" is no 2016 form."""
    today = read(versions.names_of(versions.current))
    if not versions.older or (
        not always_compare and fields_in(today) >= CLEARLY_A_FORM and not _unknown(today)
    ):
        return today  # the common case: one reading
    from_today = fields_in(today)
    best, score, chosen = today, _score(today, from_today), None
    for version in versions.older:
        forms = read(versions.mappings[version])
        found = fields_in(forms)
        if forms and found >= min_fields and _score(forms, found) > score:
            best, score, chosen = forms, _score(forms, found), version
    if chosen is not None and score[0] - from_today < OLDER_FIELDS:
        chosen = None  # today's labels with an old one or two
    for form in best:
        form.older_labels = chosen
    return best


def read_declared(
    read: Read, versions: FormVersions, resolution: Resolution, min_fields: int
) -> list[RawForm]:
    """The forms of a file that declares a readable version, stamped with how they were read:
    by that version's names; or, when its own labels leave the form's answers largely unread
    (labels unknown, or few answers) and today's or an older version's own labels read at
    least OLDER_SHARE more of its answers (`min_fields` at least), by those, each form naming
    their version in `labels_version` (staff are told; its sender is sent the current form
    only when they are an older version's). Answers, not fields: a blank stamped with another
    version has none to tell its labels by. Never a newer version's labels: only a form that
    declares one is read by them."""
    names = resolution.names
    if names is None:
        raise ValueError("an unmapped version is the reader's to refuse")
    forms = read(names)
    # Its own names only: an older version's mapping falls back on today's names, so today's
    # form that declares 2016.1 reads well through it, though none of its labels are 2016's.
    own = read(names.strictly()) if names.labels or names.keys else forms
    found = answered(own)
    if found >= CLEARLY_A_FORM and not _unknown(own):
        return stamp(forms, resolution)
    # ...but another reading must also lose nothing of that full one (a 2016 form with a few
    # rows typed today's way reads more through 2016.1's mapping than through today's names)
    whole = answered(forms)
    chosen, score = None, _score(own, found)
    for version in (versions.current, *versions.older):
        if version_key(version) == version_key(names.version):
            continue
        trial = read(versions.names_of(version).strictly())
        gained = answered(trial)
        clearly = gained >= max(min_fields, whole) and gained - found >= OLDER_SHARE * gained
        if clearly and _score(trial, gained) > score:
            chosen, score = version, _score(trial, gained)
    if chosen is None:
        return stamp(forms, resolution)
    # Still the version it declares, read as the chosen one's labels are (older, or today's).
    how = Versioning.CURRENT if chosen == versions.current else Versioning.OLDER
    forms = stamp(read(versions.names_of(chosen)), replace(resolution, versioning=how))
    for form in forms:
        form.labels_version = chosen
    return forms


def answered(forms: list[RawForm]) -> int:
    """How many different fields the forms answer (an unticked box is no answer)."""
    return len({k for form in forms for k, v in form.values.items() if v not in (None, "", False)})


def _score(forms: list[RawForm], fields: int) -> tuple[int, int, int]:
    """Fields found, then labels left unknown (fewer is better), then second answers read."""
    repeats = sum(len(answers) for form in forms for answers in form.repeats.values())
    return fields, -_unknown(forms), repeats


def _unknown(forms: list[RawForm]) -> int:
    return sum(len(form.unknown_labels) for form in forms)
