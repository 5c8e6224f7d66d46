"""``make mutation``: mutmut over the hand-written core, one module at a time, and a per-module table.

mutmut (configured in pyproject.toml, ``[tool.mutmut]``) keeps its results in ``mutants/``, so a
second run re-tests only the functions that changed. The table goes to stdout and into
``docs/quality.md`` between the two ``mutation-table`` markers, with the date and the commit.

The score counts killed and timed-out mutants (and those mypy would catch) over all mutants.
The adjusted score also sets aside the equivalent mutants listed by name in the
"Equivalent mutants" section of ``docs/quality.md`` (one line each, with why it cannot be observed).

Usage: ``python tools/mutation.py [MODULE ...]`` (default: every module, in order); ``--recheck``
re-tests cached survivors (after tests were added); ``--report`` writes the table from the cached
results without running anything.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "dify_mgmt_async"
MODULES = ("_retry", "_errors", "_pagination", "_validation", "_uploads", "_core", "_transport", "_ratelimit")
QUALITY = ROOT / "docs" / "quality.md"
START, END = "<!-- mutation-table:start -->", "<!-- mutation-table:end -->"
TARGET = 85.0

# mutmut's exit codes (mutmut/stats.py): what counts as caught.
KILLED = {1, 3, 37}  # a test failed, pytest's internal error, caught by the type checker
TIMEOUT = {36, 24, -24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}


HASHES = ROOT / "mutants" / "module-hashes.json"


def source_hash(module: str) -> str:
    return hashlib.sha256((ROOT / "src" / PACKAGE / f"{module}.py").read_bytes()).hexdigest()


def run(module: str, max_children: int, *, recheck: bool) -> None:
    """Test the module's mutants that have no result yet (and its survivors with ``recheck``).

    mutmut re-tests every mutant named on its command line, so the run is narrowed to the mutants
    still unchecked. When the module's source changed, mutmut must first regenerate its mutants
    (which resets the results of the changed functions only): one cheap mutant is run for that.
    """
    hashes: dict[str, str] = json.loads(HASHES.read_text()) if HASHES.exists() else {}
    if module in hashes and hashes[module] != source_hash(module):
        durations = results(module, "durations_by_key")
        probe = min(durations, key=lambda name: durations[name] or 0.0) if durations else None
        if probe is None or not mutmut_run([probe], max_children):
            hashes.pop(module)  # the probe was renamed or failed: run every mutant
    names = [f"{PACKAGE}.{module}.*"]
    if module in hashes:
        codes = results(module)
        names = [
            name for name, code in codes.items() if code is None or (recheck and (code in SURVIVED or code in NO_TESTS))
        ]
        if not names:
            print(f"{module}: every mutant has a cached result (--recheck re-tests survivors)", flush=True)
            return
    # Recorded before the run, so an interrupted run resumes with the mutants it had not tested yet.
    hashes[module] = source_hash(module)
    HASHES.parent.mkdir(exist_ok=True)
    HASHES.write_text(json.dumps(hashes, indent=1))
    if not mutmut_run(names, max_children):
        raise SystemExit(f"mutmut failed on {module}; see its output above")


def mutmut_run(names: list[str], max_children: int) -> bool:
    mutmut = Path(sys.executable).with_name("mutmut")
    command = [str(mutmut), "run", "--max-children", str(max_children), *names]
    print("$", " ".join(command[:6]), "..." if len(command) > 6 else "", flush=True)
    # tools/mutation_select.py (copied into mutants/ by also_copy) narrows each mutant's tests to its module's.
    env = {**os.environ, "PYTEST_PLUGINS": "tools.mutation_select"}
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode == 0


def results(module: str, key: str = "exit_code_by_key") -> dict[str, Any]:
    """mutmut's cached exit code (or, with ``key``, another per-mutant record) of each mutant of ``module``."""
    meta = ROOT / "mutants" / "src" / PACKAGE / f"{module}.py.meta"
    if not meta.exists():
        return {}
    data = json.loads(meta.read_text(encoding="utf-8"))
    records: dict[str, Any] = data.get(key, {})
    return records


