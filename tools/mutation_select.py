"""pytest plugin for ``make mutation``: a mutant is tested only by the test files that matter for its module.

mutmut runs, for each mutant, every test that called the mutated function (its "stats"). The core's
request path is called by nearly every test, so a surviving mutant of ``_core`` would also run the
rate-limit engine's pacing simulations, which take most of the suite's time and test the engine. This
plugin drops, in mutant runs only, the tests listed for the mutant's module in ``SKIP`` and, for code
that runs the same on both event loops, a test's asyncio twin of its trio run. mutmut's clean run still
sees every test; its stats run (which maps tests to the functions they call) all but ``STATS_SKIP``.

``tools/mutation.py`` loads it through ``PYTEST_PLUGINS`` (not ``pytest_add_cli_args``, which is part
of mutmut's cache key). Skipping tests can only turn a kill into a survivor, so the score is a lower bound.

It also seeds every ``random.Random()`` made without a seed (the clients' retry and pacing jitter): the
engine's pacing simulations assert rates within a margin that an unlucky unseeded jitter can miss, and a
mutant must not count as killed by such a miss (nor mutmut's clean run fail on one).
"""

from __future__ import annotations

import os
import random

import pytest

# Node-id prefixes (test files or tests) that never decide a mutant of the module: subprocess runs
# mutmut cannot see into, real TLS and proxies (``_netconfig``), real sockets and aiohttp (``_transport``),
# the engine's timed pacing simulations (``_ratelimit``; its quick tests stay, as they also check what the
# core tells the engine and how precise a Retry-After is) and the facade's per-method table (``_resources``).
_SUBPROCESS = ("tests/test_pytest_plugin.py",)
_NETWORK = ("tests/test_proxy_tls.py",)
_SOCKETS = ("tests/test_transport.py",)
_SIMULATIONS = (
    "tests/test_ratelimit_engine.py::test_reaches_the_rate_of_",
    "tests/test_ratelimit_engine.py::test_a_blip_recovers_in_seconds",
    "tests/test_ratelimit_engine.py::test_a_coarse_hint_does_not_throttle",
    "tests/test_ratelimit_engine.py::test_a_restart_after_idle",
    "tests/test_retries.py::test_429_storm",
    "tests/test_retries.py::test_pacing_keeps_429s_rare",
)
_FACADE = ("tests/test_facade_methods.py",)

SKIP: dict[str, tuple[str, ...]] = {
    "_retry": _SUBPROCESS + _NETWORK + _SOCKETS + _SIMULATIONS + _FACADE,
    "_errors": _SUBPROCESS + _NETWORK + _SOCKETS + _SIMULATIONS + _FACADE,
    "_pagination": _SUBPROCESS + _NETWORK + _SOCKETS + _SIMULATIONS + _FACADE,
    "_validation": _SUBPROCESS + _NETWORK + _SOCKETS + _SIMULATIONS,
    "_uploads": _SUBPROCESS + _NETWORK + _SOCKETS + _SIMULATIONS + _FACADE,
    "_core": _SUBPROCESS + _NETWORK + _SOCKETS + _SIMULATIONS + _FACADE,
    "_transport": _SUBPROCESS + _SIMULATIONS + _FACADE,
    "_ratelimit": _SUBPROCESS + _NETWORK + _SOCKETS + _FACADE,
}
#: Tests left out of mutmut's stats run: under its call tracing, mutmut 3.8.1 crashed the interpreter
#: (SIGSEGV in ``record_trampoline_hit``) in ``test_verify_false_accepts_any_certificate`` while that file's
#: TLS proxy thread ran, twice. They are skipped there, so no mutant runs them: only ``_transport``'s did, and
#: its score may count fewer kills.
STATS_SKIP = _NETWORK
#: Modules whose code does not depend on the event loop (anyio): a test's asyncio twin of a trio run is dropped.
ONE_BACKEND = {"_retry", "_errors", "_pagination", "_validation", "_uploads", "_core"}


#: The seed of every ``random.Random()`` made without one during a mutation run.
SEED = 15


class _SeededRandom(random.Random):
    """``random.Random`` whose unseeded instances start from ``SEED``: the same jitter on every run."""

    def __init__(self, x: object = None) -> None:
        super().__init__(SEED if x is None else x)  # type: ignore[arg-type]


def pytest_configure(config: pytest.Config) -> None:
    random.Random = _SeededRandom  # type: ignore[misc]


def module_of(mutant: str) -> str | None:
    """``_core`` for ``dify_mgmt_async._core.xǁCoreǁsend__mutmut_3``; None outside a mutant run."""
    if "__mutmut_" not in mutant:
        return None
    parts = mutant.split(".")
    return parts[1] if len(parts) > 2 else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    under_test = os.environ.get("MUTANT_UNDER_TEST", "")
    if under_test == "stats":
        # Skipped, not deselected: mutmut counts a test it never saw start as new, and runs stats for it again.
        for item in items:
            if item.nodeid.removeprefix("mutants/").startswith(STATS_SKIP):
                item.add_marker(pytest.mark.skip(reason="left out of mutmut's stats run (STATS_SKIP)"))
        return
    module = module_of(under_test)
    if module is None:
        return
    skip = SKIP.get(module, ())
    ids = {item.nodeid for item in items}
    dropped = [
        item
        for item in items
        if item.nodeid.removeprefix("mutants/").startswith(skip)
        or (module in ONE_BACKEND and "[asyncio" in item.nodeid and item.nodeid.replace("[asyncio", "[trio") in ids)
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in gone]
