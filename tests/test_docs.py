"""The documentation site's API reference covers the public surface (`make docs` builds it strictly)."""

from __future__ import annotations

import inspect
from pathlib import Path

import yaml

from dify_mgmt_async import _errors, _resources

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_namespace_is_in_the_reference() -> None:
    """Each generated namespace class is rendered (with all its public methods) on the namespaces page."""
    page = (DOCS / "reference" / "namespaces.md").read_text(encoding="utf-8")
    classes = [name for name, value in vars(_resources).items() if inspect.isclass(value) and name.endswith("Resource")]
    assert len(classes) == 7
    assert [name for name in classes if f"::: dify_mgmt_async._resources.{name}\n" not in page] == []


def test_every_error_is_in_the_reference() -> None:
    page = (DOCS / "reference" / "errors.md").read_text(encoding="utf-8")
    errors = [name for name in _errors.__all__ if name != "from_response"]
    assert [name for name in errors if f"::: dify_mgmt_async.{name}\n" not in page] == []


def test_every_guide_the_issue_asks_for_is_in_the_nav() -> None:
    config = yaml.safe_load((DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8"))
    guides = next(item["Guides"] for item in config["nav"] if isinstance(item, dict) and "Guides" in item)
    titles = [next(iter(g)) for g in guides]
    assert titles == [
        "Getting started",
        "Rate limits and retries",
        "Bulk ingestion",
        "Many processes, one token",
        "Uploads",
        "Testing your code",
        "Proxies and TLS",
        "Regenerating from the spec",
    ]
    assert all((DOCS / next(iter(g.values()))).is_file() for g in guides)
