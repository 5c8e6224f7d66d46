"""pytest plugin for ``make mutation``: a mutant is tested only by the test files that matter for its module.

mutmut runs, for each mutant, every test that called the mutated function (its "stats"). The core's
request path is called by nearly every test, so a surviving mutant of ``_core`` would also run the
rate-limit engine's pacing simulations, which take most of the suite's time and test the engine. This
plugin drops, in mutant runs only, the test files listed for the mutant's module in ``SKIP``; the stats
run and mutmut's clean run still see every test, so its cache and its test-to-function map stay whole.

``tools/mutation.py`` loads it through ``PYTEST_PLUGINS`` (not ``pytest_add_cli_args``, which is part
of mutmut's cache key). Skipping tests can only turn a kill into a survivor, so the score is a lower bound.
"""

from __future__ import annotations

import os

import pytest

# Test files that never decide a mutant of the module: subprocess runs that mutmut cannot see into,
# real TLS and proxies (``_netconfig``), and the engine's timed pacing simulations.
_SUBPROCESS = ("tests/test_pytest_plugin.py",)
_NETWORK = ("tests/test_proxy_tls.py",)
_ENGINE = ("tests/test_ratelimit_engine.py",)

SKIP: dict[str, tuple[str, ...]] = {
    "_retry": _SUBPROCESS + _NETWORK + _ENGINE,
    "_errors": _SUBPROCESS + _NETWORK + _ENGINE,
    "_pagination": _SUBPROCESS + _NETWORK + _ENGINE,
    "_validation": _SUBPROCESS + _NETWORK + _ENGINE,
    "_uploads": _SUBPROCESS + _NETWORK + _ENGINE,
    "_core": _SUBPROCESS + _NETWORK + _ENGINE,
    "_transport": _SUBPROCESS + _ENGINE,
    "_ratelimit": _SUBPROCESS + _NETWORK,
}


def module_of(mutant: str) -> str | None:
    """``_core`` for ``dify_mgmt_async._core.xǁCoreǁsend__mutmut_3``; None outside a mutant run."""
    if "__mutmut_" not in mutant:
        return None
    parts = mutant.split(".")
    return parts[1] if len(parts) > 2 else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    module = module_of(os.environ.get("MUTANT_UNDER_TEST", ""))
    skip = SKIP.get(module or "", ())
    if not skip:
        return
    dropped = [item for item in items if item.nodeid.removeprefix("mutants/").startswith(skip)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
