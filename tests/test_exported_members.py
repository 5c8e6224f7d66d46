"""The package root's ``__all__`` matches what it exposes (like httpx's test_exported_members)."""

from __future__ import annotations

import inspect

import dify_mgmt_async


def test_all_names_exist() -> None:
    """Every name in dify_mgmt_async.__all__ is an attribute of the package."""
    missing = [name for name in dify_mgmt_async.__all__ if not hasattr(dify_mgmt_async, name)]
    assert missing == []


def test_all_has_no_duplicates() -> None:
    """__all__ lists each name once."""
    names = dify_mgmt_async.__all__
    assert len(names) == len(set(names))


def test_public_classes_and_functions_are_in_all() -> None:
    """Every public class or function the package root exposes is listed in __all__."""
    exposed = {
        name
        for name, value in vars(dify_mgmt_async).items()
        if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
    }
    assert sorted(exposed - set(dify_mgmt_async.__all__)) == []


def test_core_public_api_is_exported() -> None:
    """The names the README's examples import are exported."""
    for name in [
        "DifyManagementClient",
        "ProcessRule",
        "NotFoundError",
        "DifyError",
        "APIStatusError",
        "RateLimitError",
        "InvalidArgumentError",
        "AsyncPager",
        "App",
        "AppMode",
        "__version__",
    ]:
        assert name in dify_mgmt_async.__all__, name


def test_exported_classes_are_not_private_modules() -> None:
    """No exported class claims a module outside the package."""
    for name in dify_mgmt_async.__all__:
        value = getattr(dify_mgmt_async, name)
        if inspect.isclass(value):
            assert value.__module__.startswith("dify_mgmt_async"), (name, value.__module__)


def test_every_model_is_listed_literally_for_pyright() -> None:
    """The generated ``_models`` lists every generated model by name, and the root re-exports each one.

    pyright and Pylance accept a re-export only from a literal ``__all__``; ``make typecheck`` runs
    basedpyright over tests/typing/ to hold the package to it.
    """
    from dify_mgmt_async import _models
    from dify_mgmt_async._generated import models

    assert _models.__all__ == sorted(models.__all__)
    assert set(models.__all__) <= set(dify_mgmt_async.__all__)
    assert all(getattr(dify_mgmt_async, name) is getattr(models, name) for name in models.__all__)
