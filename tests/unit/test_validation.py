"""Checking a whole form: required fields per request type, rules across fields, the messages."""

from __future__ import annotations

import json
from datetime import date

import pytest

from intake_bot.domain.approvals import Approval
from intake_bot.domain.fields import FIELDS, FIELDS_BY_KEY, RequestType
from intake_bot.domain.rawform import RawForm, RawValue
from intake_bot.domain.validation import Flag, Problem, Validation, ValidationContext, validate

TODAY = date(2017, 6, 1)
IV = Approval("CAG 7-04(a)/2013", "Invoice validation", ("Invoice validation",), date(2018, 3, 31))
RS_OLD = Approval(
    "CAG 2-03(a)/2013", "Risk stratification", ("Risk stratification",), date(2017, 3, 31)
)
RS = Approval(
    "CAG 7-07(a)/2013", "Risk stratification", ("Risk stratification",), date(2018, 3, 31)
)
CTX = ValidationContext(
    today=TODAY,
    dscros=("North", "Midlands and East", "London", "South"),
    known_ods=frozenset({"00C", "Q44", "RX1", "0DE"}),
    allowed_domains=("nhs.net", "nhs.uk"),
    approvals={a.reference: a for a in (IV, RS_OLD, RS)},
)

NEW: dict[str, RawValue] = {
    "request_type": "New relationship",
    "effective_date": "01/04/2017",
    "commissioner_name": "NHS Darlington CCG",
    "commissioner_ods": "00C",
    "commissioner_type": "CCG",
    "processor_name": "North of England CSU",
    "processor_ods": "0DE",
    "processor_type": "CSU",
    "processor_safe_haven": True,
    "dscro": "North",
    "datasets": "SUS; SEM",
    "purposes": "Commissioning, Invoice validation",
    "s251_references": "CAG 7-04(a)/2013",
    "contract_reference": "NECS-2017-01",
    "contract_signed": "yes",
    "contract_signed_date": "15/03/2017",
    "contract_start": "01/04/2017",
    "contract_end": "31/03/2018",
    "commissioner_consent": "yes",
    "processor_consent": "x",
    "requester_name": "Jane Smith",
    "requester_role": "Head of Information Governance",
    "requester_email": "jane.smith@nhs.net",
    "authoriser_name": "Dr John Doe",
    "authoriser_email": "john.doe@nhs.net",
    "declaration": "☒",
}


def check(ctx: ValidationContext = CTX, /, **changes: RawValue) -> Validation:
    return validate(RawForm("request.docx", {**NEW, **changes}), ctx)


def only_problem(result: Validation) -> Problem:
    assert len(result.problems) == 1, [p.message for p in result.problems]
    return result.problems[0]


def flag_keys(result: Validation) -> list[str | None]:
    return [f.field_key for f in result.flags]


# --- a good form ------------------------------------------------------------------------------


def test_a_complete_new_request_has_typed_values_and_no_problems() -> None:
    result = check()
    assert result.complete, [p.message for p in result.problems]
    assert result.flags == []
    assert result.request_type is RequestType.NEW
    assert result.source == "request.docx"
    assert result.values["effective_date"] == date(2017, 4, 1)
    assert result.values["datasets"] == ["SUS", "SEM"]
    assert result.values["purposes"] == ["Commissioning", "Invoice validation"]
    assert result.values["s251_references"] == ["CAG 7-04(a)/2013"]
    assert result.values["processor_safe_haven"] is True
    assert result.values["declaration"] is True


def test_to_json_is_json_ready_with_iso_dates() -> None:
    result = check(effective_date="31/03/2017", declaration="no")
    data = json.loads(json.dumps(result.to_json()))
    assert data["request_type"] == "new"
    assert data["complete"] is False
    assert data["values"]["effective_date"] == "2017-03-31"
    assert data["values"]["request_type"] == "new"
    assert data["problems"][0]["field_key"] == "declaration"
    assert data["problems"][0]["message"].startswith("I confirm that")
    assert result.values_json() == data["values"]


