"""Readers of the files the Organisation Data Service (ODS) publishes, as an operator downloads
them: the CSV reports of ODS Data Search and Export (eccg, ecsu, etr...), the successor
organisations file (succ), and FHIR R4 Organization resources from the Organisation Data
Terminology API. Every file is treated as hostile: bounded in bytes and rows, and every fault is
an `OdsError` that names the file, the line and the problem."""

from intake_bot.ods.files import read_ods_file

__all__ = ["read_ods_file"]
