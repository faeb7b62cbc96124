"""A form typed into an email body is read; an ordinary email is not taken for one."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from intake_bot.forms.text import SOURCE, read_body

TYPED_FORM = """Hello,

Please set up the relationship below.

Type of request: New relationship
Commissioning organisation: NHS Leeds North CCG
Commissioning organisation ODS code: 02V
Data processor: North of England CSU
Your name: Alex Smith
Your email address: alex.smith@nhs.net

Kind regards
Alex
"""


def _read(text: str) -> Mapping[str, object]:
    form = read_body(text)
    assert form is not None
    return form.values


def test_reads_label_value_lines() -> None:
    form = read_body(TYPED_FORM)
    assert form is not None
    assert form.source == SOURCE
    assert form.values == {
        "request_type": "New relationship",
        "commissioner_name": "NHS Leeds North CCG",
        "commissioner_ods": "02V",
        "processor_name": "North of England CSU",
        "requester_name": "Alex Smith",
        "requester_email": "alex.smith@nhs.net",
    }


def test_matches_labels_by_alias_without_regard_to_case_or_punctuation() -> None:
    values = _read("REQUEST TYPE: change\nODS code : 02V\ncommissioner:  NHS Leeds CCG \n")
    assert values == {
        "request_type": "change",
        "commissioner_ods": "02V",
        "commissioner_name": "NHS Leeds CCG",
    }


@pytest.mark.parametrize(
    "line",
    [
        "* Type of request: New relationship",
        "- Type of request: New relationship",
        "• Type of request: New relationship",
        "1. Type of request: New relationship",
        "a) Type of request: New relationship",
        "**Type of request:** New relationship",
        "**Type of request**: **New relationship**",
        "Type of request*: New relationship",
        "Type of request\tNew relationship",
        "Type of request:\tNew relationship",
        "Type of request - New relationship",
        "Type of request – New relationship",
        "   Type of request:    New relationship   ",
    ],
)
def test_tolerates_bullets_bold_numbering_and_separators(line: str) -> None:
    values = _read(f"{line}\nCommissioning organisation: X CCG\nDSCRO: North\n")
    assert values["request_type"] == "New relationship"


def test_value_on_the_line_below_its_label() -> None:
    values = _read("Type of request:\nEnd a relationship\nDSCRO:\nNorth\nYour name: A\n")
    assert values["request_type"] == "End a relationship"
    assert values["dscro"] == "North"


def test_description_and_data_sets_run_on_over_several_lines() -> None:
    values = _read(
        "Type of request: Change to an existing relationship\n"
        "Description of the change: The processor changes\n"
        "from the old CSU to the new one.\n"
        "\n"
        "A second paragraph of the description.\n"
        "Data sets requested:\n"
        "SUS\n"
        "SEM\n"
        "Your name: Alex Smith\n"
    )
    assert values["change_description"] == (
        "The processor changes\nfrom the old CSU to the new one.\n\n"
        "A second paragraph of the description."
    )
    assert values["datasets"] == "SUS\nSEM"
    assert values["requester_name"] == "Alex Smith"


def test_sign_off_is_not_part_of_the_last_value() -> None:
    values = _read(
        "Type of request: New relationship\nDSCRO: North\nData sets requested: SUS\nSEM\n"
        "\nThanks very much\nAlex\n"
    )
    assert values["datasets"] == "SUS\nSEM"
    values = _read("Type of request: New\nDSCRO: North\nData sets requested: SUS\nKind regards\n")
    assert values["datasets"] == "SUS"


def test_single_line_fields_do_not_swallow_following_text() -> None:
    values = _read("Type of request: New\nsome stray remark\nDSCRO: North\nYour name: Alex\n")
    assert values["request_type"] == "New"


def test_first_value_given_for_a_field_is_kept() -> None:
    values = _read("Type of request: New\nDSCRO: North\nType of request: End\nYour name: A\n")
    assert values["request_type"] == "New"


def test_misspelt_labels_inside_the_form_are_reported() -> None:
    form = read_body(
        "Note: please hurry\nType of request: New\nComissioner type: CCG\nDSCRO: North\n"
        "Your name: A\nTel: 0113\nP.S.: thanks\n"
    )
    assert form is not None
    assert form.unknown_labels == ["Comissioner type"]


@pytest.mark.parametrize(
    "quote",
    [
        "> Type of request: End a relationship\n> DSCRO: South\n",
        "On Mon, 3 Apr 2017 at 10:00, DSfC <dsfc@example.org> wrote:\nType of request: End\n",
        "On Mon, 3 Apr 2017 at 10:00, Data Services for Commissioners <dsfc@example.org>\n"
        "wrote:\nType of request: End\n",
        "-----Original Message-----\nType of request: End\n",
        "From: DSfC <dsfc@example.org>\nSent: 03 April 2017 10:00\nTo: Alex\n"
        "Subject: RE: request\n\nType of request: End\n",
        "From: DSfC <dsfc@example.org> Sent: 03 April 2017 10:00\nType of request: End\n",
        "**From:** DSfC\n**Sent:** 03 April 2017 10:00\nType of request: End\n",
        "-- \nType of request: End\n",
    ],
)
def test_stops_at_the_quoted_message_of_a_reply(quote: str) -> None:
    values = _read(f"Type of request: New\nDSCRO: North\nYour name: Alex\n\n{quote}")
    assert values["request_type"] == "New"
    assert values["dscro"] == "North"


def test_a_form_only_in_the_quoted_part_is_not_read() -> None:
    assert read_body("Thanks!\n\n> Type of request: New\n> DSCRO: North\n> Your name: A\n") is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hello,\n\nCould you tell me how to apply? Thanks.\n\nAlex",
        "Hi\n\nSee attached.\n\nAlex Smith\nJob title: Analyst\nTel: 0113 000 0000\n"
        "Email: alex.smith@nhs.net\n",  # a signature names contact fields only
        "Type of request: New\nDSCRO: North\n",  # two fields are not a form
        "Subject: hello\nDate: today\nTo: someone\n",
    ],
)
def test_an_ordinary_email_is_not_a_form(text: str) -> None:
    assert read_body(text) is None


def test_windows_line_endings() -> None:
    values = _read("Type of request: New\r\nDSCRO: North\r\nYour name: Alex\r\n")
    assert values == {"request_type": "New", "dscro": "North", "requester_name": "Alex"}


def test_labels_with_empty_values_count_as_found_but_not_filled() -> None:
    form = read_body("Type of request: New\nDSCRO: North\nYour name: Alex\nExisting reference:\n")
    assert form is not None
    assert form.values["existing_reference"] == ""
    assert form.filled() == 3
