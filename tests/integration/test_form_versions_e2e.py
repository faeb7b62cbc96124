"""The request form's versions through the real pipeline (Maildir in, the real templates, `.eml`
files out, SQLite and PostgreSQL): the current form, an older version that maps, a version
that does not, and a form made by hand."""

from __future__ import annotations

import os
import subprocess
import sys
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from intake_bot.bootstrap import App, build, load_reference_data
from intake_bot.domain.form_versions import CURRENT_VERSION
from intake_bot.domain.rawform import Versioning
from intake_bot.forms.files import read_file
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, XLSX, docx_form, email, new_request
from intake_bot.store import migrate
from intake_bot.store.store import Store
from intake_bot.worker import Worker
from tests.conftest import FrozenClock, make_settings, sql_store
from tests.old_forms import FORM_2016, with_declared_version, word_form, workbook_form

FORMS = ("legitimate-relationship-request.docx", "legitimate-relationship-request.xlsx")


def _sent(app: App) -> list[EmailMessage]:
    folder = Path(app.settings.outgoing.url.split(":", 1)[1])
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [message_from_bytes(p.read_bytes(), policy=default) for p in files]


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return " ".join(str(body.get_content()).split())


def _attached(msg: EmailMessage) -> dict[str, bytes]:
    return {str(part.get_filename()): part.get_content() for part in msg.iter_attachments()}


def _poll(app: App, filename: str, content_type: str, data: bytes) -> EmailMessage:
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    deliver(maildir, email(attachments=[(filename, content_type, data)]))
    Worker(app).run_once()
    (reply,) = _sent(app)
    assert reply["To"] == "aisha.khan@nhs.net"
    return reply


def _flags(app: App) -> list[str]:
    with app.store.unit() as unit:
        (request,) = unit.requests.matching()
        return [f["message"] for f in request.flags]


def _status(app: App, request_id: int) -> str:
    with app.store.unit() as unit:
        request = unit.requests.get(request_id)
        assert request is not None
        return request.status


def _filled_current_form(app: App) -> bytes:
    from tests.unit.test_form_roundtrip import TYPED, fill_docx

    return fill_docx(app.blank_form("docx"), {**TYPED, "dscro": "North"})


def test_the_current_form_is_filed_with_no_version_flag_and_no_form_attached(app: App) -> None:
    reply = _poll(app, "request.docx", DOCX, _filled_current_form(app))

    assert "newer request form" not in _text(reply)
    assert _attached(reply) == {}
    assert not any("version" in flag for flag in _flags(app))


def test_an_older_form_is_read_through_its_mapping_and_the_reply_sends_the_newer_one(
    app: App,
) -> None:
    values = new_request(0)
    reply = _poll(app, "our-2016-form.docx", DOCX, word_form(values))

    with app.store.unit() as unit:
        (request,) = unit.requests.matching()
        assert request.values["commissioner_name"] == values["commissioner_name"]  # "CCG name"
        assert request.values["contract_reference"] == values["contract_reference"]  # "DSA ref"
        assert request.values["authoriser_email"] == values["authoriser_email"]  # "SIRO email"
        assert request.status == "triaged" and request.queue == "north/new"
    assert "Request received" in str(reply["Subject"])
    text = _text(reply)
    assert "A newer request form exists" in text
    assert "version 2016.1" in text and f"version {CURRENT_VERSION}" in text
    attached = _attached(reply)
    assert sorted(attached) == sorted(FORMS)  # the current blank, in both formats
    for name, data in attached.items():
        (blank,) = read_file(name, "", data).forms
        assert (blank.version, blank.versioning) == (CURRENT_VERSION, Versioning.CURRENT)
    assert any("version 2016.1" in flag for flag in _flags(app))


def test_an_older_workbook_with_mistakes_asks_for_the_correction_on_the_newer_form(
    app: App,
) -> None:
    values = new_request(2, contract_signed_date="31/13/2016")
    reply = _poll(app, "bulk-2016.xlsx", XLSX, workbook_form(values))

    text = _text(reply)
    assert "Action needed" in str(reply["Subject"])
    assert "Date the contract was signed" in text and '"31/13/2016"' in text  # today's label
    # the form sent back replaces the one on file: every answer, not only the one corrected
    assert "please copy all your answers into the current form, attached" in text
    assert "the form you send back replaces the one on file" in text
    assert sorted(_attached(reply)) == sorted(FORMS)


