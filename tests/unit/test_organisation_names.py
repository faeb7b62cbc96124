"""Organisations as the register shows them and as config/organisations.toml keeps them: ODS
gives names and kinds, the file need only hold the registered contacts."""

from __future__ import annotations

from pathlib import Path

from intake_bot.bootstrap import reference_data_from_config
from intake_bot.config import load_settings


def test_the_register_list_names_a_sub_icb_location_with_its_code_once() -> None:
    from intake_bot.cli.register import _list_row
    from intake_bot.domain.register_view import RegisterRow

    row = RegisterRow(
        "LCR-000001", "NHS WEST YORKSHIRE ICB - 15F", "15F", "CCG",
        "North of England CSU", "0DE", "CSU", "North", ("Commissioning",), (),
        "C-1", None, None, None, "active", None, 2,
    )  # fmt: skip
    cells = _list_row(row, show_all=False)
    assert cells[1:3] == ["NHS WEST YORKSHIRE ICB (15F)", "North of England CSU (0DE)"]


def test_an_organisation_in_config_may_be_its_code_and_contacts_alone(tmp_path: Path) -> None:
    (tmp_path / "organisations.toml").write_text(
        '[[organisation]]\nods = "15f"\ncontacts = ["data@wy.example.nhs.uk"]\n'
    )
    (tmp_path / "s251.toml").write_text("")
    (tmp_path / "intake-bot.toml").write_text(
        f'[paths]\norganisations = "{tmp_path / "organisations.toml"}"\n'
        f's251 = "{tmp_path / "s251.toml"}"\n'
    )
    settings = load_settings(tmp_path / "intake-bot.toml")
    (org,), _ = reference_data_from_config(settings)
    assert (org.ods, org.contacts) == ("15F", ["data@wy.example.nhs.uk"])
