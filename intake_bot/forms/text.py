"""A form typed into the body of an email: ``Label: value`` lines -> field values.

Read only when no form is attached. To tell a typed form from an ordinary email (whose signature
may well say "Tel: ..." and "Email: ..."), it takes three fields, one of them about the request
itself rather than the person writing; in a party's reply to its own incomplete request, one
(`read_body(..., correction=True)`).

A "Form version: 2016.1" line is the form's declared version, read as a Word or Excel form's is
(forms/versions.py); only in a body that reads as a form, since "Version: 3" may be anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial

from intake_bot.domain.fields import Field, Kind
from intake_bot.domain.form_versions import CURRENT_ONLY, FieldNames, FormVersions
from intake_bot.domain.rawform import RawForm, RawValue
from intake_bot.forms.version_choice import Read, best_reading
from intake_bot.forms.versions import Carried, declaration, read_as_declared, typed_carrier

SOURCE = "email body"
VERSION_LINE = "form version line"  # where the version was, as staff are told
MIN_FIELDS = 3
# Fields a signature block fills in on its own.
_CONTACT_FIELDS = frozenset(
    {"requester_name", "requester_role", "requester_email", "requester_phone"}
)
# Fields whose value may run on over the following lines.
_MULTI_LINE = frozenset({Kind.LONG_TEXT, Kind.LIST, Kind.PURPOSES, Kind.CAG_REFS})
_MAX_LABEL_CHARS = 120

# Bullets, numbering and emphasis in front of a label: "* ", "• ", "1. ", "a) ", "**".
_LEAD = re.compile(r"^(?:[*•·‣◦▪\-–+]\s+|\(?(?:\d{1,2}|[a-z])[.)]\s+)*[*_]*", re.IGNORECASE)
_SEPARATORS = (":", "\t", " - ", " – ")
_SIGNATURE = "-- "
# How our email lists a problem (domain/validation.py Problem.message), when a reply quotes it
# without marking it as a quote: "Label: this is missing; expected ..." / "we found ..., expected".
_OUR_PROBLEM = re.compile(r'(?:this is missing; expected |we found ".*", expected )', re.DOTALL)
_QUOTE_MARKERS = (
    re.compile(r"^\s*>"),
    re.compile(r"^-{2,}\s*original message\s*-{2,}", re.IGNORECASE),
    re.compile(r"^\s*on\b.{0,200}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*\**from:.{0,200}\bsent:", re.IGNORECASE),  # Outlook's block on one line
)
# Gmail's "---------- Forwarded message ---------", Lotus Notes' "----- Forwarded by ...": what
# follows is another's message, read only when the sender's own text holds no form.
_FORWARDED = re.compile(r"^\s*-{2,}\s*forwarded\s+(?:message|by)\b", re.IGNORECASE)
_OUTLOOK_FROM = re.compile(r"^\s*\**from:\**\s", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\s*\**(?:sent|date):\**\s", re.IGNORECASE)
_WROTE = re.compile(r"^\s*on\b.{0,200}$", re.IGNORECASE)
_WROTE_END = re.compile(r"^.{0,120}\bwrote:\s*$", re.IGNORECASE)
# A sign-off ends a description or list that it follows without a blank line.
SIGN_OFF = re.compile(
    r"^(?:(?:(?:with\s+)?(?:(?:kind|best|warm|warmest|many)\s+)?(?:regards|thanks|wishes)"
    r"|thank\s+you|yours\s+(?:sincerely|faithfully)|cheers|sincerely)\b.{0,20}"
    r"|(?:all\s+the\s+)?best[\s,.!]*)$",  # "Best," alone: "Best contact: Jo" is a label
    re.IGNORECASE,
)


@dataclass
class _Entry:
    named: Field
    own: bool  # under the field's own label, not a loose alias ("Email", "Tel")
    lines: list[str] = field(default_factory=list)
    # Lines after a blank line: part of the value only if another label follows them, since
    # otherwise they are most likely the sign-off.
    pending: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        (self.pending if self.pending else self.lines).append(line)

    def keep_pending(self) -> None:
        self.lines.extend(self.pending)
        self.pending.clear()

    def runs_on(self, line: str) -> bool:
        """Whether `line`, which names no field, belongs to this field's value."""
        if SIGN_OFF.match(line):
            return False
        if not self.lines:
            return True  # "Label:" with the value on the line below
        if self.named.kind is Kind.LONG_TEXT:
            return True
        # In a list, "Something: value" is more likely a misspelt label than an item.
        return self.named.kind in _MULTI_LINE and unknown_label(line) is None


