"""The request form: the one definition of its fields.

The blank-form generator, the readers, the validator, the templates and the register export all
take their keys, labels and choices from here (FORM.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a field's value is read and checked."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    CHOICE = "choice"
    YES_NO = "yes_no"
    DATE = "date"
    ODS = "ods"
    EMAIL = "email"
    LIST = "list"
    PURPOSES = "purposes"
    CAG_REFS = "cag_refs"


class RequestType(StrEnum):
    NEW = "new"
    CHANGE = "change"
    END = "end"


class Required(StrEnum):
    """When a field must be filled in; CONDITIONAL fields are checked by rules in validation."""

    ALWAYS = "always"
    NEW_CHANGE = "new_change"
    CHANGE_END = "change_end"
    OPTIONAL = "optional"
    CONDITIONAL = "conditional"

    def applies_to(self, request_type: RequestType | None) -> bool:
        if self is Required.ALWAYS:
            return True
        if request_type is None:
            return False
        if self is Required.NEW_CHANGE:
            return request_type in (RequestType.NEW, RequestType.CHANGE)
        if self is Required.CHANGE_END:
            return request_type in (RequestType.CHANGE, RequestType.END)
        return False


@dataclass(frozen=True)
class Choice:
    """One permitted value: `value` is what is stored, `label` what a person reads."""

    value: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: Kind
    required: Required
    aliases: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None
    hint: str = ""  # what is expected, as told to a person who got it wrong
    example: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """Every spelling a form may use for this field: key, label and aliases."""
        return (self.key, self.label, *self.aliases)


REQUEST_TYPES = (
    Choice(RequestType.NEW, "New relationship", ("new", "set up", "setup", "new request")),
    Choice(
        RequestType.CHANGE,
        "Change to an existing relationship",
        ("change", "amend", "amendment", "change existing", "change to existing relationship"),
    ),
    Choice(
        RequestType.END,
        "End a relationship",
        (
            "end",
            "end relationship",
            "terminate",
            "termination",
            "cease",
            "end an existing relationship",
        ),
    ),
)

# CCGs became sub-ICB locations of the ICBs in July 2022: people write what they are now, and the
# form's choice for them is still "CCG" (domain/organisation_rules.py fits them).
_CCG_SAID = ("clinical commissioning group", "sub-icb location", "sub-icb", "icb")
COMMISSIONER_TYPES = (
    Choice("CCG", "CCG", (*_CCG_SAID, "integrated care board")),
    Choice(
        "NHS England Local Area Team",
        "NHS England Local Area Team",
        ("lat", "local area team", "area team", "nhs england area team", "nhse lat"),
    ),
    Choice("CSU", "CSU", ("commissioning support unit",)),
    Choice("Other", "Other"),
)

PROCESSOR_TYPES = (
    Choice("CSU", "CSU", ("commissioning support unit",)),
    Choice("Other", "Other"),
)

PURPOSES = (
    Choice("Commissioning", "Commissioning"),
    Choice("Invoice validation", "Invoice validation", ("iv", "invoice validation (iv)")),
    Choice("Risk stratification", "Risk stratification", ("rs", "risk stratification (rs)")),
    Choice("Other", "Other"),
)

_ALWAYS, _NC, _CE = Required.ALWAYS, Required.NEW_CHANGE, Required.CHANGE_END
_YES_NO_HINT = "yes or no"
_DATE_HINT = "a date in UK order, e.g. 31/03/2017"
_ODS_HINT = "an ODS code of 3 to 6 letters and digits, e.g. 00C or RX1"

FIELDS: tuple[Field, ...] = (
    Field(
        "request_type",
        "Type of request",
        Kind.CHOICE,
        _ALWAYS,
        ("request type", "type"),
        REQUEST_TYPES,
        hint="New relationship, Change to an existing relationship or End a relationship",
    ),
    Field(
        "existing_reference",
        "Existing relationship reference",
        Kind.TEXT,
        _CE,
        ("relationship reference", "existing reference", "lcr reference"),
        hint="the reference of the relationship, e.g. LCR-000123",
        example="LCR-000123",
    ),
    Field(
        "effective_date",
        "Date the change should take effect",
        Kind.DATE,
        _ALWAYS,
        ("effective date", "date of effect", "start date of change"),
        hint=_DATE_HINT,
    ),
    Field(
        "change_description",
        "Description of the change",
        Kind.LONG_TEXT,
        _CE,
        ("description", "change description", "details of change"),
        max_length=2000,
        hint="a description of up to 2,000 characters",
    ),
    Field(
        "commissioner_name",
        "Commissioning organisation",
        Kind.TEXT,
        _ALWAYS,
        (
            "commissioner",
            "commissioner name",
            "commissioning organisation name",
            "organisation name",
        ),
        hint="the name of the commissioning organisation",
    ),
    Field(
        "commissioner_ods",
        "Commissioning organisation ODS code",
        Kind.ODS,
        _ALWAYS,
        ("commissioner ods", "commissioner ods code", "ods code", "commissioner code"),
        hint=_ODS_HINT,
    ),
    Field(
        "commissioner_type",
        "Type of commissioning organisation",
        Kind.CHOICE,
        _ALWAYS,
        ("commissioner type", "organisation type"),
        COMMISSIONER_TYPES,
        hint="CCG, NHS England Local Area Team, CSU or Other",
    ),
    Field(
        "processor_name",
        "Data processor",
        Kind.TEXT,
        _NC,
        ("processor", "processor name", "data processor name"),
        hint="the name of the data processor",
    ),
    Field(
        "processor_ods",
        "Data processor ODS code",
        Kind.ODS,
        _NC,
        ("processor ods", "processor ods code", "data processor ods"),
        hint=_ODS_HINT,
    ),
    Field(
        "processor_type",
        "Type of data processor",
        Kind.CHOICE,
        _NC,
        ("processor type", "data processor type"),
        PROCESSOR_TYPES,
        hint="CSU or Other",
    ),
    Field(
        "processor_safe_haven",
        "Data processor is an Accredited Safe Haven",
        Kind.YES_NO,
        _NC,
        ("accredited safe haven", "ash", "safe haven", "processor is an ash"),
        hint=_YES_NO_HINT,
    ),
    Field(
        "dscro",
        "DSCRO (regional office)",
        Kind.CHOICE,
        _ALWAYS,
        ("dscro", "regional office", "dsfc regional office", "region"),
        hint="one of the regional offices",
    ),  # choices come from config
    Field(
        "datasets",
        "Data sets requested",
        Kind.LIST,
        _NC,
        ("data sets", "datasets", "data sets required"),
        hint="the data sets, separated by commas, semicolons or new lines",
    ),
    Field(
        "purposes",
        "Purposes",
        Kind.PURPOSES,
        _NC,
        ("purpose", "purposes of processing"),
        PURPOSES,
        hint="one or more of Commissioning; Invoice validation; Risk stratification; Other",
    ),
    Field(
        "s251_references",
        "Section 251 (CAG) approvals relied on",
        Kind.CAG_REFS,
        Required.CONDITIONAL,
        ("s251 references", "section 251 approvals", "cag references", "cag reference", "s251"),
        hint="CAG references, e.g. CAG 7-04(a)/2013",
        example="CAG 7-04(a)/2013",
    ),
    Field(
        "contract_reference",
        "Service contract reference",
        Kind.TEXT,
        _NC,
        ("contract reference", "contract ref", "service contract"),
        hint="the reference of the service contract",
    ),
    Field(
        "contract_signed",
        "A signed service contract is in place",
        Kind.YES_NO,
        _NC,
        ("contract signed", "signed contract in place", "signed service contract"),
        hint=_YES_NO_HINT,
    ),
    Field(
        "contract_signed_date",
        "Date the contract was signed",
        Kind.DATE,
        Required.CONDITIONAL,
        ("contract signed date", "date signed", "signed date"),
        hint="a date, not in the future",
    ),
    Field(
        "contract_start",
        "Contract start date",
        Kind.DATE,
        _NC,
        ("contract start", "start date"),
        hint=_DATE_HINT,
    ),
    Field(
        "contract_end",
        "Contract end date",
        Kind.DATE,
        _NC,
        ("contract end", "end date"),
        hint="a date after the contract start date",
    ),
    Field(
        "commissioner_consent",
        "Commissioning organisation consents to publication",
        Kind.YES_NO,
        _NC,
        ("commissioner consent", "commissioner consents to publication"),
        hint=_YES_NO_HINT,
    ),
    Field(
        "processor_consent",
        "Data processor consents to publication",
        Kind.YES_NO,
        _NC,
        ("processor consent", "processor consents to publication"),
        hint=_YES_NO_HINT,
    ),
    Field(
        "requester_name",
        "Your name",
        Kind.TEXT,
        _ALWAYS,
        ("name", "requester name", "requester"),
        hint="your name",
    ),
    Field(
        "requester_role",
        "Your job title",
        Kind.TEXT,
        _ALWAYS,
        ("job title", "role", "requester role", "requester job title"),
        hint="your job title",
    ),
    Field(
        "requester_email",
        "Your email address",
        Kind.EMAIL,
        _ALWAYS,
        ("email", "email address", "requester email", "e-mail"),
        hint="an email address",
    ),
    Field(
        "requester_phone",
        "Your telephone number",
        Kind.TEXT,
        Required.OPTIONAL,
        ("telephone", "phone", "telephone number", "requester phone", "tel"),
    ),
    Field(
        "authoriser_name",
        "Authorising officer (SIRO or Caldicott Guardian)",
        Kind.TEXT,
        _NC,
        ("authorising officer", "authoriser", "authoriser name", "siro", "caldicott guardian"),
        hint="the name of your SIRO or Caldicott Guardian",
    ),
    Field(
        "authoriser_email",
        "Authorising officer's email address",
        Kind.EMAIL,
        _NC,
        ("authoriser email", "authorising officer email", "authorising officer's email"),
        hint="an email address",
    ),
    Field(
        "declaration",
        "I confirm that this information is accurate and that I am authorised to make this request",
        Kind.YES_NO,
        _ALWAYS,
        ("declaration", "confirmation", "i confirm"),
        hint="yes",
    ),
)

FIELDS_BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}

_NOISE = re.compile(r"[\W_]+", re.UNICODE)


def normalise_label(text: str) -> str:
    """Fold a label for matching: no case, spacing, punctuation, trailing colon or `*`."""
    return _NOISE.sub("", text.casefold())


_BY_NAME: dict[str, str] = {}
for _f in FIELDS:
    for _name in _f.names:
        _BY_NAME.setdefault(normalise_label(_name), _f.key)


def field_for_label(text: str) -> Field | None:
    """The field whose key, label or alias `text` is, or None."""
    key = _BY_NAME.get(normalise_label(text))
    return FIELDS_BY_KEY[key] if key else None
