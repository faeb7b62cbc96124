"""Checking one filled-in form: raw values in, typed values plus every problem and flag out.

Problems are what the sender must fix, all of them in one reply, in form order; flags are for
staff: accepted, but worth a look. Both are values, never exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from intake_bot.domain import values as v
from intake_bot.domain.approvals import Approval, parse_cag_refs
from intake_bot.domain.fields import FIELDS, FIELDS_BY_KEY, Field, Kind, RequestType, Required
from intake_bot.domain.form_versions import version_note
from intake_bot.domain.organisation_rules import ods_listed, organisation_findings
from intake_bot.domain.rawform import RawForm, RawValue
from intake_bot.domain.repeated_fields import one_value_expected, settle_repeats, weigh


@dataclass(frozen=True)
class Problem:
    """One thing the sender must fix."""

    field_key: str | None
    label: str  # the field's label as on the form
    found: str | None  # the value as found, quoted in the message; None when missing
    expected: str  # what is expected

    @property
    def message(self) -> str:
        """One sentence for the sender: the label, what was found and what is expected."""
        expected = self.expected.rstrip(".")
        if self.found is None:
            return f"{self.label}: this is missing; expected {expected}."
        return f'{self.label}: we found "{self.found}", expected {expected}.'


@dataclass(frozen=True)
class Flag:
    """For staff, not the sender: accepted, but worth a look."""

    field_key: str | None
    message: str


@dataclass(frozen=True)
class ValidationContext:
    """What validation needs to know beyond the form: the date, and lists from configuration."""

    today: date
    dscros: tuple[str, ...]  # regional office names: the choices for the dscro field
    # an office's other names from configuration ("M&E"), as the queues and the register take them
    dscro_aliases: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    known_ods: frozenset[str] = frozenset()  # empty: no organisation list to check against
    allowed_domains: tuple[str, ...] = ()  # empty: any email domain
    approvals: Mapping[str, Approval] = field(default_factory=lambda: MappingProxyType({}))
    purposes_needing_approval: frozenset[str] = frozenset(
        {"Invoice validation", "Risk stratification"}
    )


@dataclass
class Validation:
    """The outcome of checking one form."""

    request_type: RequestType | None
    values: dict[str, object]  # typed values by key (str, date, bool, list[str]), as read
    problems: list[Problem]
    flags: list[Flag]
    source: str

    @property
    def complete(self) -> bool:
        """Whether there is nothing for the sender to fix."""
        return not self.problems

    def values_json(self) -> dict[str, object]:
        """The typed values, ready for JSON: dates in ISO form."""
        return {key: _json_value(value) for key, value in self.values.items()}

    def to_json(self) -> dict[str, object]:
        """Everything, ready for JSON: values, problems (with their messages) and flags."""
        return {
            "source": self.source,
            "request_type": None if self.request_type is None else str(self.request_type),
            "complete": self.complete,
            "values": self.values_json(),
            "problems": [
                {
                    "field_key": p.field_key,
                    "label": p.label,
                    "found": p.found,
                    "expected": p.expected,
                    "message": p.message,
                }
                for p in self.problems
            ],
            "flags": [{"field_key": f.field_key, "message": f.message} for f in self.flags],
        }


def _json_value(value: object) -> object:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    return value


# A conditional field belongs with the field whose answer makes it required.
_TRIGGERS = {"s251_references": "purposes", "contract_signed_date": "contract_signed"}
_ORDER = {f.key: i for i, f in enumerate(FIELDS)}
_REQUEST_NAMES = {
    RequestType.NEW: "a new relationship",
    RequestType.CHANGE: "a change to a relationship",
    RequestType.END: "the end of a relationship",
}


@dataclass
class _Check:
    """What checking one form has found so far."""

    form: RawForm
    ctx: ValidationContext
    request_type: RequestType | None = None
    values: dict[str, object] = field(default_factory=dict)
    absent: dict[str, str | None] = field(default_factory=dict)  # placeholder text, or None
    problems: list[Problem] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)

    def problem(self, f: Field, found: str | None, expected: str) -> None:
        self.problems.append(Problem(f.key, f.label, found, expected))

    def flag(self, f: Field | None, message: str) -> None:
        self.flags.append(Flag(None if f is None else f.key, message))


def validate(form: RawForm, ctx: ValidationContext) -> Validation:
    """Check a form: every value read, every rule applied, every problem collected.

    Which fields are required follows the request type; when that is missing or unreadable only
    the fields every request needs are required. Values in fields that do not apply to the request
    type are left out and flagged for staff.
    """
    form, answers = settle_repeats(form)
    check = _Check(form, ctx)
    _read_field(check, FIELDS_BY_KEY["request_type"])
    request_type = check.values.get("request_type")
    check.request_type = request_type if isinstance(request_type, RequestType) else None
    _read_fields(check)
    scratch = _Check(form, ctx)  # reads the other answers; what it finds of them is not kept
    for clash in weigh(answers, lambda f, raw: _READERS[f.kind](scratch, f, raw)):
        if not _applies(clash.field, check.request_type):
            continue
        if clash.for_sender:
            shown = "; ".join(clash.shown)
            check.problem(clash.field, shown, one_value_expected(len(clash.shown)))
        else:
            check.flag(clash.field, clash.note())
    _check_required(check)
    _check_declaration(check)
    _check_contract_dates(check)
    _check_approvals(check)
    _check_organisations(check)
    if form.unknown_labels:
        # "Name:;" would read as punctuation gone wrong: the label's own colon or asterisk aside
        labels = (label.rstrip(" :*") or label for label in form.unknown_labels)
        check.flag(None, "Labels that name no field: " + "; ".join(labels))
    notes = [version_note(form), form.version_conflict]
    check.flags += [Flag(None, note) for note in filter(None, notes)]
    check.problems.sort(key=lambda p: _ORDER.get(p.field_key or "", len(_ORDER)))
    return Validation(check.request_type, check.values, check.problems, check.flags, form.source)


def _applies(f: Field, request_type: RequestType | None) -> bool:
    """Whether the field belongs on this kind of request (all do while the kind is unknown)."""
    if request_type is None or f.required in (Required.ALWAYS, Required.OPTIONAL):
        return True
    if f.required is Required.CONDITIONAL:
        return _applies(FIELDS_BY_KEY[_TRIGGERS[f.key]], request_type)
    return f.required.applies_to(request_type)


def _read_fields(check: _Check) -> None:
    ignored: list[str] = []
    for f in FIELDS:
        if f.key == "request_type":
            continue
        if _applies(f, check.request_type):
            _read_field(check, f)
        elif _given(check.form.values.get(f.key)):
            ignored.append(f.label)
    if ignored and check.request_type is not None:
        kind = _REQUEST_NAMES[check.request_type]
        check.flag(None, f"Filled in but not used for {kind}: " + "; ".join(ignored))


def _given(raw: RawValue) -> bool:
    return not (v.is_blank(raw) or v.is_placeholder(raw))


def _read_field(check: _Check, f: Field) -> None:
    raw = check.form.values.get(f.key)
    if not _given(raw):
        check.absent[f.key] = v.display(raw) if v.is_placeholder(raw) else None
        return
    try:
        check.values[f.key] = _READERS[f.kind](check, f, raw)
    except v.ValueProblem as problem:
        found = v.display(raw) if problem.found is None else problem.found
        check.problem(f, found, problem.expected)


# --- one reader per kind of field -------------------------------------------------------------


def _read_text(check: _Check, f: Field, raw: RawValue) -> object:
    if f.key == "existing_reference":
        return v.parse_relationship_ref(raw)
    return v.parse_text(raw, f.hint or v.TEXT_EXPECTED)


def _read_long_text(check: _Check, f: Field, raw: RawValue) -> object:
    text = v.parse_long_text(raw, f.hint or v.TEXT_EXPECTED)
    if f.max_length is not None and len(text) > f.max_length:
        raise v.ValueProblem(f"{f.hint or 'shorter text'} (this one has {len(text):,} characters)")
    return text


def _read_choice(check: _Check, f: Field, raw: RawValue) -> object:
    if f.key == "dscro":
        if not check.ctx.dscros:  # no offices configured: nothing to match against
            return v.parse_text(raw, f.hint)
        return v.parse_dscro(raw, check.ctx.dscros, check.ctx.dscro_aliases)
    value = v.parse_choice(raw, f.choices, f.hint)
    return RequestType(value) if f.key == "request_type" else value


def _read_ods(check: _Check, f: Field, raw: RawValue) -> object:
    code = v.parse_ods(raw)
    known = check.ctx.known_ods  # with an ODS list, _check_organisations judges codes
    if known and code not in known and not ods_listed(known):
        check.flag(f, f"{f.label}: {code} is not in the organisation list.")
    return code


def _read_email(check: _Check, f: Field, raw: RawValue) -> object:
    address = v.parse_email(raw)
    allowed = check.ctx.allowed_domains
    if allowed and not v.email_domain_allowed(address, allowed):
        check.flag(
            f, f"{f.label}: {address} is outside the allowed domains ({', '.join(allowed)})."
        )
    return address


def _read_cag_refs(check: _Check, f: Field, raw: RawValue) -> object:
    """The references that could be read; each piece that could not is a problem of its own."""
    parsed = parse_cag_refs(v.parse_long_text(raw, f.hint))
    for piece in parsed.unparsed:
        check.problem(f, piece, f.hint)
    return parsed.refs


_Reader = Callable[[_Check, Field, RawValue], object]
_READERS: dict[Kind, _Reader] = {
    Kind.TEXT: _read_text,
    Kind.LONG_TEXT: _read_long_text,
    Kind.CHOICE: _read_choice,
    Kind.YES_NO: lambda _check, _f, raw: v.parse_yes_no(raw),
    Kind.DATE: lambda _check, _f, raw: v.parse_date(raw),
    Kind.ODS: _read_ods,
    Kind.EMAIL: _read_email,
    Kind.LIST: lambda _check, f, raw: v.parse_list(raw, f.hint),
    Kind.PURPOSES: lambda _check, _f, raw: v.parse_purposes(raw),
    Kind.CAG_REFS: _read_cag_refs,
}


# --- rules across fields ----------------------------------------------------------------------


def _needs_approval(check: _Check) -> list[str]:
    """The chosen purposes that can only be relied on with a section 251 approval."""
    wanted = {p.casefold() for p in check.ctx.purposes_needing_approval}
    return [p for p in _purposes(check) if p.casefold() in wanted]


def _purposes(check: _Check) -> list[str]:
    purposes = check.values.get("purposes")
    return [str(p) for p in purposes] if isinstance(purposes, list) else []


def _is_required(check: _Check, f: Field) -> bool:
    if f.key == "s251_references":
        return bool(_needs_approval(check))
    if f.key == "contract_signed_date":
        return check.values.get("contract_signed") is True
    return f.required.applies_to(check.request_type)


def _check_required(check: _Check) -> None:
    for key, found in check.absent.items():
        f = FIELDS_BY_KEY[key]
        if _is_required(check, f):
            check.problem(f, found, _missing_expected(check, f))


def _missing_expected(check: _Check, f: Field) -> str:
    if f.key == "s251_references":
        needing = " and ".join(_needs_approval(check))
        return f"{f.hint}, because the purposes include {needing}"
    if f.key == "contract_signed_date":
        return f"{v.DATE_EXPECTED}, because a signed contract is in place"
    if f.key == "dscro" and check.ctx.dscros:
        return "one of the regional offices: " + ", ".join(check.ctx.dscros)
    return f.hint or v.TEXT_EXPECTED


def _check_declaration(check: _Check) -> None:
    f = FIELDS_BY_KEY["declaration"]
    if check.values.get(f.key) is False:
        check.problem(f, _found(check, f), f.hint)


def _check_contract_dates(check: _Check) -> None:
    signed = check.values.get("contract_signed")
    signed_on = check.values.get("contract_signed_date")
    start, end = check.values.get("contract_start"), check.values.get("contract_end")
    if isinstance(signed_on, date):
        f = FIELDS_BY_KEY["contract_signed_date"]
        if signed_on > check.ctx.today:
            check.problem(f, _found(check, f), "a date that is not in the future")
        if signed is False:
            check.flag(f, f"{f.label} is given, but the contract is said not to be signed.")
    if isinstance(start, date) and isinstance(end, date) and end <= start:
        f = FIELDS_BY_KEY["contract_end"]
        check.problem(
            f, _found(check, f), f"a date after the contract start date ({start:%d/%m/%Y})"
        )


def _found(check: _Check, f: Field) -> str:
    return v.display(check.form.values.get(f.key))


def _check_purposes_covered(check: _Check, f: Field, named: list[Approval]) -> None:
    """Every purpose that needs an approval needs one, among those named, that covers it."""
    for purpose in _needs_approval(check):
        if any(a.covers(purpose) for a in named):
            continue
        covering = [a.reference for a in check.ctx.approvals.values() if a.covers(purpose)]
        expected = f"an approval that covers {purpose}" + (
            f", e.g. {' or '.join(sorted(covering))}" if covering else ""
        )
        check.problem(f, ", ".join(a.reference for a in named) or None, expected)


def _check_organisations(check: _Check) -> None:
    found = organisation_findings(check.values, check.ctx.known_ods, check.ctx.today)
    check.problems += [Problem(k, FIELDS_BY_KEY[k].label, s, e) for k, s, e in found.problems]
    check.flags += [Flag(k, f"{FIELDS_BY_KEY[k].label}: {m}") for k, m in found.flags]


def _check_approvals(check: _Check) -> None:
    """Each reference must be on the register and in force; one that covers none of the chosen
    purposes is accepted but flagged."""
    f = FIELDS_BY_KEY["s251_references"]
    refs = check.values.get(f.key)
    if not isinstance(refs, list) or not refs:
        return
    register = check.ctx.approvals
    if not register:
        check.flag(f, "The approvals register is empty, so the references were not checked.")
        return
    known = ", ".join(sorted(register))
    if all(str(r) in register for r in refs):  # an unknown one is a problem of its own already
        _check_purposes_covered(check, f, [register[str(r)] for r in refs])
    for ref in map(str, refs):
        approval = register.get(ref)
        if approval is None:
            check.problem(f, ref, f"a known approval, one of: {known}")
        elif approval.expired_on(check.ctx.today):
            check.problem(
                f, ref, f"an approval in force; this one expired on {approval.expires:%d/%m/%Y}"
            )
        elif _purposes(check) and not any(approval.covers(p) for p in _purposes(check)):
            purposes = "; ".join(_purposes(check))
            check.flag(
                f, f"{ref} ({approval.title}) covers none of the purposes given: {purposes}."
            )
