"""Start-up benchmark: how long `intake-bot --help`, `parse FILE` and `queue` take from the shell.

Each command runs as its own process (the installed `intake-bot` script next to this Python),
several times, and the wall time from start to exit is taken: Python's own start-up, the
imports the command needs, reading the settings and, for `queue`, the database. `queue` and
`parse` run against a fresh SQLite database in a temporary folder that `intake-bot demo` has
filled (sample requests and enquiries), with settings pointing there, as an operator's are;
`parse` runs a second time with no database to read (its approvals and organisations then come
from config/, as on a machine where someone only tries a form).

The package's bytecode is compiled first, as `pip install` of the package (and so the Docker
image) does. A checkout installed with `pip install -e .` under PYTHONDONTWRITEBYTECODE=1 has
none, and every start then compiles about ninety modules (about a twentieth of a second);
`--as-is` times that case.

Goal: each command under --limit (0.25 s) at the median. The first run of each command is a
warm-up (the page cache) and is not counted.

Usage: python bench/startup.py [--runs 9] [--limit 0.25] [--json out.json] [--as-is]
"""

from __future__ import annotations

import argparse
import compileall
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, machine, median, print_table, write_json

import intake_bot
from intake_bot import samples

SCRIPT = Path(sys.executable).with_name("intake-bot")


def environment(folder: Path, database: str = "intake-bot.db") -> dict[str, str]:
    """The settings a deployment would have, all in `folder`: the embedded defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    env.update(
        {
            "INTAKE_BOT_CONFIG": str(REPO / "config/intake-bot.toml"),
            "INTAKE_BOT_DATABASE_URL": f"sqlite:///{folder / database}",
            "INTAKE_BOT_MAILBOX_URL": f"maildir:{folder / 'maildir'}",
            "INTAKE_BOT_OUTGOING_URL": f"file:{folder / 'outbox'}",
            "INTAKE_BOT_PATHS_S251": str(REPO / "config/s251.toml"),
            "INTAKE_BOT_PATHS_ORGANISATIONS": str(REPO / "config/organisations.toml"),
            "INTAKE_BOT_LOG_LEVEL": "WARNING",
            "NO_COLOR": "1",
        }
    )
    return env


def prepare(folder: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The sample forms and a filled database in `folder`; the commands to time, each with its
    environment."""
    docx = folder / "request.docx"
    docx.write_bytes(samples.docx_form(samples.new_request(0)))
    xlsx = folder / "request.xlsx"
    xlsx.write_bytes(samples.xlsx_request(samples.new_request(1)))
    demo = subprocess.run(
        [str(SCRIPT), "demo"], cwd=folder, env=environment(folder), capture_output=True, text=True
    )
    if demo.returncode != 0:
        raise SystemExit(f"intake-bot demo failed:\n{demo.stdout}\n{demo.stderr}")
    filled, bare = environment(folder), environment(folder, database="none-yet/intake-bot.db")
    return {
        "--help": (["--help"], filled),
        "parse request.docx": (["parse", str(docx)], filled),
        "parse request.xlsx": (["parse", str(xlsx)], filled),
        "parse request.docx, no database": (["parse", str(docx)], bare),
        "parse request.xlsx, no database": (["parse", str(xlsx)], bare),
        "queue": (["queue"], filled),
    }


def compile_bytecode() -> None:
    """The package's .pyc files, as an installed package has them (py_compile writes them even
    under PYTHONDONTWRITEBYTECODE, as pip's own compile step does)."""
    if not compileall.compile_dir(Path(intake_bot.__file__).parent, quiet=1):
        raise SystemExit("could not compile the package's bytecode")


def time_command(args: list[str], env: dict[str, str], folder: Path, runs: int) -> list[float]:
    """Wall times of `runs` runs (after one warm-up), in seconds."""
    times: list[float] = []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run([str(SCRIPT), *args], cwd=folder, env=env, capture_output=True)
        elapsed = time.perf_counter() - start
        if done.returncode not in (0, 1):  # parse: 0 accepted, 1 rejected
            err = done.stderr.decode(errors="replace")
            raise SystemExit(f"intake-bot {' '.join(args)} exited {done.returncode}:\n{err}")
        if i:
            times.append(elapsed)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per command (default 9)")
    parser.add_argument("--limit", type=float, default=0.25, help="seconds (default 0.25)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--as-is", action="store_true", help="do not compile the package's bytecode first"
    )
    opts = parser.parse_args()
    if not opts.as_is:
        compile_bytecode()
    results: dict[str, Any] = {
        "machine": machine(),
        "limit_s": opts.limit,
        "bytecode": "as found" if opts.as_is else "compiled",
        "commands": {},
    }
    rows: list[tuple[str, str]] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="intake-bot-startup-") as tmp:
        folder = Path(tmp)
        for label, (args, env) in prepare(folder).items():
            times = time_command(args, env, folder, opts.runs)
            mid, worst = median(times), max(times)
            ok = mid < opts.limit
            failed |= not ok
            results["commands"][label] = {"median_s": mid, "max_s": worst, "times_s": times}
            verdict = "met" if ok else "NOT MET"
            rows.append(
                (f"intake-bot {label}", f"median {mid:.3f} s, max {worst:.3f} s: {verdict}")
            )
    bytecode = "bytecode as found" if opts.as_is else "bytecode compiled"
    title = f"Start-up, {opts.runs} runs each, {bytecode} (goal: median < {opts.limit} s)"
    print_table(title, rows)
    if opts.json:
        write_json(opts.json, results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
