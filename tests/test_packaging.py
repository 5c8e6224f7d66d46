"""What the published metadata promises matches what is tested (pyproject.toml, LICENSE, CHANGELOG)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import dify_mgmt_async

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def _pins(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    pairs = (line.split("==") for line in lines if "==" in line and not line.startswith("#"))
    return {name.strip().lower().replace("_", "-"): version.strip() for name, version in pairs}


def test_lowest_environment_is_at_the_declared_lower_bounds() -> None:
    """requirements/lowest.txt (make pytest-lowest) pins exactly the lower bound of each ranged dependency."""
    lowest = _pins(ROOT / "requirements" / "lowest.txt")
    bounds = {}
    for spec in PROJECT["dependencies"]:
        match = re.fullmatch(r"([a-z0-9-]+)>=([0-9.]+)(,<[0-9.]+)?", spec.split(";")[0].strip())
        if match:
            bounds[match[1]] = match[2]
    # httpx 0.27.1: the first whose async transport keeps an https proxy's SSL context (a proxy CA under trio)
    assert bounds == {"httpx": "0.27.1", "attrs": "23.1", "anyio": "4.4", "aiohttp": "3.12.4"}
    for name, bound in bounds.items():
        pinned = lowest[name].split(".")
        assert pinned[: len(bound.split("."))] == bound.split("."), (name, lowest[name])
        assert all(part == "0" for part in pinned[len(bound.split(".")) :]), (name, lowest[name])


def test_no_dev_tools_in_the_published_metadata() -> None:
    """Exact pins live in the dev dependency group (not published); extras carry ranges only."""
    extras = PROJECT["optional-dependencies"]
    assert sorted(extras) == ["cli", "emulator", "examples", "redis"]
    assert [spec for specs in extras.values() for spec in specs if "==" in spec] == []
    assert "pytest==9.2.0" in PYPROJECT["dependency-groups"]["dev"]


def test_dev_group_pins_match_the_constraints_file() -> None:
    constraints = _pins(ROOT / "requirements" / "constraints.txt")
    groups = PYPROJECT["dependency-groups"]
    specs = [s for group in groups.values() for s in group if isinstance(s, str)]
    for spec in specs:
        name, version = spec.split("==")
        assert constraints[name.split("[")[0].lower()] == version, spec


def test_classifiers_name_the_python_versions_tested() -> None:
    """Only the interpreter make test runs on is claimed."""
    versions = {c.rsplit(" :: ", 1)[1] for c in PROJECT["classifiers"] if re.fullmatch(r".* :: Python :: 3\.\d+", c)}
    assert versions == {f"{sys.version_info.major}.{sys.version_info.minor}"}
    assert PROJECT["requires-python"] == ">=3.11"


def test_license_file_is_mit_and_declared() -> None:
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text


def test_changelog_has_an_entry_for_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(dify_mgmt_async.__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M)
    assert PROJECT["version"] == dify_mgmt_async.__version__
