"""The letter templates: an edit is used from the next letter a second later, with no restart,
and the folder is not looked at for every letter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from intake_bot.mail.render import RELOAD_CHECK_SECONDS, Renderer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _write(folder: Path, name: str, text: str, *, mtime_ns: int | None = None) -> None:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    if mtime_ns is not None:  # an edit a second later, whatever the file system's resolution
        os.utime(path, ns=(mtime_ns, mtime_ns))


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    email = tmp_path / "email"
    email.mkdir()
    _write(email, "_base.html", "<p>{% block body %}{% endblock %}</p>")
    _write(email, "hello.subject.txt", "Hello {{ name }}")
    _write(email, "hello.txt", "Dear {{ name }}, version 1")
    _write(email, "hello.html", '{% extends "_base.html" %}{% block body %}v1{% endblock %}')
    return tmp_path


def test_an_edit_is_used_once_the_check_interval_has_passed(templates: Path) -> None:
    clock = Clock()
    renderer = Renderer(templates, clock=clock)
    assert renderer.render("hello", {"name": "Ann"}).text == "Dear Ann, version 1"

    later = (templates / "email/hello.txt").stat().st_mtime_ns + 2_000_000_000
    _write(templates / "email", "hello.txt", "Dear {{ name }}, version 2", mtime_ns=later)
    clock.now += RELOAD_CHECK_SECONDS / 2
    assert renderer.render("hello", {"name": "Ann"}).text == "Dear Ann, version 1"

    clock.now += RELOAD_CHECK_SECONDS
    assert renderer.render("hello", {"name": "Ann"}).text == "Dear Ann, version 2"


def test_an_edited_base_template_is_used_too(templates: Path) -> None:
    clock = Clock()
    renderer = Renderer(templates, clock=clock)
    assert renderer.render("hello", {"name": "Ann"}).html == "<p>v1</p>"

    later = (templates / "email/_base.html").stat().st_mtime_ns + 2_000_000_000
    _write(
        templates / "email",
        "_base.html",
        "<div>{% block body %}{% endblock %}</div>",
        mtime_ns=later,
    )
    clock.now += RELOAD_CHECK_SECONDS
    assert renderer.render("hello", {"name": "Ann"}).html == "<div>v1</div>"


def test_the_folder_is_looked_at_once_an_interval(
    templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    renderer = Renderer(templates, clock=clock)
    renderer.render("hello", {"name": "Ann"})  # compiles the templates
    looks: list[str] = []
    real_scandir = os.scandir

    def counting_scandir(path: str | os.PathLike[str]) -> object:
        looks.append(str(path))
        return real_scandir(path)

    monkeypatch.setattr("intake_bot.mail.render.os.scandir", counting_scandir)
    monkeypatch.setattr("os.stat", _no_stat)  # Jinja2's own check would stat each template
    for _ in range(50):
        clock.now += RELOAD_CHECK_SECONDS / 100
        renderer.render("hello", {"name": "Ann"})
    assert looks == []

    clock.now += RELOAD_CHECK_SECONDS
    renderer.render("hello", {"name": "Ann"})  # the folder is unchanged: nothing is reloaded
    assert looks == [str(templates / "email")]


def _no_stat(*args: object, **kwargs: object) -> object:
    raise AssertionError("a template file was looked at for a letter")
