"""The generator's checks before anything is generated: the spec file, and the hand-written client read with ``ast``.

``namespaces.hand_written`` reads the client's source (not imported, see its docstring) for the names a tag
or an operation must not take; a spelling of the same client it cannot follow must not turn into a wrong
``NameClash`` ("rename the tag") nor drop the hand-written helpers' names from the checks.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "management.yaml"
PACKAGE = ROOT / "src" / "dify_mgmt_async"
sys.path.insert(0, str(ROOT / "generator"))
import generate  # type: ignore[import-not-found]  # noqa: E402
import namespaces  # type: ignore[import-not-found]  # noqa: E402

sys.path.pop(0)

CLIENT_ANNOTATION = "    datasets: DatasetsNamespace\n"
CLIENT_IMPORT = "from ._datasets import DatasetsNamespace\n"
DATASETS_IMPORT = "from ._resources import DatasetsResource\n"
DATASETS_BASE = "class DatasetsNamespace(DatasetsResource)"


def _spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return loaded


def _package(tmp_path: Path) -> Path:
    """A copy of the package's modules hand_written reads (and the generated _resources it follows)."""
    pkg = tmp_path / "dify_mgmt_async"
    pkg.mkdir()
    for name in ("__init__.py", "_client.py", "_datasets.py", "_resources.py"):
        shutil.copy(PACKAGE / name, pkg / name)
    return pkg


def _edit(path: Path, *replacements: tuple[str, str]) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def _line(path: Path, line: str) -> int:
    text = path.read_text(encoding="utf-8")
    return text[: text.index(line)].count("\n") + 1


# Spellings of the same client and helper, each what a type checker and Python take alike.
EQUIVALENT: dict[str, Callable[[Path], None]] = {
    "string-annotation": lambda pkg: _edit(
        pkg / "_client.py", (CLIENT_ANNOTATION, '    datasets: "DatasetsNamespace"\n')
    ),
    "absolute-import": lambda pkg: _edit(
        pkg / "_client.py", (CLIENT_IMPORT, "from dify_mgmt_async._datasets import DatasetsNamespace\n")
    ),
    "module-attribute-base": lambda pkg: _edit(
        pkg / "_datasets.py",
        (DATASETS_IMPORT, f"from . import _resources\n{DATASETS_IMPORT}"),
        (DATASETS_BASE, "class DatasetsNamespace(_resources.DatasetsResource)"),
    ),
    "absolute-module-import-base": lambda pkg: _edit(
        pkg / "_datasets.py",
        (DATASETS_IMPORT, "import dify_mgmt_async._resources\n"),
        (DATASETS_BASE, "class DatasetsNamespace(dify_mgmt_async._resources.DatasetsResource)"),
    ),
    "type-checking-import-and-module-attribute": lambda pkg: _edit(
        pkg / "_client.py",
        (
            CLIENT_IMPORT,
            "from typing import TYPE_CHECKING\n\nfrom . import _datasets\n\n"
            "if TYPE_CHECKING:\n    from ._datasets import DatasetsNamespace\n",
        ),
        (CLIENT_ANNOTATION, '    datasets: "DatasetsNamespace"\n'),
        ("self.datasets = DatasetsNamespace(core)", "self.datasets = _datasets.DatasetsNamespace(core)"),
    ),
    "module-attribute-annotation": lambda pkg: _edit(
        pkg / "_client.py",
        (CLIENT_IMPORT, "from dify_mgmt_async import _datasets\n"),
        (CLIENT_ANNOTATION, "    datasets: _datasets.DatasetsNamespace\n"),
        ("self.datasets = DatasetsNamespace(core)", "self.datasets = _datasets.DatasetsNamespace(core)"),
    ),
}


@pytest.mark.parametrize("edit", list(EQUIVALENT))
def test_equivalent_client_source_passes_and_keeps_the_helper_checks(tmp_path: Path, edit: str) -> None:
    """Each spelling was a wrong "tag 'datasets' would be dify.datasets, already an attribute ...; rename the tag"."""
    pkg = _package(tmp_path)
    EQUIVALENT[edit](pkg)
    hand = namespaces.hand_written(pkg)
    assert hand.helpers["datasets"][:2] == ("DatasetsNamespace", str(pkg / "_datasets.py"))
    assert "datasets" not in hand.client
    spec = _spec()
    namespaces.check_names(spec, hand)  # the committed spec: no clash
    # and an operation named like the helper is still refused
    spec["paths"]["/api/management/datasets/{dataset_id}/wait"] = {
        "parameters": [{"$ref": "#/components/parameters/DatasetId"}],
        "get": {
            "tags": ["datasets"],
            "operationId": "wait_for_indexing",
            "responses": {"204": {"description": "Done."}},
        },
    }
    with pytest.raises(namespaces.NameClash) as info:
        namespaces.check_names(spec, hand)
    assert str(info.value) == (
        "paths./api/management/datasets/{dataset_id}/wait.get: operationId 'wait_for_indexing' would be "
        "dify.datasets.wait_for_indexing, already a method of the hand-written DatasetsNamespace "
        f"({pkg / '_datasets.py'}); set another x-sdk-method"
    )