# --- messages ---------------------------------------------------------------------------------


def test_message_for_a_bad_value_names_label_quotes_value_and_says_what_is_expected() -> None:
    problem = only_problem(check(contract_signed_date="31/13/2017"))
    assert problem == Problem(
        "contract_signed_date",
        "Date the contract was signed",
        "31/13/2017",
        "a date in UK order, e.g. 31/03/2017",
    )
    assert problem.message == (
        'Date the contract was signed: we found "31/13/2017", '
        "expected a date in UK order, e.g. 31/03/2017."
    )


def test_message_for_a_missing_value_says_it_is_missing() -> None:
    problem = only_problem(check(requester_email=""))
    assert problem.found is None
    assert problem.message == "Your email address: this is missing; expected an email address."


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("request_type", "Renewal"),
        ("effective_date", "03/31/2017"),
        ("commissioner_ods", "NHS Darlington"),
        ("commissioner_type", "Hospital"),
        ("processor_type", "Trust"),
        ("processor_safe_haven", "maybe"),
        ("dscro", "Wales"),
        ("purposes", "Marketing"),
        ("s251_references", "see letter"),
        ("contract_signed", "pending"),
        ("contract_start", "April"),
        ("requester_email", "jane.smith"),
        ("authoriser_email", "john at nhs"),
        ("declaration", "probably"),
    ],
)
def test_every_bad_value_is_quoted_under_its_label(key: str, raw: str) -> None:
    result = check(**{key: raw})
    problem = next(p for p in result.problems if p.field_key == key)
    assert problem.label == FIELDS_BY_KEY[key].label
    assert problem.found == raw
    assert problem.expected
    assert problem.message.startswith(f'{problem.label}: we found "{raw}", expected ')


def test_all_problems_are_collected_in_form_order() -> None:
    result = check(
        declaration="no",
        requester_email="nobody",
        effective_date="32/01/2017",
        commissioner_ods="?",
        request_type="New",
    )
    assert [p.field_key for p in result.problems] == [
        "effective_date",
        "commissioner_ods",
        "requester_email",
        "declaration",
    ]


# --- required fields per request type ---------------------------------------------------------


def test_an_empty_form_asks_only_for_what_every_request_needs() -> None:
    result = validate(RawForm("empty.xlsx"), CTX)
    assert result.request_type is None
    always = [f.key for f in FIELDS if f.required == "always"]
    assert [p.field_key for p in result.problems] == always
    assert all(p.found is None for p in result.problems)


def test_an_unreadable_request_type_still_checks_the_values_given() -> None:
    result = validate(
        RawForm("x.docx", {"request_type": "Renewal", "contract_start": "next year"}), CTX
    )
    keys = [p.field_key for p in result.problems]
    assert "request_type" in keys
    assert "contract_start" in keys
    assert "processor_name" not in keys  # not required while the type is unknown


def test_a_change_request_needs_the_existing_reference_and_a_description() -> None:
    result = check(request_type="Change")
    assert [p.field_key for p in result.problems] == ["existing_reference", "change_description"]


def test_an_end_request_needs_only_its_own_fields() -> None:
    form = {k: NEW[k] for k in NEW if FIELDS_BY_KEY[k].required in ("always",)}
    form |= {
        "request_type": "End a relationship",
        "existing_reference": "lcr 123",
        "change_description": "The CSU no longer processes data for us.",
    }
    result = validate(RawForm("end.docx", form), CTX)
    assert result.complete, [p.message for p in result.problems]
    assert result.values["existing_reference"] == "LCR-000123"