def test_a_version_we_cannot_map_is_not_filed_the_sender_is_told_and_staff_see_it(
    app: App,
) -> None:
    reply = _poll(app, "next-year.docx", DOCX, word_form(new_request(0), version="2031.1"))

    with app.store.unit() as unit:
        assert list(unit.requests.matching()) == []
    text = _text(reply)
    assert str(reply["Subject"]).startswith("We could not read your form")  # about no request
    assert "next-year.docx" in text and "version 2031.1 of the request form" in text
    # newer than any we read: staff will answer; today's form is sent should they prefer it
    assert "newer than the forms we can read" in text and "staff will look" in text
    assert "Please fill in the blank request form" not in text
    assert sorted(_attached(reply)) == sorted(FORMS)
    (item,) = app.queues.items("quarantine").items
    message = app.messages.show(item.reference)
    assert message.outcome == "unreadable" and message.awaiting_staff
    assert "form_version" in message.note
    assert message.attachments[0].outcome == "rejected"


def _beside_a_readable_form(app: App, other: tuple[str, str, bytes]) -> tuple[EmailMessage, str]:
    """One email: today's form for LR-000001, and `other` beside it; its acknowledgement."""
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    readable = ("request.docx", DOCX, docx_form(new_request(0)))
    deliver(maildir, email(attachments=[readable, other]))
    Worker(app).run_once()
    (reply,) = _sent(app)
    return reply, _text(reply)


def test_a_version_we_cannot_map_beside_a_form_we_can_is_flagged_on_the_request(
    app: App,
) -> None:
    # a version between the ones read, with no file: the sender is asked for today's form
    unreadable = ("next-year.docx", DOCX, word_form(new_request(1), version="2019.3"))
    reply, text = _beside_a_readable_form(app, unreadable)
    assert "next-year.docx" in text and "version 2019.3 of the request form" in text
    # the reason given promises the current form, attached: it is; and the acknowledgement asks
    # for it in a new email, as a reply to it would be read as a correction of LR-000001
    assert f"current form (version {CURRENT_VERSION}), attached" in text
    assert "please use a new email, not a reply to this one" in text
    assert "a reply is taken as about LR-000001 alone" in text
    assert sorted(_attached(reply)) == sorted(FORMS)
    # the sender was told staff would look at it: staff see it on the request filed
    (flag,) = [flag for flag in _flags(app) if flag.startswith("not read")]
    assert '"next-year.docx", a form on version 2019.3' in flag
    # said to staff, not the sender's sentence: it may be another office's request
    assert "another office's request" in flag and "copy your answers" not in flag


def test_a_hostile_version_is_neither_echoed_nor_used_as_a_path_nor_refused(app: App) -> None:
    hostile = "../../../etc/passwd"
    data = with_declared_version(word_form(new_request(0)), control=hostile, prop=hostile)
    reply = _poll(app, "odd.docx", DOCX, data)

    # no version at all, as far as the bot is concerned: read by its labels, staff told
    text = _text(reply)
    assert "passwd" not in text and "Request received" in str(reply["Subject"])
    (flag,) = [f for f in _flags(app) if "do not recognise" in f]
    assert "passwd" not in flag


def test_a_hand_made_form_is_read_by_its_labels_and_flagged_for_staff(app: App) -> None:
    reply = _poll(app, "typed.docx", DOCX, docx_form(new_request(0)))

    assert "Request received" in str(reply["Subject"])
    assert "newer request form" not in _text(reply) and _attached(reply) == {}
    (flag,) = [f for f in _flags(app) if "version" in f]
    assert "carries no version" in flag and "read by its labels" in flag


def test_a_correction_sent_on_the_older_form_is_applied_and_again_sent_the_newer_one(
    app: App,
) -> None:
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    first = _poll(app, "2016.xlsx", XLSX, workbook_form(new_request(1, declaration="")))
    assert "Action needed" in str(first["Subject"])

    fixed = email(
        subject="RE: " + str(first["Subject"]),
        attachments=[("2016-fixed.xlsx", XLSX, workbook_form(new_request(1)))],
        headers={"In-Reply-To": str(first["Message-ID"])},
    )
    deliver(maildir, fixed)
    Worker(app).run_once()
    second = next(m for m in _sent(app) if m["Message-ID"] != first["Message-ID"])
    assert "[LR-000001] Request received" in str(second["Subject"])
    assert "A newer request form exists" in _text(second)
    assert sorted(_attached(second)) == sorted(FORMS)
    assert _status(app, 1) == "triaged"


def test_a_2016_form_that_declares_no_version_is_read_by_its_labels_and_sent_the_newer_one(
    app: App,
) -> None:
    # The 2016 form predates the bot: such forms carry no version, retyped or not.
    values = new_request(0)
    reply = _poll(app, "ours.docx", DOCX, word_form(values, version=None, controls=False))

    text = _text(reply)
    assert "Request received" in str(reply["Subject"])
    assert "A newer request form exists" in text
    # it declared no version: it is not told it sent one
    assert "uses labels of an older version (2016.1)" in text and "You sent version" not in text
    assert sorted(_attached(reply)) == sorted(FORMS)
    with app.store.unit() as unit:
        (request,) = unit.requests.matching()
        assert request.values["commissioner_ods"] == values["commissioner_ods"]
    (flag,) = [f for f in _flags(app) if "version" in f]
    assert "carries no version" in flag and "version 2016.1" in flag