UNREADABLE_ANNOTATIONS = {
    "union": (
        "    datasets: DatasetsNamespace | None\n",
        "the annotation of DifyManagementClient.datasets, DatasetsNamespace | None, names the hand-written "
        "DatasetsNamespace in a form the generator cannot read; annotate it with DatasetsNamespace alone",
    ),
    "string-union": (
        '    datasets: "DatasetsNamespace | None"\n',
        "the annotation of DifyManagementClient.datasets, DatasetsNamespace | None, names the hand-written "
        "DatasetsNamespace in a form the generator cannot read; annotate it with DatasetsNamespace alone",
    ),
    "string-not-an-expression": (
        '    datasets: "Datasets Namespace"\n',
        "the annotation of DifyManagementClient.datasets, 'Datasets Namespace', is not a Python expression",
    ),
    "name-not-imported": (
        "    datasets: DatasetNamespace\n",
        "the annotation of DifyManagementClient.datasets, DatasetNamespace, names what _client.py neither "
        "defines nor imports",
    ),
}


@pytest.mark.parametrize("case", list(UNREADABLE_ANNOTATIONS))
def test_an_annotation_that_cannot_be_followed_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """Not a guess: a wrong clash ("rename the tag") or the helper's names silently left out of the checks."""
    annotation, problem = UNREADABLE_ANNOTATIONS[case]
    pkg = _package(tmp_path)
    _edit(pkg / "_client.py", (CLIENT_ANNOTATION, annotation))
    where = f"{pkg / '_client.py'}:{_line(pkg / '_client.py', annotation)}"
    with pytest.raises(namespaces.Unreadable) as info:
        namespaces.hand_written(pkg)
    assert str(info.value) == f"{where}: {problem}"
    # make generate says it in one line (generate.check_names runs before openapi-python-client)
    real = namespaces.hand_written
    monkeypatch.setattr(namespaces, "hand_written", lambda: real(pkg))
    with pytest.raises(generate.GenerationError) as failed:
        generate.check_names(_spec())
    assert str(failed.value) == f"{where}: {problem}"


def test_a_hand_written_module_with_a_syntax_error_is_one_line(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    _edit(pkg / "_datasets.py", (DATASETS_BASE, "class DatasetsNamespace(DatasetsResource"))
    line = _line(pkg / "_datasets.py", "class DatasetsNamespace(")
    with pytest.raises(namespaces.Unreadable) as info:
        namespaces.hand_written(pkg)
    assert str(info.value) == f"{pkg / '_datasets.py'}:{line}:41: invalid Python: invalid syntax"


def test_a_hand_written_module_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    path = pkg / "_client.py"
    text = path.read_text(encoding="utf-8").replace(CLIENT_ANNOTATION, "    # donn\u00e9es\n" + CLIENT_ANNOTATION, 1)
    path.write_bytes(text.encode("latin-1"))
    offset = text.index("\u00e9")
    line = text[:offset].count("\n") + 1
    with pytest.raises(namespaces.Unreadable) as info:
        namespaces.hand_written(pkg)
    assert str(info.value) == f"{path}:{line}:11: not UTF-8 text (byte 0xe9 at offset {offset})"


def test_a_spec_that_is_not_utf8_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A spec saved as Latin-1 by an editor: the place and the byte, not UnicodeDecodeError's traceback."""
    spec = tmp_path / "management.yaml"
    spec.write_bytes("openapi: 3.1.0\ninfo: {title: 'API (donn\u00e9es)', version: '1'}\npaths: {}\n".encode("latin-1"))
    assert generate.main(["--spec", str(spec), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"generate: {spec}:2:25: not UTF-8 text (byte 0xe9 at offset 39)\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("paths", ["", "paths:\n"], ids=["no-paths", "null-paths"])
def test_a_spec_without_paths_has_no_operations(tmp_path: Path, capsys: pytest.CaptureFixture[str], paths: str) -> None:
    """``paths`` is optional in OpenAPI 3.1 (was KeyError 'paths'); the client's datasets namespace is then gone."""
    assert list(namespaces.operations(yaml.safe_load(f"openapi: 3.1.0\n{paths}"))) == []
    spec = tmp_path / "management.yaml"
    spec.write_text(f"openapi: 3.1.0\ninfo: {{title: t, version: '1'}}\n{paths}webhooks: {{}}\n", encoding="utf-8")
    assert generate.main(["--spec", str(spec), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "generate: tags: no operation is tagged for dify.datasets, which DifyManagementClient "
        "(src/dify_mgmt_async/_client.py) binds to the hand-written DatasetsNamespace "
        "(src/dify_mgmt_async/_datasets.py); keep the tag or change the client\n"
    )
