"""ODS import benchmark: time and peak memory of `intake-bot ods import` on the largest files it
must take and on files built to exhaust it.

Each file is written to a temporary folder and imported by its own `intake-bot ods import`
process into a fresh SQLite database, so that the peak RSS (Linux `ru_maxrss` of the child) is
that import's alone. Hostile files are made `--mb` large (63 by default, under the 64 MB a file
may be): a line of commas, one quoted cell of line breaks, old-Mac line ends, blank lines,
bytes that are not UTF-8, a JSON list of millions of objects, one of millions of texts, and a
workbook whose one row holds millions of empty cells. Each must be refused (exit 2) naming the
file; the legitimate report of `--rows` rows (200,000 by default, the most a file may hold) must
import (exit 0).

Goal: a hostile file refused within --max-seconds (10) and --max-mb (1,000 MB); the largest
legitimate file imported within the same memory.

Usage: python bench/ods_import.py [--mb 63] [--rows 200000] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import machine, print_table, write_json

SCRIPT = Path(sys.executable).with_name("intake-bot")
MB = 1024 * 1024


def _report(rows: int) -> bytes:
    lines = []
    for n in range(rows):
        code = f"Z{n:05d}"
        cells = [code, f"NHS ORGANISATION {n}", "Y63", "QWO", "A STREET", "", "", "LEEDS", ""]
        cells += ["LS1 1AA", "20130401", "", "", "C", "", "", "", "0113 000 0000"]
        cells += [""] * 9
        lines.append(",".join(f'"{c}"' if c else "" for c in cells))
    return ("\r\n".join(lines) + "\r\n").encode()


def _workbook_row(cells: int) -> bytes:
    """A real workbook (openpyxl's) whose first sheet is one row of `cells` empty cells."""
    from openpyxl import Workbook

    book = Workbook()
    plain = io.BytesIO()
    book.save(plain)
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sheet = f'<worksheet xmlns="{ns}"><sheetData><row r="1">{"<c/>" * cells}</row></sheetData>'
    out = io.BytesIO()
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            is_sheet = info.filename == "xl/worksheets/sheet1.xml"
            target.writestr(info, sheet + "</worksheet>" if is_sheet else source.read(info))
    return out.getvalue()


def files(mb: int, rows: int) -> dict[str, tuple[Callable[[], bytes], int]]:
    """name: (how to make it, the exit code it must give)."""
    size = mb * MB
    return {
        "commas.csv": (lambda: b"," * size, 2),
        "quoted-line-breaks.csv": (lambda: b'"a\n",' * (size // 5), 2),
        "old-mac-lines.csv": (lambda: b"ab\r" * (size // 3), 2),
        "blank-lines.csv": (lambda: b"\n" * size, 2),
        "stray-bytes.csv": (lambda: b"\x80\x81," * (size // 3), 2),
        "objects.json": (lambda: b"[" + b"{}," * (size // 3) + b"{}]", 2),
        "texts.json": (lambda: b"[" + b'"ab",' * (size // 5) + b'"ab"]', 2),
        "one-row.xlsx": (lambda: _workbook_row(size // 4), 2),
        f"report-{rows}-rows.csv": (lambda: _report(rows), 0),
    }


def run(path: Path, env: dict[str, str]) -> dict[str, Any]:
    """One import in a child of its own; its peak RSS from `wait4` (that child's alone)."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [str(SCRIPT), "ods", "import", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stderr is not None
    said = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    return {
        "exit": child.returncode,
        "seconds": round(time.perf_counter() - start, 2),
        "peak_mb": round(usage.ru_maxrss / 1024),  # Linux: KB
        "said": (said.strip().splitlines() or [""])[-1][:100],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=63)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--max-mb", type=int, default=1_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        for name, (make, wanted) in files(args.mb, args.rows).items():
            path = Path(folder) / name
            path.write_bytes(make())
            db = Path(folder) / f"{name}.db"
            env = {**os.environ, "INTAKE_BOT_DATABASE_URL": f"sqlite:///{db}", "NO_COLOR": "1"}
            subprocess.run([str(SCRIPT), "db", "upgrade"], env=env, capture_output=True, check=True)
            measured = run(path, env)
            path.unlink()
            ok = measured["exit"] == wanted and (measured["peak_mb"] or 0) <= args.max_mb
            ok = ok and (wanted == 0 or measured["seconds"] <= args.max_seconds)
            failed = failed or not ok
            results[name] = {**measured, "wanted_exit": wanted, "ok": ok}
    rows = [
        (
            name,
            f"exit {r['exit']}  {r['seconds']:6.2f} s  {r['peak_mb']:5} MB  "
            f"{'ok' if r['ok'] else 'NOT MET'}  {r['said']}",
        )
        for name, r in results.items()
    ]
    print_table(f"ods import: {args.mb} MB hostile files, {args.rows:,} report rows", rows)
    if args.json:
        write_json(args.json, {"machine": machine(), "files": results})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
