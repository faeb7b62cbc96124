"""The register's rules: references, the publication rule, how a change merges into a version."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake_bot.domain.fields import FIELDS, FIELDS_BY_KEY
from intake_bot.domain.register import (
    EXPORT_COLUMNS,
    NO_COMMISSIONER_CONSENT,
    NO_PROCESSOR_CONSENT,
    NOT_SIGNED,
    RELATIONSHIP_KEYS,
    REQUEST_ONLY_KEYS,
    changed_values,
    format_reference,
    is_active,
    merge_change,
    parse_reference,
    publishable,
)
from intake_bot.domain.register_view import RegisterRow

TODAY = date(2016, 6, 1)
PUBLISHABLE = {"contract_signed": True, "commissioner_consent": True, "processor_consent": True}

# --- references -------------------------------------------------------------------------------


def test_reference_is_lcr_and_six_digits() -> None:
    assert format_reference(1) == "LCR-000001"
    assert format_reference(123) == "LCR-000123"


@pytest.mark.parametrize(
    "text", ["LCR-000123", "lcr 123", "LCR123", " LCR-123 ", "Lcr/000123", "LCR: 123"]
)
def test_reference_is_read_however_it_is_typed(text: str) -> None:
    assert parse_reference(text) == 123


@pytest.mark.parametrize("text", ["", "123", "LR-000123", "LCR-", "LCR-1234567", "LCR-12a", "x"])
def test_text_that_is_not_a_reference_gives_none(text: str) -> None:
    assert parse_reference(text) is None


@given(st.integers(min_value=1, max_value=999_999))
def test_a_formatted_reference_reads_back(number: int) -> None:
    assert parse_reference(format_reference(number)) == number


# --- activity and the publication rule --------------------------------------------------------


def test_a_relationship_is_active_until_its_end_date() -> None:
    assert is_active(None, TODAY)
    assert is_active(date(2016, 6, 2), TODAY)
    assert not is_active(TODAY, TODAY)
    assert not is_active(date(2016, 5, 31), TODAY)


def test_active_signed_and_consented_is_published() -> None:
    assert publishable(PUBLISHABLE, ended_on=None, today=TODAY) == []
    assert publishable(PUBLISHABLE, ended_on=date(2017, 3, 31), today=TODAY) == []


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("contract_signed", NOT_SIGNED),
        ("commissioner_consent", NO_COMMISSIONER_CONSENT),
        ("processor_consent", NO_PROCESSOR_CONSENT),
    ],
)
@pytest.mark.parametrize("value", [False, None, "Yes", "true"])
def test_anything_but_a_yes_withholds_publication(key: str, reason: str, value: object) -> None:
    values = {**PUBLISHABLE, key: value}
    assert publishable(values, ended_on=None, today=TODAY) == [reason]


def test_an_ended_relationship_is_not_published() -> None:
    assert publishable(PUBLISHABLE, ended_on=TODAY, today=TODAY) == ["ended on 01/06/2016"]


def test_every_reason_is_given_at_once() -> None:
    reasons = publishable({}, ended_on=date(2016, 1, 1), today=TODAY)
    assert reasons == [
        "ended on 01/01/2016",
        NOT_SIGNED,
        NO_COMMISSIONER_CONSENT,
        NO_PROCESSOR_CONSENT,
    ]


# --- what a relationship holds, and merging a change ------------------------------------------


def test_relationship_keys_are_form_fields_and_keep_who_asked_but_not_the_request() -> None:
    keys = {f.key for f in FIELDS}
    assert set(RELATIONSHIP_KEYS) <= keys
    assert set(RELATIONSHIP_KEYS) | REQUEST_ONLY_KEYS == keys
    assert {
        "request_type",
        "existing_reference",
        "effective_date",
        "change_description",
        "declaration",
        "requester_role",
        "requester_phone",
    } == REQUEST_ONLY_KEYS
    # Who asked is kept with each version: they are reminded before an s251 approval expires.
    assert {"requester_name", "requester_email"} <= set(RELATIONSHIP_KEYS)


def test_a_change_replaces_filled_values_and_keeps_the_rest() -> None:
    current = {
        "commissioner_name": "NHS Darlington CCG",
        "processor_consent": False,
        "purposes": ["Commissioning"],
        "contract_end": "2019-03-31",
    }
    change = {
        "processor_consent": True,
        "purposes": [],
        "contract_end": "",
        "commissioner_name": None,
        "contract_reference": "SLA-2",
    }
    assert merge_change(current, change) == {
        "commissioner_name": "NHS Darlington CCG",
        "purposes": ["Commissioning"],
        "contract_reference": "SLA-2",
        "contract_end": "2019-03-31",
        "processor_consent": True,
    }


def test_a_change_leaves_out_what_is_about_the_request_but_keeps_who_asked() -> None:
    change = {
        "request_type": "change",
        "existing_reference": "LCR-000001",
        "change_description": "New CSU",
        "declaration": True,
        "requester_phone": "0113 000 0000",
        "requester_email": "a@nhs.net",
        "processor_name": "New CSU",
    }
    assert merge_change({}, change) == {"processor_name": "New CSU", "requester_email": "a@nhs.net"}


def test_merged_values_follow_the_form_order() -> None:
    merged = merge_change({"processor_consent": True}, {"commissioner_name": "A"})
    assert list(merged) == ["commissioner_name", "processor_consent"]


def test_changed_values_name_each_difference_and_ignore_blank_spellings() -> None:
    before = {"processor_consent": False, "datasets": ["SUS"], "contract_reference": ""}
    after = {"processor_consent": True, "datasets": ("SUS",)}
    changes = changed_values(before, after)
    assert [(c.key, c.before, c.after) for c in changes] == [("processor_consent", False, True)]


# --- the export columns -----------------------------------------------------------------------


def test_export_headers_are_the_form_labels_where_a_field_exists() -> None:
    for column in EXPORT_COLUMNS:
        if column.key in FIELDS_BY_KEY:
            assert column.header == FIELDS_BY_KEY[column.key].label
    assert EXPORT_COLUMNS[0].header == "Relationship reference"
    assert EXPORT_COLUMNS[-2].header == "Effective from"
    assert EXPORT_COLUMNS[-1].header == "Legal basis"
    assert [c.key for c in EXPORT_COLUMNS if c.is_date] == [
        "contract_start",
        "contract_end",
        "effective_from",
    ]


def test_every_export_column_is_a_field_or_property_of_the_register_row() -> None:
    names = {f.name for f in dataclasses.fields(RegisterRow)}
    names |= {n for n, member in vars(RegisterRow).items() if isinstance(member, property)}
    assert {c.key for c in EXPORT_COLUMNS} <= names


def test_a_relationship_whose_contract_has_run_out_is_not_published() -> None:
    from datetime import date as _date

    from intake_bot.domain.register import publishable

    values = {
        "contract_signed": True,
        "commissioner_consent": True,
        "processor_consent": True,
        "contract_end": "2019-03-31",
    }
    assert publishable(values, ended_on=None, today=_date(2019, 3, 31)) == []
    assert publishable(values, ended_on=None, today=_date(2019, 4, 1)) == [
        "the service contract ended on 31/03/2019"
    ]
