"""`intake-bot parse` over every real-world file of the corpus: a clean result or rejection."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from intake_bot.domain.validation import ValidationContext
from intake_bot.services.preview import Verdict, preview

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("INTAKE_BOT_CORPUS", REPO.parent / "shared" / "corpus"))
SUBJECT = "Data Services for Commissioners - Legitimate Relationships"
CTX = ValidationContext(today=__import__("datetime").date(2016, 3, 1), dscros=("North", "South"))


def _files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "README.md")


def test_every_corpus_file_gives_a_verdict_quickly() -> None:
    if not CORPUS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"corpus not found at {CORPUS}")
        pytest.skip(f"corpus not found at {CORPUS}")
    files = _files()
    assert len(files) > 1000
    verdicts: dict[Verdict, int] = {}
    slowest = (0.0, "")
    for path in files:
        started = time.perf_counter()
        result = preview(path.name, path.read_bytes(), CTX, SUBJECT)  # a crash fails the test here
        took = time.perf_counter() - started
        assert took < 10, f"{path} took {took:.1f} s"
        slowest = max(slowest, (took, str(path.relative_to(CORPUS))))
        verdicts[result.verdict] = verdicts.get(result.verdict, 0) + 1
        assert result.summary, path
    print(f"{len(files)} files: {verdicts}; slowest {slowest[0] * 1000:.0f} ms ({slowest[1]})")
    assert verdicts.get(Verdict.REJECTED, 0) > 100  # bounces, auto-replies, legacy files...