def test_values_that_do_not_apply_to_the_request_type_are_ignored_and_flagged() -> None:
    result = check(
        request_type="end",
        existing_reference="LCR-000123",
        change_description="Ending.",
        s251_references="CAG 2-03(a)/2013",  # expired, but irrelevant to ending
        contract_end="garbage",
    )
    assert result.complete, [p.message for p in result.problems]
    assert "contract_end" not in result.values
    assert "s251_references" not in result.values
    (flag,) = result.flags
    assert flag.field_key is None
    assert flag.message.startswith("Filled in but not used for the end of a relationship: ")
    assert "Contract end date" in flag.message


def test_blank_required_yes_no_is_missing_but_unticked_box_is_no() -> None:
    blank = only_problem(check(commissioner_consent=""))
    assert blank.message == (
        "Commissioning organisation consents to publication: this is missing; expected yes or no."
    )
    assert check(commissioner_consent=False).complete
    assert check(commissioner_consent="☐").values["commissioner_consent"] is False


def test_a_placeholder_in_a_required_field_is_quoted_as_missing() -> None:
    problem = only_problem(check(contract_reference="TBC"))
    assert problem.message == (
        'Service contract reference: we found "TBC", '
        "expected the reference of the service contract."
    )


def test_a_placeholder_in_an_optional_field_is_no_value() -> None:
    result = check(requester_phone="N/A")
    assert result.complete
    assert "requester_phone" not in result.values


def test_text_is_trimmed() -> None:
    result = check(requester_name="  Jane   Smith \n")
    assert result.values["requester_name"] == "Jane Smith"


def test_change_description_longer_than_allowed_says_how_long_it_is() -> None:
    result = check(
        request_type="change", existing_reference="LCR-000001", change_description="x" * 2001
    )
    problem = only_problem(result)
    assert problem.field_key == "change_description"
    assert (
        problem.expected
        == "a description of up to 2,000 characters (this one has 2,001 characters)"
    )
    assert problem.found is not None
    assert len(problem.found) <= 80


# --- rules across fields ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["no", "n", False, "☐"])
def test_declaration_must_be_yes(raw: RawValue) -> None:
    problem = only_problem(check(declaration=raw))
    assert problem.field_key == "declaration"
    assert problem.expected == "yes"


def test_existing_reference_must_look_like_one() -> None:
    result = check(request_type="change", existing_reference="ABC-12", change_description="x")
    problem = only_problem(result)
    assert problem.message == (
        'Existing relationship reference: we found "ABC-12", expected the reference of the '
        "relationship, e.g. LCR-000123."
    )


def test_signed_date_is_required_when_the_contract_is_signed() -> None:
    problem = only_problem(check(contract_signed_date=None))
    assert problem.field_key == "contract_signed_date"
    assert problem.found is None
    assert "because a signed contract is in place" in problem.expected


def test_signed_date_is_not_required_when_the_contract_is_not_signed() -> None:
    assert check(contract_signed="no", contract_signed_date="").complete


def test_signed_date_for_an_unsigned_contract_is_flagged() -> None:
    result = check(contract_signed="no")
    assert result.complete
    assert flag_keys(result) == ["contract_signed_date"]


def test_signed_date_may_not_be_in_the_future() -> None:
    problem = only_problem(check(contract_signed_date="02/06/2017"))
    assert problem.message == (
        'Date the contract was signed: we found "02/06/2017", '
        "expected a date that is not in the future."
    )
    assert check(contract_signed_date=TODAY).complete


@pytest.mark.parametrize("end", ["31/03/2017", "01/04/2017"])
def test_contract_must_end_after_it_starts(end: str) -> None:
    problem = only_problem(check(contract_end=end))
    assert problem.field_key == "contract_end"
    assert problem.expected == "a date after the contract start date (01/04/2017)"


# --- section 251 approvals --------------------------------------------------------------------


@pytest.mark.parametrize("purposes", ["Invoice validation", "Risk stratification", "IV; RS"])
def test_approvals_are_required_when_a_purpose_needs_one(purposes: str) -> None:
    problem = only_problem(check(purposes=purposes, s251_references=""))
    assert problem.field_key == "s251_references"
    assert problem.found is None
    assert "because the purposes include" in problem.expected


