"""The layering STYLE.md asks for, checked by walking every module's imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "intake_bot"
STDLIB = sys.stdlib_module_names


def _imports() -> dict[str, set[str]]:
    """Module path (e.g. "domain/values.py") → the top-level names of everything it imports."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(PACKAGE))] = names
    return found


IMPORTS = _imports()


def _importers(prefix: str) -> set[str]:
    return {
        module
        for module, names in IMPORTS.items()
        if any(n == prefix or n.startswith(prefix + ".") for n in names)
    }


@pytest.mark.parametrize(
    ("library", "allowed"),
    [
        # The adapters, and `intake-bot check`'s probes, which need a connection step by step.
        ("imapclient", {"mail/imap.py", "mail/imap_probe.py"}),
        ("smtplib", {"mail/smtp.py", "mail/smtp_probe.py"}),
        ("jinja2", {"mail/render.py", "web/templating.py"}),  # emails; the console's pages
        ("starlette", {p for p in IMPORTS if p.startswith("web/")}),
        ("apscheduler", {"worker.py", "config_schedules.py"}),  # settings check cron lines
        ("typer", {p for p in IMPORTS if p.startswith("cli/")}),
        ("msgspec", {p for p in IMPORTS if p.startswith("config")}),  # the settings' structs
        ("msal", {"mail/oauth_providers.py"}),  # tokens
        # HTTP: Graph (graph.py and graph_send.py name httpx's transport type for tests) and
        # the token endpoint msal speaks to.
        (
            "httpx",
            {
                "mail/graph_http.py",
                "mail/graph.py",
                "mail/graph_send.py",
                "mail/oauth_providers.py",
            },
        ),
    ],
)
def test_each_outside_system_has_one_seam(library: str, allowed: set[str]) -> None:
    assert _importers(library) <= allowed


def test_sqlmodel_and_sqlalchemy_stay_in_the_store() -> None:
    for library in ("sqlmodel", "sqlalchemy", "alembic"):
        assert {m for m in _importers(library) if not m.startswith("store/")} == set(), library


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    for module, names in IMPORTS.items():
        if not module.startswith("domain/"):
            continue
        outside = {
            n
            for n in names
            if n.split(".")[0] not in STDLIB and not n.startswith("intake_bot.domain")
        }
        if module == "domain/values.py":
            outside -= {"email_validator"}  # address syntax: a checker, no I/O
        assert outside == set(), f"{module} imports {outside}"


def test_dependencies_point_inwards() -> None:
    inner_layers = {
        "domain/": ("services", "store", "mail", "cli", "bootstrap", "worker", "forms"),
        "services/": ("cli", "bootstrap", "worker", "web"),
        "store/": ("services", "cli", "bootstrap", "worker", "mail", "forms"),
    }
    for module, names in IMPORTS.items():
        for layer, forbidden in inner_layers.items():
            if module.startswith(layer):
                bad = {n for n in names for f in forbidden if n.startswith(f"intake_bot.{f}")}
                assert bad == set(), f"{module} reaches outwards to {bad}"


def test_services_use_no_concrete_mailbox_or_transport() -> None:
    adapters = (
        "intake_bot.mail.imap",
        "intake_bot.mail.smtp",
        "intake_bot.mail.maildir",
        "intake_bot.mail.file_outbox",
    )
    for module, names in IMPORTS.items():
        if module.startswith("services/"):
            assert not {n for n in names if n.startswith(adapters)}, module


def test_only_config_reads_the_environment() -> None:
    readers = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "os.environ" in text or "os.getenv" in text:
            readers.add(str(path.relative_to(PACKAGE)))
    # tnef.py hands the environment on, unread, to the child process that unpacks winmail.dat.
    assert readers <= {"config.py", "forms/tnef.py"}


SERVICE_FORBIDDEN = ("sqlmodel", "sqlalchemy", "jinja2", "intake_bot.mail", "intake_bot.store")


def test_services_talk_to_ports_not_to_adapters() -> None:
    for module, names in IMPORTS.items():
        if module.startswith("services/"):
            bad = {n for n in names for f in SERVICE_FORBIDDEN if n == f or n.startswith(f + ".")}
            assert bad == set(), f"{module} imports {bad}"


def test_entry_points_reach_services_only_through_the_application() -> None:
    for module, names in IMPORTS.items():
        if module.startswith(("cli/", "web/")) or module == "worker.py":
            bad = {n for n in names if n.startswith(("intake_bot.services", "intake_bot.store"))}
            assert bad == set(), f"{module} imports {bad}"


def test_the_ports_speak_no_imap() -> None:
    text = "".join((PACKAGE / p).read_text(encoding="utf-8") for p in ("ports.py", "ports_mail.py"))
    text = text.lower()
    for word in ("uidvalidity", "imap", "high_uid", "after_uid", "uid:"):
        assert word not in text, word


def test_no_module_is_over_400_lines() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 400, f"{path.relative_to(PACKAGE)} has {lines} lines"


def test_no_module_is_named_after_a_standard_library_module() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.stem not in ("__init__", "__main__"):
            assert path.stem not in STDLIB, path.relative_to(PACKAGE)
