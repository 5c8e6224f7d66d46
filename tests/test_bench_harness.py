"""The rate-limit matrix's verdicts (``benchmarks/ratelimit.py``): a noisy case is judged by its median run.

The benchmark itself runs servers and clients for minutes (``make bench``); these pin only the arithmetic that
turns runs into the table's verdict, and the command line's refusal of a cell that does not exist.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def ratelimit() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_ratelimit", BENCH / "ratelimit.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_ratelimit"] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def processes_run(rl: ModuleType, spread: float, *, ratio: float = 1.1, rejected: int = 50) -> dict[str, Any]:
    """Summarize one processes run of two clients whose elapsed times give ``spread`` (slowest / fastest)."""
    cell = next(c for c in rl.dynamic_cells(False) if c.case == "processes")
    ideal = cell.ideal()
    clients = [
        {"started": 0.0, "elapsed": ratio * ideal / spread, "error_count": 0},
        {"started": 0.0, "elapsed": ratio * ideal, "error_count": 0},
    ]
    raw = {"server": {"accepted": [], "rejected": [0.0] * rejected}, "clients": clients}
    summary: dict[str, Any] = rl.summarize(cell, raw)
    return summary


def test_the_processes_case_runs_three_times(ratelimit: ModuleType) -> None:
    cell = next(c for c in ratelimit.dynamic_cells(False) if c.case == "processes")
    assert cell.runs == ratelimit.PROCESSES_RUNS == 3
    assert all(c.runs == 1 for c in ratelimit.static_cells(False))


def test_a_runs_margin_is_its_worst_ratio_to_a_target(ratelimit: ModuleType) -> None:
    spread = processes_run(ratelimit, 1.8)
    assert spread["margin"] == pytest.approx(1.8 / 1.5)
    assert spread["ok"] is False
    share = processes_run(ratelimit, 1.2, rejected=120)  # 120 of 1,000: 12 %
    assert share["margin"] == pytest.approx(0.12 / 0.10)
    assert share["ok"] is False
    elapsed = processes_run(ratelimit, 1.2, ratio=1.43)
    assert elapsed["margin"] == pytest.approx(1.43 / 1.3)
    met = processes_run(ratelimit, 1.45, ratio=1.2, rejected=90)  # the spread nearest its target: 1.45 / 1.5
    assert met["margin"] == pytest.approx(1.45 / 1.5)
    assert met["ok"] is True


def test_the_median_run_is_reported_with_how_many_runs_met_it(ratelimit: ModuleType) -> None:
    runs = [processes_run(ratelimit, s) for s in (2.04, 1.40, 1.27)]
    median = ratelimit.median_run(runs)
    assert median["spread"] == pytest.approx(1.40)
    assert median["ok"] is True
    assert median["detail"].endswith("median of 3 runs, met in 2; slowest/fastest by run 2.04, 1.40, 1.27")
    assert runs[1]["detail"] == "429s 5.0%; slowest/fastest 1.40; errors 0"  # the runs themselves are left as they were

    missed = ratelimit.median_run([processes_run(ratelimit, s) for s in (1.6, 1.2, 2.0)])
    assert missed["spread"] == pytest.approx(1.6)
    assert missed["ok"] is False
    assert "met in 1;" in missed["detail"]


def test_the_median_is_by_the_margin_to_every_target_not_by_the_spread_alone(ratelimit: ModuleType) -> None:
    # The lowest spread has 13 % 429s: its margin (1.3) puts it between the other two (1.0 and 1.4).
    runs = [
        processes_run(ratelimit, 1.1, rejected=130),
        processes_run(ratelimit, 1.5 * 0.99),
        processes_run(ratelimit, 2.1),
    ]
    median = ratelimit.median_run(runs)
    assert median["spread"] == pytest.approx(1.1)
    assert median["margin"] == pytest.approx(1.3)
    assert median["ok"] is False
    assert "met in 1;" in median["detail"]


def test_of_an_even_count_of_runs_the_worse_middle_one_is_reported(ratelimit: ModuleType) -> None:
    median = ratelimit.median_run([processes_run(ratelimit, 2.0), processes_run(ratelimit, 1.2)])
    assert median["spread"] == pytest.approx(2.0)
    assert median["ok"] is False
    assert "median of 2 runs, met in 1;" in median["detail"]


def test_a_failed_run_fails_the_case(ratelimit: ModuleType) -> None:
    failed = {"key": "processes", "case": "processes", "failed": "worker failed (exit code 1)"}
    runs = [processes_run(ratelimit, 1.2), failed, processes_run(ratelimit, 1.3)]
    assert ratelimit.median_run(runs) is failed


def refused(*args: str) -> str:
    """Run the matrix's command line with ``args``, which must be refused (exit 2) before anything runs; its error."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "ratelimit.py"), *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stdout[-500:]
    return done.stderr.strip().splitlines()[-1]


def test_an_unknown_cell_is_refused_naming_it_and_the_cells_there_are() -> None:
    error = refused("--cell", "step-sideways", "--cell", "blip")
    assert error.startswith("ratelimit.py: error: --cell: no cell step-sideways; the cells: token-bucket ms R100 b10,")
    assert error.endswith(", blip, processes, step-down, step-up")


def test_a_cell_left_out_by_only_or_quick_is_refused_saying_which() -> None:
    only = refused("--only", "static", "--cell", "processes")
    assert "--cell: no cell processes with --only static; the cells: token-bucket ms R100 b10," in only
    assert only.endswith("token-bucket seconds R100 b10 x-fields")  # the static cells only
    quick = refused("--quick", "--cell", "step-down")
    assert "--cell: no cell step-down with --quick;" in quick
    assert quick.endswith(", blip, processes")


@pytest.mark.parametrize("repeat", ["0", "-1"])
def test_a_repeat_under_one_is_refused(repeat: str) -> None:
    # (with a cell that does not exist: a broken check then fails on the cell, and still starts nothing)
    assert refused("--cell", "step-sideways", "--repeat", repeat).endswith(f"--repeat: at least 1 run, not {repeat}")


def test_saving_the_before_column_from_chosen_cells_is_refused() -> None:
    error = refused("--cell", "step-sideways", "--save-before")
    assert error.endswith("--save-before stores a whole run: not with --cell or --repeat")