def test_a_2016_form_typed_into_the_email_body_is_read_by_its_labels_and_sent_the_newer_one(
    app: App,
) -> None:
    # Someone without Word copies the 2016 form's labels into the email and fills them in.
    values = new_request(1)
    lines = [f"{FORM_2016[key][0]}: {value}" for key, value in values.items() if key in FORM_2016]
    body = "Hello,\n\n" + "\n".join(lines) + "\n\nKind regards\n"
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    deliver(maildir, email(body=body))
    Worker(app).run_once()
    (reply,) = _sent(app)

    text = _text(reply)
    assert "Request received" in str(reply["Subject"]), text
    assert "uses labels of an older version (2016.1)" in text
    assert sorted(_attached(reply)) == sorted(FORMS)
    with app.store.unit() as unit:
        (request,) = unit.requests.matching()
        for key in ("commissioner_ods", "processor_ods", "contract_reference", "authoriser_name"):
            assert request.values[key] == values[key], key
    (flag,) = [f for f in _flags(app) if "version" in f]
    assert "version 2016.1" in flag


def _incomplete_then_reply(app: App, *files: tuple[str, str, bytes]) -> list[EmailMessage]:
    """A request filed incomplete, then a reply to its acknowledgement carrying `files`: the
    emails sent after the first."""
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    first = _poll(app, "request.docx", DOCX, docx_form(new_request(0, declaration="")))
    assert "Action needed" in str(first["Subject"])
    reply = email(
        subject="RE: " + str(first["Subject"]),
        attachments=list(files),
        headers={"In-Reply-To": str(first["Message-ID"])},
    )
    deliver(maildir, reply)
    Worker(app).run_once()
    return [m for m in _sent(app) if m["Message-ID"] != first["Message-ID"]]


def test_a_reply_whose_only_form_is_on_a_version_we_cannot_map_is_answered_and_flagged(
    app: App,
) -> None:
    later = ("2031.docx", DOCX, word_form(new_request(0), version="2031.1"))
    (answer,) = _incomplete_then_reply(app, later)

    text = _text(answer)
    assert "2031.docx" in text and "version 2031.1 of the request form" in text
    assert sorted(_attached(answer)) == sorted(FORMS)
    assert answer["To"] == "aisha.khan@nhs.net"
    assert any("not read" in f and "2031.docx" in f for f in _flags(app))
    assert _status(app, 1) == "incomplete"


def test_the_cannot_read_reply_to_a_reply_about_a_request_names_the_request_in_its_subject(
    app: App,
) -> None:
    later = ("2019.docx", DOCX, word_form(new_request(0), version="2019.3"))
    (answer,) = _incomplete_then_reply(app, later)

    assert str(answer["Subject"]).startswith("[LR-000001] We could not read your form - ")
    assert "version 2019.3 of the request form" in _text(answer)


