"""What was filed, as the acknowledgement and the request's page list it: a choice is shown as
the form offered it, not as the key the bot stores."""

from __future__ import annotations

from intake_bot.services.notify import summary_rows


def test_the_type_of_request_is_shown_as_the_form_names_it() -> None:
    rows = dict(summary_rows({"request_type": "new", "commissioner_name": "NHS Leeds CCG"}))
    assert rows["Type of request"] == "New relationship"
    assert "NHS Leeds CCG" in rows.values()  # text is shown as typed


def test_a_change_and_an_end_too_and_lists_of_choices_keep_their_order() -> None:
    assert dict(summary_rows({"request_type": "change"}))["Type of request"] == (
        "Change to an existing relationship"
    )
    assert dict(summary_rows({"request_type": "end"}))["Type of request"] == "End a relationship"
    rows = dict(summary_rows({"purposes": ["Risk stratification", "Invoice validation"]}))
    assert "Risk stratification; Invoice validation" in rows.values()


def test_a_value_that_is_no_choice_is_shown_as_it_is() -> None:
    assert dict(summary_rows({"request_type": "renew"}))["Type of request"] == "renew"