def test_approvals_are_not_required_for_commissioning_alone() -> None:
    assert check(purposes="Commissioning", s251_references="n/a").complete


def test_purposes_needing_approval_come_from_the_context() -> None:
    ctx = ValidationContext(
        today=TODAY, dscros=CTX.dscros, purposes_needing_approval=frozenset({"Commissioning"})
    )
    problem = only_problem(check(ctx, purposes="Commissioning", s251_references=""))
    assert problem.field_key == "s251_references"


def test_references_are_normalised_before_they_are_looked_up() -> None:
    result = check(
        purposes="Invoice validation; Risk stratification",
        s251_references="cag 7-04 (a) / 2013 and 7-07(a)/2013",
    )
    assert result.complete, [p.message for p in result.problems]
    assert result.values["s251_references"] == ["CAG 7-04(a)/2013", "CAG 7-07(a)/2013"]


def test_an_unknown_reference_is_a_problem_that_lists_the_known_ones() -> None:
    problem = only_problem(check(s251_references="CAG 9-99(z)/2013"))
    assert problem.found == "CAG 9-99(z)/2013"
    assert problem.expected == (
        "a known approval, one of: CAG 2-03(a)/2013, CAG 7-04(a)/2013, CAG 7-07(a)/2013"
    )


def test_an_expired_reference_is_a_problem_that_names_the_expiry_date() -> None:
    result = check(purposes="Risk stratification", s251_references="CAG 2-03(a)/2013")
    problem = only_problem(result)
    assert problem.message == (
        'Section 251 (CAG) approvals relied on: we found "CAG 2-03(a)/2013", '
        "expected an approval in force; this one expired on 31/03/2017."
    )


def test_each_unreadable_piece_of_the_references_is_its_own_problem() -> None:
    result = check(s251_references="CAG 7-04(a)/2013, see letter; 17/CAG/0001")
    assert [p.found for p in result.problems] == ["see letter", "17/CAG/0001"]
    assert result.values["s251_references"] == ["CAG 7-04(a)/2013"]


def test_a_reference_that_covers_none_of_the_purposes_is_flagged_not_refused() -> None:
    result = check(s251_references="CAG 7-04(a)/2013; CAG 7-07(a)/2013")
    assert result.complete
    assert result.flags == [
        Flag(
            "s251_references",
            "CAG 7-07(a)/2013 (Risk stratification) covers none of the purposes given: "
            "Commissioning; Invoice validation.",
        )
    ]


def test_with_an_empty_register_references_are_flagged_not_refused() -> None:
    ctx = ValidationContext(today=TODAY, dscros=CTX.dscros)
    result = check(ctx)
    assert result.complete
    assert flag_keys(result) == ["s251_references"]


# --- flags for staff --------------------------------------------------------------------------


def test_an_ods_code_missing_from_the_organisation_list_is_flagged() -> None:
    result = check(processor_ods="rx2")
    assert result.complete
    assert result.values["processor_ods"] == "RX2"
    assert result.flags == [
        Flag("processor_ods", "Data processor ODS code: RX2 is not in the organisation list.")
    ]


def test_ods_codes_are_not_flagged_without_an_organisation_list() -> None:
    ctx = ValidationContext(today=TODAY, dscros=CTX.dscros, approvals=CTX.approvals)
    assert check(ctx, processor_ods="RX2").flags == []


def test_an_email_outside_the_allowed_domains_is_flagged() -> None:
    result = check(requester_email="Jane@Gmail.com", authoriser_email="x@leeds.nhs.uk")
    assert result.complete
    assert result.values["requester_email"] == "Jane@gmail.com"
    assert flag_keys(result) == ["requester_email"]


