"""Reading request forms from workbooks and CSV: the Request sheet, the Bulk sheet, and layouts
found without sheet names."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime

from openpyxl import Workbook

from intake_bot.forms.csv_sheet import decode, read_csv, sniff_delimiter
from intake_bot.forms.xlsx import read_xlsx

HEADER = ("Type of request", "Commissioning organisation", "Commissioning organisation ODS code")
REQUESTS = (
    ("New relationship", "NHS Airedale CCG", "02N"),
    ("Change to an existing relationship", "NHS Leeds CCG", "15F"),
    ("End a relationship", "NHS Bradford CCG", "02W"),
)


def workbook(sheets: dict[str, Sequence[Sequence[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for values in rows:
            sheet.append(list(values))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_request_sheet_gives_one_form_with_typed_values() -> None:
    data = workbook(
        {
            "Request": [
                ("Legitimate relationship request", None),
                (None, None),
                ("Type of request *", "New relationship"),
                ("Date the change should take effect", datetime(2017, 3, 31)),
                ("Contract start date", datetime(2017, 4, 1, 9, 30)),
                ("Your telephone number", 1132345678),
                ("Data processor is an Accredited Safe Haven", True),
                ("Commissioning organisation ODS code", "  02n "),
            ]
        }
    )

    [form] = read_xlsx(data, "request.xlsx")

    assert form.source == "request.xlsx"
    assert form.values == {
        "request_type": "New relationship",
        "effective_date": date(2017, 3, 31),
        "contract_start": datetime(2017, 4, 1, 9, 30),
        "requester_phone": "1132345678",
        "processor_safe_haven": True,
        "commissioner_ods": "02n",
    }


def test_hidden_key_column_wins_over_an_edited_label() -> None:
    data = workbook({"Request": [("Who are you?", "Jo Bloggs", "requester_name"), *_filler()]})

    [form] = read_xlsx(data, "request.xlsx")

    assert form.values["requester_name"] == "Jo Bloggs"
    assert "Who are you?" not in form.unknown_labels


def test_unknown_labels_with_values_are_kept() -> None:
    data = workbook({"Request": [("Favourite colour", "Blue"), ("Empty note", None), *_filler()]})

    [form] = read_xlsx(data, "request.xlsx")

    assert form.unknown_labels == ["Favourite colour"]


def test_bulk_sheet_with_three_requests_gives_three_forms() -> None:
    data = workbook({"Bulk": [HEADER, REQUESTS[0], (None, None, None), *REQUESTS[1:]]})

    forms = read_xlsx(data, "bulk.xlsx")

    assert [f.values["commissioner_ods"] for f in forms] == ["02N", "15F", "02W"]
    assert [f.source for f in forms] == [
        "bulk.xlsx, Bulk row 2",
        "bulk.xlsx, Bulk row 4",
        "bulk.xlsx, Bulk row 5",
    ]


def test_bulk_header_may_use_keys() -> None:
    header = ("request_type", "commissioner_name", "commissioner_ods", "shoe size")
    data = workbook({"bulk": [header, (*REQUESTS[0], "9")]})

    [form] = read_xlsx(data, "bulk.xlsx")

    assert form.values == dict(zip(header[:3], REQUESTS[0], strict=True))
    assert form.unknown_labels == ["shoe size"]


def test_blank_request_sheet_is_dropped_when_the_bulk_sheet_is_used() -> None:
    data = workbook({"Request": _blank_request(), "Bulk": [HEADER, *REQUESTS]})

    forms = read_xlsx(data, "both.xlsx")

    assert len(forms) == 3


def test_renamed_sheets_are_recognised_by_their_layout() -> None:
    data = workbook(
        {
            "Notes": [("Read me", None)],
            "Sheet1": [("Ignore", None)],
            "Our requests": [HEADER, *REQUESTS],
        }
    )

    forms = read_xlsx(data, "renamed.xlsx")

    assert [f.source for f in forms] == [f"renamed.xlsx, Our requests row {n}" for n in (2, 3, 4)]


def test_renamed_request_sheet_is_recognised_by_its_label_column() -> None:
    data = workbook({"Form": _filler()})

    [form] = read_xlsx(data, "form.xlsx")

    assert form.values["requester_name"] == "Jo Bloggs"


def test_a_renamed_request_sheet_is_read_beside_the_blank_bulk_sheet() -> None:
    """Excel's "Sheet1", or the copy "Request (1)", with the Bulk sheet still there: the Bulk
    sheet's names must not hide a form on a sheet that lost its own."""
    for title in ("Sheet1", "Request (1)"):
        data = workbook({title: _filler(), "Bulk": [HEADER], "Lists": [("New relationship",)]})

        [form] = read_xlsx(data, "renamed.xlsx")

        assert form.values["requester_name"] == "Jo Bloggs"
        assert form.source == f"renamed.xlsx, {title} sheet"