def test_a_correction_beside_a_form_we_cannot_map_is_applied_and_both_are_on_the_request(
    app: App,
) -> None:
    fixed = ("fixed.docx", DOCX, docx_form(new_request(0)))
    later = ("2031.docx", DOCX, word_form(new_request(1), version="2031.1"))
    (answer,) = _incomplete_then_reply(app, fixed, later)

    assert "[LR-000001] Request received" in str(answer["Subject"])
    # newer than ours: staff look at it, so no blank form is asked for nor attached
    assert "2031.docx" in _text(answer) and _attached(answer) == {}
    assert any("not read" in f and "2031.docx" in f for f in _flags(app))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    env["COLUMNS"] = "200"
    run = [sys.executable, "-m", "intake_bot", *args]
    return subprocess.run(run, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_cli_writes_the_current_form_and_parse_says_how_each_form_was_read(
    tmp_path: Path,
) -> None:
    # From a folder with no config/: the mappings shipped in the package are the ones read.
    written = _cli("form", "-o", "blank.xlsx", cwd=tmp_path)
    assert written.returncode == 0 and f"form version {CURRENT_VERSION}" in written.stdout
    files = {
        "blank.xlsx": (tmp_path / "blank.xlsx").read_bytes(),
        "old.docx": word_form(new_request(0)),
        "typed.docx": docx_form(new_request(0)),
        "next.docx": word_form(new_request(0), version="2031.1"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    shown = {name: _cli("parse", name, cwd=tmp_path) for name in files}

    assert f"form: the current form (version {CURRENT_VERSION})" in shown["blank.xlsx"].stdout
    assert "form: an older version of the form (2016.1): read through its mapping" in (
        shown["old.docx"].stdout
    )
    assert shown["old.docx"].returncode == 0, shown["old.docx"].stdout  # complete and accepted
    assert "form: no form version (made by hand" in shown["typed.docx"].stdout
    assert "! the form carries no version" in shown["typed.docx"].stdout
    assert shown["next.docx"].returncode == 1
    assert "version 2031.1 of the request form" in shown["next.docx"].stdout


def test_forms_read_ahead_in_reader_processes_keep_their_versions(app: App) -> None:
    # Several emails in one poll are read by a pool of reader processes (parse_workers 0: one
    # a CPU): the mappings travel with the limits to each of them.
    maildir = Path(app.settings.mailbox.url.split(":", 1)[1])
    for number, version in enumerate(("2016.1", "2031.1", "2016.1")):
        data = word_form(new_request(number), version=version)
        sender = f"person{number}@nhs.net"
        deliver(maildir, email(sender=sender, attachments=[(f"{number}.docx", DOCX, data)]))
    Worker(app).run_once()

    by_sender = {str(m["To"]): _text(m) for m in _sent(app)}
    assert "A newer request form exists" in by_sender["person0@nhs.net"]
    assert "version 2031.1 of the request form" in by_sender["person1@nhs.net"]
    assert "A newer request form exists" in by_sender["person2@nhs.net"]


def test_a_form_on_a_version_newer_than_the_blank_with_a_file_is_acknowledged_and_flagged(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    # A new version needs a file, not code: its sender is not told "a newer form exists".
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "2031.1.toml").write_text(
        'version = "2031.1"\n[labels]\n"Commissioning organisation" = "commissioner_name"\n',
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, database_url, paths={"forms": forms})
    app = build(settings, clock=clock, store=Store.from_url(database_url))
    try:
        migrate.upgrade(sql_store(app))
        load_reference_data(app)
        names = {"commissioner_name": ("Commissioning organisation", "commissioner_name")}
        data = word_form(new_request(0), version="2031.1", names=names, controls=False)
        reply = _poll(app, "next-year.docx", DOCX, data)

        assert "Request received" in str(reply["Subject"])
        assert "newer request form" not in _text(reply) and _attached(reply) == {}
        with app.store.unit() as unit:
            (request,) = unit.requests.matching()
            assert request.values["commissioner_name"] == new_request(0)["commissioner_name"]
        assert any(
            "version 2031.1: read through config/forms/2031.1.toml, newer than the blank the "
            f"bot sends, {CURRENT_VERSION}" in flag
            for flag in _flags(app)
        )
    finally:
        sql_store(app).dispose()


def test_a_hand_made_form_whose_label_is_not_known_is_told_which_labels_were_not_read(
    app: App,
) -> None:
    """A form made by hand, one label spelt its own way: the answer beside it is missing, and
    the reply quotes the labels not known (the sender's own words, back to them) and attaches
    the blank form, rather than only calling the answer missing."""
    names = {"commissioner_name": ("Commissioning organization", "commissioner_name")}
    data = word_form(new_request(0), version=None, names=names, controls=False)
    reply = _poll(app, "our-form.docx", DOCX, data)

    text = _text(reply)
    assert "Commissioning organisation: this is missing" in text
    assert 'not ones we know, so the answers beside them were not read: "Commissioning ' in text
    assert "organization" in text and "the blank request form is attached" in text
    assert sorted(_attached(reply)) == sorted(FORMS)
    html = reply.get_body(("html",))
    assert html is not None and "Commissioning organization" in str(html.get_content())


def test_a_complete_hand_made_form_is_not_told_of_labels_it_did_not_need(app: App) -> None:
    import io

    from docx import Document

    from intake_bot.domain.fields import FIELDS_BY_KEY

    document = Document()
    table = document.add_table(rows=0, cols=2)
    for key, value in [*new_request(0).items(), ("", "ABC-123")]:
        label, cell = table.add_row().cells
        label.text = FIELDS_BY_KEY[key].label if key else "Our internal reference"
        cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    reply = _poll(app, "our-form.docx", DOCX, buffer.getvalue())
    assert "Action needed" not in str(reply["Subject"])
    assert "not ones we know" not in _text(reply) and _attached(reply) == {}
    assert any("Our internal reference" in flag for flag in _flags(app))  # staff still see it


def test_a_newer_version_beside_a_form_we_read_attaches_no_blank_the_ack_does_not_mention(
    app: App,
) -> None:
    """The acknowledgement says staff will look at a form newer than ours: it asks for no copy
    into today's form, so it attaches none."""
    newer = ("next.docx", DOCX, word_form(new_request(2), version="2031.1", names={}))
    reply, text = _beside_a_readable_form(app, newer)
    assert "next.docx" in text and "newer than the forms we can read" in text
    assert "attached" not in text and _attached(reply) == {}
