"""Reading request forms from Word documents: content controls, tables, ticks and odd layouts."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from intake_bot.domain.fields import FIELDS
from intake_bot.domain.rawform import RawForm
from intake_bot.forms.docx import DocxError, read_document_xml, read_docx
from intake_bot.forms.generate import blank_docx

NAMESPACES = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
)


def document(body: str, namespaces: str = NAMESPACES) -> bytes:
    return f"<w:document {namespaces}><w:body>{body}</w:body></w:document>".encode()


def para(text: str) -> str:
    return f'<w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def row(*cells: str) -> str:
    return "<w:tr>" + "".join(f"<w:tc>{para(c)}</w:tc>" for c in cells) + "</w:tr>"


def table(*rows: str) -> str:
    return "<w:tbl>" + "".join(rows) + "</w:tbl>"


def control(key: str, inner: str, properties: str = "") -> str:
    return (
        f'<w:sdt><w:sdtPr><w:tag w:val="{key}"/>{properties}</w:sdtPr>'
        f"<w:sdtContent>{inner}</w:sdtContent></w:sdt>"
    )


def run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def checkbox(key: str, ticked: bool, glyph: str = "☐") -> str:
    state = "1" if ticked else "0"
    return control(
        key, run(glyph), f'<w14:checkbox><w14:checked w14:val="{state}"/></w14:checkbox>'
    )


def read(body: str) -> list[RawForm]:
    return read_document_xml(document(body), "request.docx")


MINIMAL_ROWS = (
    row("Type of request", "New relationship"),
    row("Commissioning organisation", "NHS Airedale CCG"),
    row("Your name", "Jo Bloggs"),
)


def test_blank_generated_form_reads_as_one_empty_form_with_every_field() -> None:
    [form] = read_docx(blank_docx(), "blank.docx")

    assert set(form.values) == {f.key for f in FIELDS}
    assert all(value in (None, False) for value in form.values.values())
    assert form.unknown_labels == []


def test_text_control_is_read_by_its_tag() -> None:
    [form] = read(
        para(control("requester_name", run("Jo Bloggs"))) + para(control("dscro", run("North")))
    )

    assert form.values == {"requester_name": "Jo Bloggs", "dscro": "North"}


def test_control_showing_its_prompt_is_empty() -> None:
    body = para(control("requester_name", run("Enter your name."), "<w:showingPlcHdr/>"))
    body += para(control("dscro", run("North"))) + para(control("requester_role", run("Analyst")))

    [form] = read(body)

    assert form.values["requester_name"] is None


def test_checkbox_control_is_a_bool_whatever_glyph_it_shows() -> None:
    body = checkbox("declaration", True, glyph="x") + checkbox("contract_signed", False)
    body += para(control("dscro", run("North")))

    [form] = read(f"<w:p>{body}</w:p>")

    assert form.values["declaration"] is True
    assert form.values["contract_signed"] is False


def test_date_control_gives_the_picked_date_not_the_shown_text() -> None:
    picked = '<w:date w:fullDate="2017-03-31T00:00:00Z"><w:dateFormat w:val="M/d/yyyy"/></w:date>'
    body = para(control("effective_date", run("3/31/2017"), picked))
    body += para(control("contract_start", run("01/04/2017"), "<w:date/>"))
    body += para(control("dscro", run("North")))

    [form] = read(body)

    assert form.values["effective_date"] == date(2017, 3, 31)
    assert form.values["contract_start"] == "01/04/2017"


def test_lines_left_after_a_control_in_its_cell_belong_to_it() -> None:
    cell = f"<w:tc><w:p>{control('datasets', run('SUS'))}</w:p>{para('HES')}</w:tc>"
    labelled = f"<w:tc><w:p>{run('Name: ')}{control('requester_name', run('Jo'))}</w:p></w:tc>"
    body = table(
        f"<w:tr><w:tc>{para('Data sets requested')}</w:tc>{cell}</w:tr>",
        f"<w:tr><w:tc>{para('Requester')}</w:tc>{labelled}</w:tr>",
    )

    [form] = read(body + para(control("dscro", run("North"))))

    assert form.values["datasets"] == "SUS\nHES"
    assert form.values["requester_name"] == "Jo"


def test_checkbox_wrapped_in_a_titled_control_is_read() -> None:
    inner = checkbox("", True, glyph="☒").replace('<w:tag w:val=""/>', "")
    wrapped = (
        '<w:sdt><w:sdtPr><w:alias w:val="Data processor is an Accredited Safe Haven"/></w:sdtPr>'
        f"<w:sdtContent><w:p>{inner}</w:p></w:sdtContent></w:sdt>"
    )

    [form] = read(wrapped + para(control("dscro", run("North"))))

    assert form.values["processor_safe_haven"] is True


def test_control_found_by_its_title_when_the_tag_is_missing() -> None:
    titled = (
        '<w:sdt><w:sdtPr><w:alias w:val="Your email address"/></w:sdtPr>'
        f"<w:sdtContent>{run('jo@nhs.net')}</w:sdtContent></w:sdt>"
    )
    [form] = read(f"<w:p>{titled}</w:p>" + para(control("dscro", run("North"))))

    assert form.values["requester_email"] == "jo@nhs.net"


def test_controls_titled_with_loose_words_are_not_the_form() -> None:
    def titled(title: str, text: str) -> str:
        return (
            f'<w:p><w:sdt><w:sdtPr><w:alias w:val="{title}"/></w:sdtPr>'
            f"<w:sdtContent>{run(text)}</w:sdtContent></w:sdt></w:p>"
        )

    body = titled("Name", "A. Person") + titled("Email", "a@b.c") + titled("Phone", "0123")

    assert read(body) == []


def test_table_of_labels_and_values_is_read_when_controls_were_lost() -> None:
    body = table(
        row("TYPE OF REQUEST*:", "Change to an existing relationship"),
        row("  existing relationship reference : ", "LCR-000123"),
        row("1. Your name", "Jo Bloggs"),
        row("Purposes (tick all that apply)", "Commissioning; Invoice validation"),
    )

    [form] = read(body)

    assert form.values == {
        "request_type": "Change to an existing relationship",
        "existing_reference": "LCR-000123",
        "requester_name": "Jo Bloggs",
        "purposes": "Commissioning; Invoice validation",
    }


def test_four_column_rows_hold_two_fields_each() -> None:
    body = table(
        row("Your name", "Jo Bloggs", "Your job title", "Analyst"),
        row("Type of request", "New relationship", "DSCRO", "London"),
    )

    [form] = read(body)

    assert form.values["requester_role"] == "Analyst"
    assert form.values["dscro"] == "London"


def test_paragraphs_in_a_cell_become_lines() -> None:
    cell = f"<w:tc>{para('HES')}{para('SUS')}</w:tc>"
    body = table(f"<w:tr><w:tc>{para('Data sets requested')}</w:tc>{cell}</w:tr>", *MINIMAL_ROWS)

    [form] = read(body)

    assert form.values["datasets"] == "HES\nSUS"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("☒ Yes ☐ No", "Yes"),
        ("☐ Yes ☒ No", "No"),
        ("Yes ☐   No ☒", "No"),
        ("☐ Yes ☐ No", None),
        ("☒", True),
        ("☐", False),
        ("yes", "yes"),
    ],
)
def test_tick_box_characters_in_a_yes_no_cell(cell: str, expected: object) -> None:
    [form] = read(table(row("Declaration", cell), *MINIMAL_ROWS))

    assert form.values["declaration"] == expected


def test_ticked_options_are_listed_for_a_many_choice_field() -> None:
    cell = "☒ Commissioning ☐ Invoice validation ☒ Risk stratification ☐ Other"

    [form] = read(table(row("Purposes", cell), *MINIMAL_ROWS))

    assert form.values["purposes"] == "Commissioning; Risk stratification"


def test_legacy_form_checkbox_fields_count_as_ticks() -> None:
    def legacy_box(state: str) -> str:
        return (
            '<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:checkBox><w:sizeAuto/>'
            f"{state}</w:checkBox></w:ffData></w:fldChar></w:r>"
            '<w:r><w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        )

    ticked = legacy_box('<w:default w:val="0"/><w:checked/>')
    unticked = legacy_box('<w:default w:val="0"/>')
    yes_no = f"<w:p>{ticked}{run(' Yes ')}{unticked}{run(' No')}</w:p>"
    body = table(
        f"<w:tr><w:tc>{para('Declaration')}</w:tc><w:tc>{yes_no}</w:tc></w:tr>", *MINIMAL_ROWS
    )

    [form] = read(body)

    assert form.values["declaration"] == "Yes"


def test_wingdings_box_symbols_count_as_ticks() -> None:
    symbols = (
        '<w:p><w:r><w:sym w:font="Wingdings" w:char="F0FE"/></w:r>'
        f'{run(" Yes ")}<w:r><w:sym w:font="Wingdings" w:char="F0A8"/></w:r>{run(" No")}</w:p>'
    )
    body = table(
        f"<w:tr><w:tc>{para('Declaration')}</w:tc><w:tc>{symbols}</w:tc></w:tr>", *MINIMAL_ROWS
    )

    [form] = read(body)

    assert form.values["declaration"] == "Yes"


def test_a_repeated_table_gives_one_form_each() -> None:
    first = table(*MINIMAL_ROWS)
    second = table(
        row("Type of request", "End a relationship"),
        row("Commissioning organisation", "NHS Leeds CCG"),
        row("Your name", "Sam Smith"),
    )

    forms = read(first + para("") + second)

    assert [f.values["commissioner_name"] for f in forms] == ["NHS Airedale CCG", "NHS Leeds CCG"]
    assert [f.source for f in forms] == ["request.docx, form 1", "request.docx, form 2"]


def test_an_unused_repeat_of_the_table_is_dropped() -> None:
    blank = table(row("Type of request", ""), row("Commissioning organisation", ""))

    forms = read(table(*MINIMAL_ROWS) + blank)

    assert len(forms) == 1
    assert forms[0].source == "request.docx"


def test_a_header_row_table_gives_one_form_per_row() -> None:
    body = table(
        row("Type of request", "Commissioning organisation", "Commissioning organisation ODS code"),
        row("New relationship", "NHS Airedale CCG", "02N"),
        row("New relationship", "NHS Leeds CCG", "15F"),
        row("", "", ""),
    )

    forms = read(body)

    assert [f.values["commissioner_ods"] for f in forms] == ["02N", "15F"]
    assert forms[1].source == "request.docx, table row 3"


def test_three_label_value_pairs_across_a_row_are_not_a_header() -> None:
    body = table(
        row("Type of request", "New relationship", "Your name", "Jo", "DSCRO", "North"),
        row("Your job title", "Analyst", "Your email address", "jo@nhs.net", "", ""),
    )

    [form] = read(body)

    assert form.values["dscro"] == "North"
    assert form.values["requester_email"] == "jo@nhs.net"


def test_unknown_labels_are_kept_for_staff() -> None:
    [form] = read(table(*MINIMAL_ROWS, row("Favourite colour", "Blue"), row("Notes", "")))

    assert form.unknown_labels == ["Favourite colour"]


def test_typed_label_lines_are_read_when_there_is_no_table() -> None:
    body = para("Type of request: New relationship") + para("Your name: Jo Bloggs")
    body += para("Your email address: jo@nhs.net") + para("Thanks, Jo")

    [form] = read(body)

    assert form.values == {
        "request_type": "New relationship",
        "requester_name": "Jo Bloggs",
        "requester_email": "jo@nhs.net",
    }


def test_a_document_without_the_form_gives_no_forms() -> None:
    assert read(para("Dear team, please find attached.") + table(row("Name", "Jo"))) == []


def test_deleted_and_moved_text_is_not_read() -> None:
    changed = (
        '<w:p><w:del w:id="1" w:author="x"><w:r><w:delText>Old CCG</w:delText></w:r></w:del>'
        '<w:moveFrom w:id="2" w:author="x"><w:r><w:t>Moved away</w:t></w:r></w:moveFrom>'
        '<w:ins w:id="3" w:author="x"><w:r><w:t>New CCG</w:t></w:r></w:ins></w:p>'
    )
    body = table(
        f"<w:tr><w:tc>{para('Commissioning organisation')}</w:tc><w:tc>{changed}</w:tc></w:tr>",
        row("Type of request", "New relationship"),
        row("Your name", "Jo"),
    )

    [form] = read(body)

    assert form.values["commissioner_name"] == "New CCG"


def test_fallback_copies_of_text_boxes_are_not_read_twice() -> None:
    boxed = (
        "<mc:AlternateContent><mc:Choice Requires='wps'>"
        f"{table(*MINIMAL_ROWS)}</mc:Choice><mc:Fallback>"
        f"{table(row('Type of request', 'End a relationship'))}</mc:Fallback></mc:AlternateContent>"
    )

    [form] = read(boxed)

    assert form.values["request_type"] == "New relationship"


def test_strict_open_xml_namespace_is_read() -> None:
    strict = 'xmlns:w="http://purl.oclc.org/ooxml/wordprocessingml/main"'

    [form] = read_document_xml(document(table(*MINIMAL_ROWS), strict), "strict.docx")

    assert form.values["requester_name"] == "Jo Bloggs"


def test_document_type_declarations_are_refused() -> None:
    xml = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    xml += document(table(row("Your name", "&e;")))

    with pytest.raises(DocxError):
        read_document_xml(xml, "evil.docx")


def test_main_document_is_found_through_the_package_relationships() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="/word/main.xml" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument"/></Relationships>',
        )
        archive.writestr("word/main.xml", document(table(*MINIMAL_ROWS)))

    [form] = read_docx(buffer.getvalue(), "renamed.docx")

    assert form.values["requester_name"] == "Jo Bloggs"