def test_unknown_labels_are_flagged_for_staff() -> None:
    form = RawForm("x.docx", dict(NEW), unknown_labels=["Favourite colour", "Shoe size *:", ":"])
    result = validate(form, CTX)
    assert result.complete
    shown = "Labels that name no field: Favourite colour; Shoe size; :"  # not "Shoe size *:;"
    assert result.flags == [Flag(None, shown)]


# --- the regional office ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["Midlands & East", "midlands and east", "DSCRO Midlands and East"])
def test_dscro_is_matched_to_the_configured_offices(raw: str) -> None:
    assert check(dscro=raw).values["dscro"] == "Midlands and East"


def test_unknown_dscro_lists_the_configured_offices() -> None:
    problem = only_problem(check(dscro="Wales"))
    assert (
        problem.expected == "one of the regional offices: North, Midlands and East, London, South"
    )


def test_dscro_may_be_one_of_an_offices_configured_aliases() -> None:
    """The queues, digests and register import take an office's aliases; so does the form."""
    from dataclasses import replace

    ctx = replace(CTX, dscro_aliases={"Midlands and East": ("M&E", "Mids & East")})
    assert check(ctx, dscro="M&E").values["dscro"] == "Midlands and East"
    assert check(ctx, dscro="mids & east").values["dscro"] == "Midlands and East"
    problem = only_problem(check(ctx, dscro="Wales"))
    assert problem.expected == (
        "one of the regional offices: North, Midlands and East (or M&E, Mids & East), London, South"
    )
    assert only_problem(check(dscro="M&E")).field_key == "dscro"  # an alias nobody configured


def test_missing_dscro_lists_the_configured_offices() -> None:
    problem = only_problem(check(dscro=None))
    assert problem.message == (
        "DSCRO (regional office): this is missing; "
        "expected one of the regional offices: North, Midlands and East, London, South."
    )


def test_each_purpose_needing_an_approval_needs_one_that_covers_it() -> None:
    from datetime import date as _date

    from intake_bot.domain.approvals import Approval
    from intake_bot.domain.rawform import RawForm
    from intake_bot.domain.validation import ValidationContext, validate
    from intake_bot.samples import new_request

    approvals = {
        "CAG 7-07(a)/2013": Approval(
            "CAG 7-07(a)/2013", "IV", ("Invoice validation",), _date(2017, 3, 31)
        ),
        "CAG 7-04(a)/2013": Approval(
            "CAG 7-04(a)/2013", "RS", ("Risk stratification",), _date(2017, 3, 31)
        ),
    }
    ctx = ValidationContext(today=_date(2016, 4, 1), dscros=("North",), approvals=approvals)
    values = new_request(
        0, purposes="Invoice validation; Risk stratification", s251_references="CAG 7-07(a)/2013"
    )
    result = validate(RawForm("t", dict(values)), ctx)
    messages = [p.message for p in result.problems]
    assert len(messages) == 1
    assert "covers Risk stratification" in messages[0] and "CAG 7-04(a)/2013" in messages[0]
    values["s251_references"] = "CAG 7-07(a)/2013; CAG 7-04(a)/2013"
    assert validate(RawForm("t", dict(values)), ctx).complete


def test_an_approval_cannot_be_relied_on_from_its_expiry_day() -> None:
    from datetime import date as _date

    from intake_bot.domain.approvals import Approval

    approval = Approval("CAG 7-04(a)/2013", "RS", ("Risk stratification",), _date(2017, 3, 31))
    assert not approval.expired_on(_date(2017, 3, 30))
    assert approval.expired_on(_date(2017, 3, 31))


@pytest.mark.parametrize(
    "raw", ["ICB", "Sub-ICB location", "sub ICB location", "Integrated Care Board"]
)
def test_a_commissioner_called_what_ccgs_became_in_2022_is_the_forms_ccg_choice(raw: str) -> None:
    result = check(commissioner_type=raw)
    assert result.values["commissioner_type"] == "CCG" and result.problems == []