def equivalent() -> set[str]:
    """Mutant names listed in docs/quality.md's "Equivalent mutants" section."""
    if not QUALITY.exists():
        return set()
    text = QUALITY.read_text(encoding="utf-8")
    section = text.split("## Equivalent mutants", 1)[-1] if "## Equivalent mutants" in text else ""
    return set(re.findall(r"^- `([\w.]+__mutmut_\d+)`", section, flags=re.MULTILINE))


def row(module: str, codes: dict[str, int | None], equivalents: set[str]) -> tuple[str, bool]:
    total = len(codes)
    if total == 0:
        return f"| `{module}.py` | not run | | | | | | |", False
    killed = sum(1 for c in codes.values() if c in KILLED)
    timeout = sum(1 for c in codes.values() if c in TIMEOUT)
    survived = [name for name, c in codes.items() if c in SURVIVED]
    no_tests = sum(1 for c in codes.values() if c in NO_TESTS)
    unchecked = sum(1 for c in codes.values() if c is None)
    caught = killed + timeout
    score = 100.0 * caught / total
    eq = sum(1 for name in survived if name in equivalents)
    adjusted = 100.0 * caught / (total - eq) if total > eq else 100.0
    complete = unchecked == 0
    line = (
        f"| `{module}.py` | {total} | {killed} | {timeout} | {len(survived)} | {no_tests} | {eq} | "
        f"{score:.1f} % | {adjusted:.1f} %{'' if complete else f' ({unchecked} not checked)'} |"
    )
    return line, complete and adjusted >= TARGET


def table(modules: tuple[str, ...]) -> str:
    equivalents = equivalent()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src", "tests"], cwd=ROOT, capture_output=True, text=True)
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Measured {when} at commit `{commit}`{' (with uncommitted changes)' if dirty.stdout.strip() else ''}, "
        "mutmut 3.8.1 over the fast unit tests (`[tool.mutmut]` in pyproject.toml).",
        "",
        "| module | mutants | killed | timeout | survived | no tests | equivalent | score | adjusted |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    previous = previous_rows()
    kept = []
    for module in modules:
        codes = results(module)
        if module in previous and all(code is None for code in codes.values()):
            kept.append(module)  # nothing measured here (a fresh mutants/): the last measurement stands
            lines.append(previous[module].replace(f"`{module}.py`", f"`{module}.py` †", 1))
        else:
            lines.append(row(module, codes, equivalents)[0])
    if kept:
        lines += [
            "",
            "† not measured in this run (no cached result): the row is kept from the earlier table in this file "
            "(see its git history for when).",
        ]
    return "\n".join(lines)


def previous_rows() -> dict[str, str]:
    """The measured rows of the table now in docs/quality.md, by module (rows with no result left out)."""
    if not QUALITY.exists():
        return {}
    current = QUALITY.read_text(encoding="utf-8").partition(START)[2].partition(END)[0]
    rows = re.findall(r"^\| `(\w+)\.py`(?: †)? \|.*$", current, flags=re.MULTILINE)
    lines = re.findall(r"^\| `\w+\.py`(?: †)? \|.*$", current, flags=re.MULTILINE)
    return {m: line.replace(" †", "", 1) for m, line in zip(rows, lines, strict=True) if "not checked" not in line}


def write(report: str) -> None:
    text = QUALITY.read_text(encoding="utf-8") if QUALITY.exists() else f"# Quality\n\n{START}\n{END}\n"
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    QUALITY.write_text(f"{before}{START}\n{report}\n{END}{after}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"modules to run (default: {' '.join(MODULES)})")
    parser.add_argument("--report", action="store_true", help="only write the table from cached results")
    parser.add_argument(
        "--recheck", action="store_true", help="re-test survivors and untested mutants (after adding tests)"
    )
    parser.add_argument("--max-children", type=int, default=int(os.environ.get("MUTMUT_CHILDREN", "2")))
    args = parser.parse_args()
    chosen = tuple(args.modules) or MODULES
    unknown = sorted(set(chosen) - set(MODULES))
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; known: {', '.join(MODULES)}")
    if not args.report:
        for module in chosen:
            run(module, args.max_children, recheck=args.recheck)
    report = table(MODULES)
    print(report)
    write(report)
    print(f"written to {QUALITY.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