def test_a_second_request_on_a_copy_of_the_request_sheet_is_a_request_too() -> None:
    second = [
        ("Type of request", "End a relationship"),
        ("Your name", "Al Smith"),
        ("DSCRO", "South"),
    ]
    data = workbook({"Request": _filler(), "Bulk": [HEADER], "Request (2)": second})

    forms = read_xlsx(data, "two.xlsx")

    assert [f.values["requester_name"] for f in forms] == ["Jo Bloggs", "Al Smith"]
    assert [f.source for f in forms] == ["two.xlsx", "two.xlsx, Request (2) sheet"]


def test_only_the_copy_filled_in_is_the_request() -> None:
    data = workbook({"Request": _blank_request(), "Request (2)": _filler()})

    [form] = read_xlsx(data, "copy.xlsx")

    assert form.values["requester_name"] == "Jo Bloggs"


def test_workbook_without_the_form_gives_no_forms() -> None:
    data = workbook({"Budget": [("Item", "Cost"), ("Name", 3), ("Email", 4)]})

    assert read_xlsx(data, "budget.xlsx") == []


def test_far_away_cells_do_not_make_a_sheet_slow_or_wide() -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Bulk"
    sheet.append(list(HEADER))
    sheet.append(list(REQUESTS[0]))
    sheet.cell(row=900_000, column=16_000, value="stray")
    buffer = io.BytesIO()
    book.save(buffer)

    forms = read_xlsx(buffer.getvalue(), "stray.xlsx")

    assert len(forms) == 1


def _filler() -> list[tuple[object, ...]]:
    return [("Type of request", "New relationship"), ("Your name", "Jo Bloggs"), ("DSCRO", "North")]


def _blank_request() -> list[tuple[object, ...]]:
    return [("Type of request", None), ("Your name", None), ("DSCRO", None)]


# --- CSV is read like the Bulk sheet ---------------------------------------------------------


def csv_text(rows: Sequence[Sequence[str]], delimiter: str = ",") -> str:
    return "\r\n".join(delimiter.join(f'"{cell}"' for cell in r) for r in rows) + "\r\n"


def test_csv_with_three_requests_gives_three_forms() -> None:
    data = csv_text([HEADER, *REQUESTS]).encode("utf-8-sig")

    forms = read_csv(data, "bulk.csv")

    assert [f.values["request_type"] for f in forms] == [r[0] for r in REQUESTS]
    assert forms[2].source == "bulk.csv, row 4"


def test_csv_delimiter_is_sniffed() -> None:
    data = csv_text([HEADER, *REQUESTS], delimiter=";").encode()

    assert len(read_csv(data, "bulk.csv")) == 3


def test_csv_excel_separator_line_is_honoured() -> None:
    data = ("sep=\t\n" + csv_text([HEADER, REQUESTS[0]], delimiter="\t")).encode()

    [form] = read_csv(data, "bulk.csv")

    assert form.values["commissioner_name"] == "NHS Airedale CCG"


def test_csv_in_windows_1252_is_decoded() -> None:
    rows = [(*HEADER, "Description of the change"), (*REQUESTS[1], "Café – merger")]
    data = csv_text(rows).encode("cp1252")

    [form] = read_csv(data, "bulk.csv")

    assert form.values["change_description"] == "Café – merger"


def test_csv_saved_from_the_request_sheet_is_one_form() -> None:
    data = csv_text([("Type of request", "New relationship"), *[(k, v) for k, v in _pairs()]])

    [form] = read_csv(data.encode(), "request.csv")

    assert form.values["requester_name"] == "Jo Bloggs"
    assert form.source == "request.csv"


def test_csv_without_the_form_gives_no_forms() -> None:
    assert read_csv(b"date,amount\n2017-01-01,3\n", "money.csv") == []


def test_decode_and_sniff_helpers() -> None:
    assert decode("a;b".encode("utf-16")) == "a;b"
    assert sniff_delimiter('"a,b";c;d\n') == ";"
    assert sniff_delimiter("single\n") == ","


def _pairs() -> list[tuple[str, str]]:
    return [("Your name", "Jo Bloggs"), ("DSCRO", "North"), ("Your job title", "Analyst")]


def test_bulk_header_may_sit_below_a_title_row() -> None:
    data = workbook({"Bulk": [("Requests from our CSU",), (None,), HEADER, *REQUESTS]})

    forms = read_xlsx(data, "bulk.xlsx")

    assert [f.source for f in forms] == [f"bulk.xlsx, Bulk row {n}" for n in (4, 5, 6)]
    assert all(f.unknown_labels == [] for f in forms)
