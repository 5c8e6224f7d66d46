"""`make spec-diff` lists the breaking changes between two specs, and nothing for additions or loosening."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests import regen_mutations

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "generator"))
from spec_diff import breaking_changes, main  # type: ignore[import-not-found]  # noqa: E402

sys.path.pop(0)
BASE = yaml.safe_load((ROOT / "openapi" / "management.yaml").read_text(encoding="utf-8"))


def test_additions_and_loosening_are_not_breaking() -> None:
    new = copy.deepcopy(BASE)
    regen_mutations.additive(new)
    new["components"]["schemas"]["AppMode"]["enum"].append("pipeline")
    del new["components"]["parameters"]["Limit"]["schema"]["maximum"]
    assert breaking_changes(BASE, new) == []


def test_breaking_changes_are_listed() -> None:
    new = copy.deepcopy(BASE)
    regen_mutations.changes(new)  # renamed request field, new required field, an operation removed
    schemas = new["components"]["schemas"]
    schemas["App"]["properties"].pop("icon")
    schemas["App"]["required"].remove("icon")
    schemas["AppMode"]["enum"].remove("workflow")
    new["components"]["parameters"]["Limit"]["schema"]["maximum"] = 50
    changes = breaking_changes(BASE, new)
    assert "DELETE /api/management/api-keys/{api_key_id}: operation removed (delete_api_key)" in changes
    assert "POST /api/management/datasets body.description: request field removed" in changes
    assert "POST /api/management/apps body.icon: request field is now required" in changes
    assert "GET /api/management/apps/{app_id} 200.icon: response field removed" in changes
    assert "GET /api/management/apps 200.data[].icon: response field removed" in changes
    assert "POST /api/management/apps body.mode: enum no longer accepts workflow" in changes
    assert "GET /api/management/apps: query parameter limit: maximum tightened from 100 to 50" in changes


def test_make_target_compares_with_a_git_ref() -> None:
    result = subprocess.run(
        ["make", "-s", "spec-diff", "BASE=HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("spec-diff: ")


def test_a_yaml_typo_in_the_working_spec_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make spec-diff` on a spec with a YAML syntax error: the place and the problem on one line, as `make
    generate` gives it, not PyYAML's traceback."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("openapi: 3.0.3\ninfo:\n  title: x\n   version: 1\n", encoding="utf-8")
    assert main(["--spec", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"spec-diff: {spec}:4:")
    assert "invalid YAML: mapping values are not allowed here" in err and err.count("\n") == 1