@dataclass
class _Reader:
    names: FieldNames  # a version's labels: today's, or an older form's copied into the email
    correction: bool = False  # a reply's corrected answers: they end at the sign-off
    done: bool = False  # read no further
    entries: dict[str, _Entry] = field(default_factory=dict)
    repeats: list[_Entry] = field(default_factory=list)  # a field's label given again, in order
    current: _Entry | None = None
    signed_off: bool = False  # past "Kind regards": a "Tel:" there is the signature's
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (fields before it, label)

    def feed(self, line: str) -> None:
        if not line.strip():
            if self.current is not None:
                self.current.pending.append("")
            return
        if _version_line(line) is not None:  # read by read_body: ends an answer, as a label does
            if self.current is not None:
                self.current.keep_pending()
            self.current = None
            return
        # In a correction, "Label: value" or a tab only: "Data processor - not sure yet" is prose.
        split = _split_label(line, self.names, _SEPARATORS[:2] if self.correction else _SEPARATORS)
        if split is not None and _OUR_PROBLEM.match(split[2]):
            self.current = None  # a line of our own list of problems, quoted: never an answer
        elif split is not None:
            self._start(*split)
        elif SIGN_OFF.match(line.strip()):
            self.signed_off = True
            self.current = None
            # An opening "Thank you for your email." is no sign-off: only one after an answer.
            self.done = self.correction and bool(self.entries)
        elif self.current is not None and self.current.runs_on(line):
            self.current.add(line.strip())
        else:
            label = unknown_label(line)
            if label and self.current is not None:
                self.current.keep_pending()  # a misspelt label ends the value like a real one
            if label:
                self.unknown.append((len(self.entries), label))
            self.current = None

    def _start(self, named: Field, own: bool, value: str) -> None:
        if self.current is not None:
            self.current.keep_pending()
        self.current = _Entry(named, own, [value] if value else [])
        if named.key not in self.entries:
            self.entries[named.key] = self.current
        elif not self.signed_off:  # the first is the value; validation sees both
            self.repeats.append(self.current)

    def form(self) -> RawForm:
        values: dict[str, RawValue] = {
            key: "\n".join(entry.lines).strip() for key, entry in self.entries.items()
        }
        # Label-like lines among the recognised ones are probably misspelt labels.
        inside = [label for seen, label in self.unknown if 0 < seen < len(self.entries)]
        form = RawForm(source=SOURCE, values=values, unknown_labels=inside)
        form.loose = {key for key, entry in self.entries.items() if not entry.own}
        for entry in self.repeats:
            text = "\n".join(entry.lines).strip()
            if text:
                form.repeats.setdefault(entry.named.key, []).append((text, entry.own))
        return form


def read_body(
    text: str, versions: FormVersions = CURRENT_ONLY, *, correction: bool = False
) -> RawForm | None:
    """The form typed into an email body, or None when the body does not read as one.

    Lines of ``Label: value`` (also ``Label<tab>value`` and ``Label - value``), labels matched
    as the form names its fields, with bullets, numbering and bold marks ignored. A description
    or a list may run on over the following lines. Reading stops at a signature or at the quoted
    earlier message of a reply. The first value given for a field is its value; a later one is
    kept as a repeat for validation to weigh, unless it comes after a sign-off ("Kind regards"),
    where "Tel:" and "Email:" are the signature's. Labels copied from an older version of the
    form are read through that version's names when they read more of it (`best_reading`):
    always compared, since a line the reader does not know is not always noted as a label
    (the last line, one after a description, one with a tab), and reading text again is cheap.
    A "Form version: 2016.1" line declares the form's version, as a Word form's property does
    (`read_as_declared`: UnmappedVersionError for a version no mapping covers).
    `correction`: the answers a party types into a reply to its own incomplete request, where
    one line will do and only the lines above a sign-off count (the "Tel:" of an authoriser's
    signature is not the requester's telephone); read by labels, whatever version it names.
    """
    min_fields = 1 if correction else MIN_FIELDS
    # A correction is the sender's own words: a message forwarded in a reply is most likely
    # ours, whose list of problems names every field.
    for forwarded in (False,) if correction else (False, True):
        lines = _own_text(text, forwarded=forwarded)
        read = partial(_read, lines, min_fields, correction)
        forms = best_reading(read, versions, _filled, min_fields, always_compare=True)
        carried = [] if correction else [c for c in map(_version_line, lines) if c]
        if forms and carried:
            forms = _as_declared(carried, versions, read, forms, min_fields)
        if forms:
            return forms[0]
    return None


