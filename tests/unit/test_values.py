"""Reading one raw value: every spelling from FORM.md, and what is said when it cannot be read."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake_bot.domain import values as v
from intake_bot.domain.fields import COMMISSIONER_TYPES, REQUEST_TYPES, RequestType
from intake_bot.domain.rawform import RawValue

# --- yes/no -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["yes", "Yes", " YES ", "y", "Y", "true", "TRUE", "x", "X", "✓", "✔", "✔\ufe0f", "☒", "☑"],
)
def test_yes_no_reads_every_spelling_of_yes(raw: str) -> None:
    assert v.parse_yes_no(raw) is True


@pytest.mark.parametrize("raw", ["no", "No", " NO ", "n", "N", "false", "False", "☐"])
def test_yes_no_reads_every_spelling_of_no(raw: str) -> None:
    assert v.parse_yes_no(raw) is False


def test_yes_no_reads_word_checkboxes() -> None:
    assert v.parse_yes_no(True) is True
    assert v.parse_yes_no(False) is False


@pytest.mark.parametrize("raw", ["maybe", "yes - signed", "1", "0", "✗", "ok"])
def test_yes_no_refuses_anything_else(raw: str) -> None:
    with pytest.raises(v.ValueProblem) as caught:
        v.parse_yes_no(raw)
    assert caught.value.expected == "yes or no"


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_blank_is_not_no_but_blank(raw: RawValue) -> None:
    assert v.is_blank(raw)
    with pytest.raises(v.ValueProblem):
        v.parse_yes_no(raw)


@pytest.mark.parametrize("raw", ["☐", False])
def test_unticked_box_is_not_blank(raw: RawValue) -> None:
    assert not v.is_blank(raw)


@pytest.mark.parametrize("raw", ["N/A", "n/a", "Not applicable", "TBC", "-", "none"])
def test_placeholders_are_recognised(raw: str) -> None:
    assert v.is_placeholder(raw)


@pytest.mark.parametrize("raw", ["Na", "Nadia", "NHS", None, False])
def test_names_and_non_text_are_not_placeholders(raw: RawValue) -> None:
    assert not v.is_placeholder(raw)


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "31/03/2017",
        "31-03-2017",
        "31.03.2017",
        "31.03.17",
        "31/3/17",
        " 31 / 03 / 2017 ",
        "31 March 2017",
        "31 march 2017",
        "31 Mar 2017",
        "31 Mar. 2017",
        "31-Mar-2017",
        "31-Mar-17",
        "31st March 2017",
        "31st of March 2017",
        "31 March, 2017",
        "Friday, 31 March 2017",
        "Fri 31 Mar 2017",
        "2017-03-31",
        "2017/03/31",
        "2017-03-31 00:00:00",
        "2017-03-31T10:15:00",
        date(2017, 3, 31),
        datetime(2017, 3, 31, 0, 0),
        datetime(2017, 3, 31, 14, 30),
    ],
)
def test_date_reads_every_uk_spelling_and_real_dates(raw: RawValue) -> None:
    assert v.parse_date(raw) == date(2017, 3, 31)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1st April 2017", date(2017, 4, 1)),
        ("2nd Sept 2017", date(2017, 9, 2)),
        ("3rd Sep 2017", date(2017, 9, 3)),
        ("04/07/2017", date(2017, 7, 4)),  # 4 July, never 7 April
        ("1.4.17", date(2017, 4, 1)),
    ],
)
def test_date_day_comes_first(raw: str, expected: date) -> None:
    assert v.parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "03/31/2017",  # American order: an error, not a guess
        "31/13/2017",
        "30/02/2017",
        "31 Smarch 2017",
        "March 31, 2017",
        "31/03",
        "31/03/0217",
        "next Tuesday",
        "42825",
        True,
    ],
)
def test_date_refuses_what_it_would_have_to_guess(raw: RawValue) -> None:
    with pytest.raises(v.ValueProblem) as caught:
        v.parse_date(raw)
    assert caught.value.expected == v.DATE_EXPECTED


def test_date_with_wrong_day_of_week_says_which_day_it_was() -> None:
    with pytest.raises(v.ValueProblem) as caught:
        v.parse_date("Monday 31 March 2017")
    assert "31 March 2017 is a Friday" in caught.value.expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)))
def test_date_round_trips_through_uk_forms(day: date) -> None:
    assert v.parse_date(f"{day:%d/%m/%Y}") == day
    assert v.parse_date(f"{day.day} {day:%B %Y}") == day
    assert v.parse_date(day.isoformat()) == day


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_two_digit_years_are_this_century(day: date) -> None:
    assert v.parse_date(f"{day:%d.%m.%y}") == day


# --- ODS codes, emails, references -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [("00C", "00C"), (" q44 ", "Q44"), ("0de", "0DE"), ("RX1", "RX1"), ("a81001", "A81001")],
)
def test_ods_code_is_trimmed_and_upper_cased(raw: str, code: str) -> None:
    assert v.parse_ods(raw) == code


@pytest.mark.parametrize("raw", ["0C", "A810012", "RX-1", "R X1", "NHS Leeds", False])
def test_ods_code_must_be_3_to_6_letters_and_digits(raw: RawValue) -> None:
    with pytest.raises(v.ValueProblem) as caught:
        v.parse_ods(raw)
    assert caught.value.expected == v.ODS_EXPECTED


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("jane.smith@nhs.net", "jane.smith@nhs.net"),
        (" Jane.Smith@NHS.NET ", "Jane.Smith@nhs.net"),
        ("Jane Smith <jane.smith@nhs.net>", "jane.smith@nhs.net"),
        ("mailto:jane.smith@nhs.net", "jane.smith@nhs.net"),
    ],
)
def test_email_is_checked_and_normalised(raw: str, address: str) -> None:
    assert v.parse_email(raw) == address


@pytest.mark.parametrize("raw", ["jane.smith", "jane@nhs", "jane@@nhs.net", "jane smith@nhs.net"])
def test_email_with_bad_syntax_is_a_problem(raw: str) -> None:
    with pytest.raises(v.ValueProblem) as caught:
        v.parse_email(raw)
    assert caught.value.expected == v.EMAIL_EXPECTED


@pytest.mark.parametrize(
    ("address", "allowed"),
    [("a@nhs.net", True), ("a@leeds.nhs.uk", True), ("a@NHS.NET", True), ("a@gmail.com", False)],
)
def test_email_domain_allowed_matches_suffixes(address: str, allowed: bool) -> None:
    assert v.email_domain_allowed(address, ("nhs.net", "nhs.uk")) is allowed


def test_email_domain_allowed_is_not_fooled_by_a_longer_name() -> None:
    assert not v.email_domain_allowed("a@notnhs.net", ("nhs.net",))


@pytest.mark.parametrize(
    "raw", ["LCR-000123", "lcr 123", "LCR123", "lcr-123", " LCR/000123 ", "Lcr 000123"]
)
def test_relationship_reference_is_normalised(raw: str) -> None:
    assert v.parse_relationship_ref(raw) == "LCR-000123"


@pytest.mark.parametrize("raw", ["123", "LCR-1234567", "ABC-000123", "LCR"])
def test_relationship_reference_needs_lcr_and_up_to_six_digits(raw: str) -> None:
    with pytest.raises(v.ValueProblem):
        v.parse_relationship_ref(raw)


# --- text, lists and choices ----------------------------------------------------------------


def test_text_is_trimmed_to_one_line() -> None:
    assert v.parse_text("  NHS   Leeds\nCCG ") == "NHS Leeds CCG"


def test_long_text_keeps_its_lines() -> None:
    assert v.parse_long_text(" First line\r\nSecond line \n") == "First line\nSecond line"


def test_text_where_excel_made_a_date_is_a_problem() -> None:
    with pytest.raises(v.ValueProblem) as caught:
        v.parse_text(date(2017, 3, 1), "the reference of the service contract")
    assert caught.value.expected == "the reference of the service contract"


@pytest.mark.parametrize(
    "raw",
    [
        "SUS, SEM; Local Provider Flows",
        "SUS\nSEM\nLocal Provider Flows",
        "SUS\r\nSEM\r\n\r\nLocal Provider Flows\r\n",
        " SUS ,, SEM ;; Local  Provider  Flows ; ",
        "• SUS\n• SEM\n• Local Provider Flows",
        "- SUS\n- SEM\n- Local Provider Flows",
        "1. SUS\n2. SEM\n3. Local Provider Flows",
        "SUS, SEM, sus, Local Provider Flows, SEM",
    ],
)
def test_list_splits_trims_and_drops_empties_and_repeats(raw: str) -> None:
    assert v.parse_list(raw) == ["SUS", "SEM", "Local Provider Flows"]


def test_list_keeps_hyphens_inside_items() -> None:
    assert v.parse_list("A-and-E, Out-patients") == ["A-and-E", "Out-patients"]


def test_list_of_nothing_is_a_problem() -> None:
    with pytest.raises(v.ValueProblem):
        v.parse_list(" ; , \n", "the data sets")


@given(st.lists(st.text(alphabet="abcdefghij XYZ-()", min_size=1), max_size=8))
def test_list_splitting_is_idempotent(items: list[str]) -> None:
    once = v.split_list(", ".join(items))
    assert v.split_list("\n".join(once)) == once


@pytest.mark.parametrize(
    ("raw", "purposes"),
    [
        ("Commissioning", ["Commissioning"]),
        ("commissioning; INVOICE VALIDATION", ["Commissioning", "Invoice validation"]),
        ("Invoice  validation\nRisk stratification", ["Invoice validation", "Risk stratification"]),
        ("IV, RS", ["Invoice validation", "Risk stratification"]),
        ("Invoice Validation (IV)", ["Invoice validation"]),
        ("Commissioning and Risk stratification", ["Commissioning", "Risk stratification"]),
        ("Commissioning & IV", ["Commissioning", "Invoice validation"]),
        ("Other, other", ["Other"]),
    ],
)
def test_purposes_match_labels_and_aliases(raw: str, purposes: list[str]) -> None:
    assert v.parse_purposes(raw) == purposes


def test_unknown_purposes_are_quoted_on_their_own() -> None:
    with pytest.raises(v.ValueProblem) as caught:
        v.parse_purposes("Commissioning, Marketing; Research")
    assert caught.value.found == "Marketing; Research"
    assert caught.value.expected == v.PURPOSES_EXPECTED
    assert "Invoice validation" in v.PURPOSES_EXPECTED


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("New relationship", RequestType.NEW),
        ("new", RequestType.NEW),
        ("NEW RELATIONSHIP:", RequestType.NEW),
        ("Change to an existing relationship", RequestType.CHANGE),
        ("amendment", RequestType.CHANGE),
        ("End a relationship", RequestType.END),
        ("Terminate", RequestType.END),
    ],
)
def test_choice_matches_value_label_or_alias(raw: str, value: str) -> None:
    assert v.parse_choice(raw, REQUEST_TYPES, "a type") == value


def test_choice_matches_aliases_with_different_spacing_and_case() -> None:
    assert v.parse_choice("commissioning-support unit", COMMISSIONER_TYPES, "") == "CSU"
    assert v.parse_choice("Local  area-team", COMMISSIONER_TYPES, "") == (
        "NHS England Local Area Team"
    )


def test_unknown_choice_says_what_is_expected() -> None:
    with pytest.raises(v.ValueProblem) as caught:
        v.parse_choice("Hospital", COMMISSIONER_TYPES, "CCG, CSU or Other")
    assert caught.value.expected == "CCG, CSU or Other"


_OFFICES = ("North", "Midlands and East", "London", "South")


@pytest.mark.parametrize(
    ("raw", "office"),
    [
        ("North", "North"),
        ("north", "North"),
        ("Midlands & East", "Midlands and East"),
        ("midlands and  east", "Midlands and East"),
        ("DSCRO London", "London"),
        ("South region", "South"),
        ("NHS England North", "North"),
    ],
)
def test_dscro_matches_configured_offices_loosely(raw: str, office: str) -> None:
    assert v.parse_dscro(raw, _OFFICES) == office


def test_unknown_dscro_lists_the_offices() -> None:
    with pytest.raises(v.ValueProblem) as caught:
        v.parse_dscro("Wales", _OFFICES)
    assert caught.value.expected == (
        "one of the regional offices: North, Midlands and East, London, South"
    )


# --- display ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (None, ""),
        (" maybe ", "maybe"),
        ("two\nlines", "two lines"),
        (True, "☒"),
        (False, "☐"),
        (date(2017, 3, 31), "31/03/2017"),
        (datetime(2017, 3, 31, 9, 0), "31/03/2017"),
    ],
)
def test_display_quotes_values_as_a_person_wrote_them(raw: RawValue, shown: str) -> None:
    assert v.display(raw) == shown


def test_display_shortens_long_text() -> None:
    shown = v.display("word " * 100)
    assert len(shown) <= 80
    assert shown.endswith("…")