def _as_declared(
    carried: list[Carried],
    versions: FormVersions,
    read: Read,
    unversioned: list[RawForm],
    min_fields: int,
) -> list[RawForm]:
    return read_as_declared(
        declaration(carried),
        versions,
        read,
        unversioned=lambda: unversioned,
        min_fields=min_fields,
        too_few=lambda forms: not forms,  # _read finds no form in fewer fields
    )


def _version_line(line: str) -> Carried | None:
    """A "Form version: 2016.1" line (or tab-separated) as a carrier of the version."""
    text = _LEAD.sub("", line.strip())
    for separator in _SEPARATORS[:2]:
        label, found, value = text.partition(separator)
        if not found or len(label) > _MAX_LABEL_CHARS:
            continue
        carrier = typed_carrier(label.strip(" *_"), value.strip(" *\t"), VERSION_LINE)
        if carrier is not None:
            return carrier
    return None


def _read(lines: list[str], min_fields: int, correction: bool, names: FieldNames) -> list[RawForm]:
    reader = _Reader(names, correction=correction)
    for line in lines:
        reader.feed(line)
        if reader.done:
            break
    form = reader.form()
    if correction:  # by a field's own label only: "Type: I'll send it Monday" is prose
        form.values = {k: v for k, v in form.values.items() if k not in form.loose}
        form.repeats = {k: v for k, v in form.repeats.items() if k in form.values}
        form.loose = set()
    return [form] if _looks_like_form(form, min_fields) else []


def _filled(forms: list[RawForm]) -> int:
    return len({key for form in forms for key, value in form.values.items() if value != ""})


def _own_text(text: str, *, forwarded: bool) -> list[str]:
    """The lines the sender wrote: up to a signature or the quoted message of a reply, and
    (unless `forwarded`) up to a message forwarded."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    in_forward_header = False  # the From:/Date:/Subject: block under a forwarded message's line
    for number, line in enumerate(lines):
        if _FORWARDED.match(line):
            if not forwarded:
                return lines[:number]
            in_forward_header = True
            continue
        if in_forward_header:
            in_forward_header = bool(line.strip())  # the block ends at its blank line
            if in_forward_header:
                continue
        if line.rstrip() == _SIGNATURE.rstrip() or _starts_quote(lines, number):
            return lines[:number]
    return lines


def _starts_quote(lines: list[str], number: int) -> bool:
    line = lines[number]
    if any(marker.match(line) for marker in _QUOTE_MARKERS):
        return True
    following = lines[number + 1 : number + 4]
    if _OUTLOOK_FROM.match(line):  # Outlook's header block: From:, then Sent: within a few lines
        return any(_OUTLOOK_SENT.match(next_line) for next_line in following)
    # "On Mon, 3 Apr 2017 at 10:00, A Person <a@example.org>" wrapped before "wrote:"
    return bool(_WROTE.match(line) and following and _WROTE_END.match(following[0]))


def _split_label(
    line: str, names: FieldNames, separators: tuple[str, ...] = _SEPARATORS
) -> tuple[Field, bool, str] | None:
    """The field a line names, whether by its own label (not a loose alias), and the value it
    gives; None when it names none."""
    text = _LEAD.sub("", line.strip())
    for separator in separators:
        label, found, value = text.partition(separator)
        if not found or len(label) > _MAX_LABEL_CHARS:
            continue
        label = label.strip(" *_")
        named = names.by_label(label)
        if named is not None:
            return named, names.names_strongly(label, named), value.strip(" *\t")
    return None


def unknown_label(line: str) -> str | None:
    """The label of a line that looks like ``Label: value`` but names no field."""
    label, found, value = _LEAD.sub("", line.strip()).partition(":")
    label = label.strip(" *_")
    if not found or not label or len(label) > 60 or len(label.split()) > 8:
        return None
    if value.startswith("//"):  # a web address, not a label
        return None
    return label


def _looks_like_form(form: RawForm, min_fields: int) -> bool:
    filled = {key for key, value in form.values.items() if value not in (None, "")}
    return len(filled) >= min_fields and bool(filled - _CONTACT_FIELDS)
