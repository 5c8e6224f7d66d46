"""``dify-mgmt datasets upload``: naming, the journal, rerun/resume, reconcile, replace, dry run, partial failure."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import typer

from dify_mgmt_async.cli._journal import Journal, Row, default_journal_path, read_rows
from dify_mgmt_async.cli._upload import document_name, scan
from dify_mgmt_async.emulator.server import EmulatorServer
from dify_mgmt_async.emulator.store import ApiError

from .conftest import Cli, flat


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


TREE = {
    "a/README.md": "alpha readme",
    "b/README.md": "beta readme",
    "b/deep/notes.txt": "notes",
    "top.txt": "top",
    "skip.log": "log",
}


def journal_rows(path: Path) -> dict[str, tuple[str, str | None, str | None]]:
    with sqlite3.connect(path) as db:
        return {p: (s, d, e) for p, s, d, e in db.execute("SELECT path, state, document_id, last_error FROM files")}


def documents(server: EmulatorServer, dataset_id: str) -> dict[str, str]:
    """name -> id of the dataset's documents; fails on a duplicate name."""
    docs = server.store.list_documents(dataset_id, None)
    names = [d["name"] for d in docs]
    assert len(names) == len(set(names)), f"duplicate documents: {sorted(names)}"
    return {d["name"]: d["id"] for d in docs}


def pending_delete(path: Path, relative: str) -> tuple[str | None, str | None]:
    """The journal's (replaces, last_error) for one file: the old document still to delete, and why it is not yet."""
    with sqlite3.connect(path) as db:
        found: tuple[str | None, str | None] = db.execute(
            "SELECT replaces, last_error FROM files WHERE path = ?", (relative,)
        ).fetchone()
    return found


def names_on_server(server: EmulatorServer, dataset_id: str) -> list[str]:
    """The dataset's document names, sorted, duplicates kept."""
    return sorted(d["name"] for d in server.store.list_documents(dataset_id, None))


def refuse_deletes(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every document delete answers 403 until ``monkeypatch.undo()``."""

    def refused(*args: object) -> None:
        raise ApiError(403, "forbidden", "no permission to delete")

    monkeypatch.setattr(server.store, "delete_document", refused)


FORBIDDEN = "forbidden: no permission to delete (HTTP 403)"


def summary(result: Any, code: int = 0) -> dict[str, Any]:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture
def dataset(cli: Cli) -> str:
    result = cli("datasets", "create", "--name", "kb")
    assert result.exit_code == 0, result.stderr
    return str(json.loads(result.stdout)["id"])


# --- scanning and naming ------------------------------------------------------------------------


def test_document_name_keeps_the_relative_path_reversibly() -> None:
    assert document_name("a/README.md") == "a%2FREADME.md"
    assert document_name("100%/x.txt") == "100%25%2Fx.txt"
    assert document_name("top.txt") == "top.txt"
    assert document_name("a%2Fb.txt") != document_name("a/b.txt")


def test_scan_names_files_relative_to_their_root(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "root", TREE)
    found = scan([root], recursive=True, include=[], exclude=["*.log"])
    assert [f.relative for f in found] == ["top.txt", "a/README.md", "b/README.md", "b/deep/notes.txt"]
    assert [f.relative for f in scan([root], recursive=False, include=[], exclude=[])] == ["skip.log", "top.txt"]
    assert [f.relative for f in scan([root], recursive=True, include=["*.md"], exclude=[])] == [
        "a/README.md",
        "b/README.md",
    ]
    assert [f.relative for f in scan([root], recursive=True, include=["b/*"], exclude=["*.txt"])] == ["b/README.md"]
    assert [f.relative for f in scan([root / "top.txt"], recursive=False, include=[], exclude=[])] == ["top.txt"]


def test_scan_refuses_two_files_with_one_name(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "root", TREE)
    with pytest.raises(typer.BadParameter, match=r"would both be the document 'README\.md'"):
        scan([root / "a", root / "b"], recursive=False, include=[], exclude=[])
    with pytest.raises(typer.BadParameter, match="no such file or directory"):
        scan([root / "missing"], recursive=True, include=[], exclude=[])


def test_default_journal_is_per_dataset_in_the_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_journal_path("ds/1") == tmp_path / "dify-mgmt" / "journals" / "ds_1.sqlite3"


def test_journal_is_wal_and_each_change_is_committed(tmp_path: Path) -> None:
    """Another connection sees a row as soon as `record` returns: nothing waits for a later commit."""
    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal:
        journal.record("ds", Row("a.txt", 1, 2, "ff", "sending", None, None, None))
        with sqlite3.connect(path) as other:
            assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert other.execute("SELECT path, state FROM files").fetchall() == [("a.txt", "sending")]
        journal.record("ds", Row("a.txt", 1, 2, "ff", "done", "doc-1", None, None))
        assert journal_rows(path) == {"a.txt": ("done", "doc-1", None)}


# --- end to end -----------------------------------------------------------------------------------


def test_upload_then_rerun_skips_everything(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "root", TREE)
    journal = tmp_path / "j.sqlite3"
    args = ("datasets", "upload", dataset, str(root), "--recursive", "--exclude", "*.log", "--journal", str(journal))
    first = summary(cli(*args))
    assert {k: first[k] for k in ("files", "uploaded", "reconciled", "skipped_unchanged", "failed", "replaced")} == {
        "files": 4,
        "uploaded": 4,
        "reconciled": 0,
        "skipped_unchanged": 0,
        "failed": [],
        "replaced": 0,
    }
    docs = documents(dify_emulator_server, dataset)
    assert set(docs) == {"top.txt", "a%2FREADME.md", "b%2FREADME.md", "b%2Fdeep%2Fnotes.txt"}
    rows = journal_rows(journal)
    assert {p: (s, d) for p, (s, d, _) in rows.items()} == {
        "top.txt": ("done", docs["top.txt"]),
        "a/README.md": ("done", docs["a%2FREADME.md"]),
        "b/README.md": ("done", docs["b%2FREADME.md"]),
        "b/deep/notes.txt": ("done", docs["b%2Fdeep%2Fnotes.txt"]),
    }
    uploads_before = dify_emulator_server.stats()["creates"]["documents"]
    second = summary(cli(*args))
    assert (second["uploaded"], second["skipped_unchanged"]) == (0, 4)
    assert dify_emulator_server.stats()["creates"]["documents"] == uploads_before == 4


def test_changed_file_is_reported_then_replaced(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path
) -> None:
    """A changed file is only reported; with --replace-changed the new document is uploaded, then the old deleted."""
    root = make_tree(tmp_path / "root", {"a.txt": "one", "b.txt": "two"})
    journal = tmp_path / "j.sqlite3"
    args = ("datasets", "upload", dataset, str(root), "--journal", str(journal))
    summary(cli(*args))
    old = documents(dify_emulator_server, dataset)["a.txt"]
    (root / "a.txt").write_text("one, edited", encoding="utf-8")
    reported = summary(cli(*args))
    assert (reported["changed_not_uploaded"], reported["uploaded"], reported["skipped_unchanged"]) == (["a.txt"], 0, 1)
    table = cli("--output", "table", *args)
    assert table.exit_code == 0 and "changed_not_uploaded  a.txt" in table.stdout
    assert documents(dify_emulator_server, dataset)["a.txt"] == old
    replaced = summary(cli(*args, "--replace-changed"))
    assert (replaced["uploaded"], replaced["replaced"], replaced["changed_not_uploaded"]) == (1, 1, [])
    docs = documents(dify_emulator_server, dataset)
    assert set(docs) == {"a.txt", "b.txt"} and docs["a.txt"] != old
    assert journal_rows(journal)["a.txt"] == ("done", docs["a.txt"], None)
    sizes = {u["name"]: u["size"] for u in dify_emulator_server.store.uploads() if u["name"] == "a.txt"}
    assert sizes == {"a.txt": len("one, edited")}


def test_a_refused_delete_of_the_old_document_counts_the_file_as_failed(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --replace-changed the new document goes up, then deleting the old one is refused (403): the run exits 3
    with the file listed as failed, and the journal keeps the delete to do (it used to exit 0, failed: [])."""
    root = make_tree(tmp_path / "root", {"a.txt": "one"})
    journal = tmp_path / "j.sqlite3"
    args = ("datasets", "upload", dataset, str(root), "--journal", str(journal), "--replace-changed")
    summary(cli(*args))
    old = documents(dify_emulator_server, dataset)["a.txt"]

    def refused(*args: object) -> None:
        raise ApiError(403, "forbidden", "no permission to delete")

    monkeypatch.setattr(dify_emulator_server.store, "delete_document", refused)
    (root / "a.txt").write_text("one, edited", encoding="utf-8")
    result = summary(cli(*args), code=3)
    assert result["failed"] == [{"path": "a.txt", "error": "forbidden: no permission to delete (HTTP 403)"}]
    new = {d["id"] for d in dify_emulator_server.store.list_documents(dataset, None)} - {old}
    assert journal_rows(journal)["a.txt"][:2] == ("done", new.pop())


def test_an_old_document_that_cannot_be_deleted_does_not_block_later_runs(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old document's delete refused (403) run after run: each run lists the file as failed (exit 3), keeps the
    delete in the journal and uploads the other files (the run used to stop at that delete, exit 1, nothing sent).
    Once the document is gone, its 404 counts as done."""
    server = dify_emulator_server
    root = make_tree(tmp_path / "root", {"a.txt": "one", "b.txt": "two"})
    journal = tmp_path / "j.sqlite3"
    args = ("datasets", "upload", dataset, str(root), "--journal", str(journal), "--replace-changed")
    summary(cli(*args))
    old = documents(server, dataset)["a.txt"]
    refuse_deletes(server, monkeypatch)
    (root / "a.txt").write_text("one, edited", encoding="utf-8")
    summary(cli(*args), code=3)
    (root / "c.txt").write_text("three", encoding="utf-8")

    again = summary(cli(*args), code=3)
    assert again["failed"] == [{"path": "a.txt", "error": FORBIDDEN}]
    assert (again["uploaded"], again["skipped_unchanged"], again["replaced"]) == (1, 2, 0)
    assert names_on_server(server, dataset) == ["a.txt", "a.txt", "b.txt", "c.txt"]
    assert pending_delete(journal, "a.txt") == (old, FORBIDDEN)
    new = journal_rows(journal)["a.txt"][1]
    assert journal_rows(journal)["a.txt"] == ("done", new, FORBIDDEN) and new != old

    monkeypatch.undo()
    server.store.delete_document(dataset, old)  # deleted by hand: the next delete answers 404
    done = summary(cli(*args))
    assert (done["failed"], done["uploaded"], done["skipped_unchanged"], done["replaced"]) == ([], 0, 3, 1)
    assert pending_delete(journal, "a.txt") == (None, None)
    assert documents(server, dataset) == {
        "a.txt": new,
        "b.txt": journal_rows(journal)["b.txt"][1],
        "c.txt": journal_rows(journal)["c.txt"][1],
    }


def test_an_old_document_still_to_delete_is_not_forgotten_when_its_file_changes_again(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v1's delete refused after v2 went up; v3 is not uploaded while v1 is still to delete (the journal keeps one old
    document per file: replacing v2 used to drop v1 from it, left on the server for good). Deletes allowed again,
    one run deletes v1, uploads v3 and deletes v2."""
    server = dify_emulator_server
    args, journal, v1, v2 = replaced_with_the_old_delete_refused(cli, server, dataset, tmp_path, monkeypatch)
    root = tmp_path / "root"

    (root / "a.txt").write_text("v3, longer", encoding="utf-8")
    held = summary(cli(*args), code=3)
    assert (held["failed"], held["uploaded"], held["replaced"]) == ([{"path": "a.txt", "error": FORBIDDEN}], 0, 0)
    assert journal_rows(journal)["a.txt"] == ("done", v2, FORBIDDEN)
    assert pending_delete(journal, "a.txt") == (v1, FORBIDDEN)
    assert sorted(d["id"] for d in server.store.list_documents(dataset, None)) == sorted([v1, v2])

    monkeypatch.undo()
    done = summary(cli(*args))
    assert (done["failed"], done["uploaded"], done["replaced"]) == ([], 1, 2)
    v3 = journal_rows(journal)["a.txt"][1]
    assert documents(server, dataset) == {"a.txt": v3} and v3 not in (v1, v2)
    assert pending_delete(journal, "a.txt") == (None, None)
    assert [u["size"] for u in server.store.uploads()] == [len("v3, longer")]


def test_the_table_summary_shows_paths_and_errors_verbatim(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-o table with names and server errors that look like rich markup: shown as they are, dry run and run (an
    error text holding "[/red]" crashed the summary with a MarkupError traceback; "[bold]a.txt" lost its tag)."""
    root = make_tree(tmp_path / "root", {"[bold]a.txt": "a", "[b]x[red].txt": "b"})
    journal = tmp_path / "j.sqlite3"
    args = ("--output", "table", "datasets", "upload", dataset, str(root), "--journal", str(journal))
    dry = cli(*args, "--dry-run")
    assert (dry.exit_code, dry.stderr) == (0, "")
    assert "[bold]a.txt" in dry.stdout and "[b]x[red].txt" in dry.stdout

    assert cli(*args).exit_code == 0

    def refused(*args: object) -> None:
        raise ApiError(403, "forbidden", "no [bold]permission[/bold] to delete [/red]")

    monkeypatch.setattr(dify_emulator_server.store, "delete_document", refused)
    (root / "[bold]a.txt").write_text("a, edited", encoding="utf-8")
    run = cli(*args, "--replace-changed")
    assert (run.exit_code, run.stderr) == (3, "")
    assert "[bold]a.txt: forbidden: no [bold]permission[/bold] to delete [/red] (HTTP 403)" in run.stdout


def test_a_journal_that_cannot_be_opened_is_one_line_and_exit_2(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --journal in a folder that is a file, one that is a folder, one that is not SQLite, one in a read-only folder:
    one line naming the journal and the problem, exit 2 as for a busy journal, nothing uploaded (it used to be a
    Python traceback). Root ignores permissions, so the read-only folder's refusal is made at os.open."""
    root = make_tree(tmp_path / "root", {"a.txt": "a"})
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "not-sqlite").write_text("not a database, " * 10, encoding="utf-8")
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    opened = os.open

    def open_refused_in_read_only(path: Any, *args: Any, **kwargs: Any) -> int:
        if Path(path).parent == read_only:
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_refused_in_read_only)
    cases = [
        (tmp_path / "a-file" / "j.sqlite3", f"{tmp_path / 'a-file'} is not a directory"),
        (tmp_path / "a-folder", "Is a directory"),
        (tmp_path / "not-sqlite", "file is not a database"),
        (read_only / "j.sqlite3", "Permission denied"),
    ]
    for journal, problem in cases:
        for dry_run in ([], ["--dry-run"]):
            if dry_run and not journal.exists():
                continue  # --dry-run reads a journal only if there is one
            result = cli("datasets", "upload", dataset, str(root), "--journal", str(journal), *dry_run)
            assert (result.exit_code, result.stdout, result.stderr) == (
                2,
                "",
                f"journal_error: cannot open the journal {journal}: {problem}\n",
            ), (journal, dry_run)
    assert names_on_server(dify_emulator_server, dataset) == []
    assert not (tmp_path / "a-folder.lock").exists()


@pytest.mark.parametrize(
    "tables",
    [
        ["CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT)"],  # a `files` table, not ours
        ["CREATE TABLE invoices (id INTEGER PRIMARY KEY)"],  # no `files` table at all
    ],
)
def test_another_sqlite_database_is_refused_and_left_as_it_was(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path, tables: list[str]
) -> None:
    """A --journal naming some other SQLite database: one line and exit 2, run or dry run, nothing uploaded, and the
    database unchanged (its own `files` table used to end in a traceback, `no such column: path`; one without such a
    table was switched to WAL and given ours)."""
    root = make_tree(tmp_path / "root", {"a.txt": "a"})
    journal = tmp_path / "other.db"
    with sqlite3.connect(journal) as db:
        for statement in tables:
            db.execute(statement)
    db.close()
    for dry_run in ([], ["--dry-run"]):
        result = cli("datasets", "upload", dataset, str(root), "--journal", str(journal), *dry_run)
        assert (result.exit_code, result.stdout, result.stderr) == (
            2,
            "",
            f"journal_error: cannot open the journal {journal}: it is not an upload journal "
            "(a SQLite database with other tables)\n",
        ), dry_run
    assert names_on_server(dify_emulator_server, dataset) == []
    db = sqlite3.connect(journal)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert [sql for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE type = 'table'")] == tables
    finally:
        db.close()


def test_dry_run_on_a_journal_killed_before_its_table(cli: Cli, dataset: str, tmp_path: Path) -> None:
    """A run killed after SQLite made the file but before the table: an empty database is a new journal (dry run
    and run), not another database."""
    root = make_tree(tmp_path / "root", {"a.txt": "a"})
    journal = tmp_path / "j.sqlite3"
    db = sqlite3.connect(journal)
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    dry = summary(cli("datasets", "upload", dataset, str(root), "--journal", str(journal), "--dry-run"))
    assert dry["counts"] == {"upload": 1}
    assert summary(cli("datasets", "upload", dataset, str(root), "--journal", str(journal)))["uploaded"] == 1


def test_dry_run_reads_a_journal_whose_path_has_a_hash_sign(cli: Cli, dataset: str, tmp_path: Path) -> None:
    """The read-only URI escapes the path: '#' used to start a fragment, so --dry-run read (and created) the file
    `j` instead, and said every file would be uploaded."""
    root = make_tree(tmp_path / "root", {"a.txt": "a"})
    journal = tmp_path / "j#1.sqlite3"
    args = ("datasets", "upload", dataset, str(root), "--journal", str(journal))
    summary(cli(*args))
    assert summary(cli(*args, "--dry-run"))["counts"] == {"skip_unchanged": 1}
    assert not (tmp_path / "j").exists()


def test_an_unreadable_folder_is_refused_not_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.walk skips a folder it cannot list unless told otherwise: with -r that folder's files were silently left
    out, and the run exited 0."""
    root = make_tree(tmp_path / "root", TREE)
    listed = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path) == root / "b" / "deep":
            raise PermissionError(13, "Permission denied", str(path))
        return listed(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(typer.BadParameter) as caught:
        scan([root], recursive=True, include=[], exclude=[])
    assert str(caught.value) == f"{root / 'b' / 'deep'}: cannot be read (Permission denied)"


def test_sending_rows_are_reconciled_by_name(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path
) -> None:
    """After a crash: a `sending` file whose document exists becomes done (not resent); one without is resent."""
    root = make_tree(tmp_path / "root", {"kept.txt": "k", "lost.txt": "l", "fine.txt": "f"})
    journal = tmp_path / "j.sqlite3"
    args = ("datasets", "upload", dataset, str(root), "--journal", str(journal))
    summary(cli(*args))
    docs = documents(dify_emulator_server, dataset)
    dify_emulator_server.store.delete_document(dataset, docs["lost.txt"])  # the crash came before the server made it
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE files SET state = 'sending', document_id = NULL WHERE path IN ('kept.txt', 'lost.txt')")
    dry = summary(cli(*args, "--dry-run"))
    assert dry["counts"] == {"reconcile": 2, "skip_unchanged": 1}
    result = summary(cli(*args))
    assert (result["reconciled"], result["uploaded"], result["skipped_unchanged"]) == (1, 1, 1)
    after = documents(dify_emulator_server, dataset)
    assert after["kept.txt"] == docs["kept.txt"]
    assert set(after) == {"kept.txt", "lost.txt", "fine.txt"}
    assert {p: s for p, (s, _, _) in journal_rows(journal).items()} == dict.fromkeys(after, "done")


def crash_while_sending(journal: Path, relative: str) -> None:
    """The journal as a kill mid-upload leaves it: the file `sending`, no document id (the server may have it)."""
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE files SET state = 'sending', document_id = NULL WHERE path = ?", (relative,))


def test_a_file_edited_after_a_crash_is_not_reconciled_as_uploaded(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path
) -> None:
    """Killed while sending a.txt, then a.txt edited: the rerun finds the document by name, but it holds the old
    content, so the row keeps the old hash and the file is reported changed (it used to be marked done with the new
    hash, and --replace-changed then never replaced the old content)."""
    server = dify_emulator_server
    root = make_tree(tmp_path / "root", {"a.txt": "one", "b.txt": "two"})
    journal = tmp_path / "j.sqlite3"
    args = ("datasets", "upload", dataset, str(root), "--journal", str(journal))
    summary(cli(*args))
    old = documents(server, dataset)["a.txt"]
    crash_while_sending(journal, "a.txt")
    (root / "a.txt").write_text("one, edited after the crash", encoding="utf-8")

    rerun = summary(cli(*args))
    assert (rerun["reconciled"], rerun["uploaded"], rerun["skipped_unchanged"]) == (1, 0, 1)
    assert rerun["changed_not_uploaded"] == ["a.txt"]
    assert journal_rows(journal)["a.txt"] == ("done", old, None)
    assert read_rows(journal, dataset)["a.txt"].sha256 == hashlib.sha256(b"one").hexdigest()

    replaced = summary(cli(*args, "--replace-changed"))
    assert (replaced["uploaded"], replaced["replaced"], replaced["changed_not_uploaded"]) == (1, 1, [])
    new = documents(server, dataset)["a.txt"]
    assert new != old and journal_rows(journal)["a.txt"] == ("done", new, None)
    assert {u["name"]: u["size"] for u in server.store.uploads()} == {
        "a.txt": len("one, edited after the crash"),
        "b.txt": 3,
    }


def replaced_with_the_old_delete_refused(
    cli: Cli, server: EmulatorServer, dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[str, ...], Path, str, str]:
    """a.txt v1 uploaded as doc1, then v2 as doc2 with doc1's delete refused (still refused on return;
    ``monkeypatch.undo()`` allows deletes again): the row is done (doc2), replacing doc1. The upload's args, the
    journal, doc1 and doc2."""
    root = make_tree(tmp_path / "root", {"a.txt": "v1"})
    journal = tmp_path / "j.sqlite3"
    args = ("datasets", "upload", dataset, str(root), "--journal", str(journal), "--replace-changed")
    summary(cli(*args))
    doc1 = documents(server, dataset)["a.txt"]
    refuse_deletes(server, monkeypatch)
    (root / "a.txt").write_text("v2", encoding="utf-8")
    summary(cli(*args), code=3)
    return args, journal, doc1, journal_rows(journal)["a.txt"][1] or ""


def test_a_crash_while_replacing_leaves_one_document_after_one_rerun(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed while sending v2 to replace doc1, with the server holding both: the rerun reconciles doc2 by name and
    deletes doc1 in the same run (the reconciled row's delete goes into the plan)."""
    server = dify_emulator_server
    args, journal, doc1, doc2 = replaced_with_the_old_delete_refused(cli, server, dataset, tmp_path, monkeypatch)
    monkeypatch.undo()
    assert {d["id"] for d in server.store.list_documents(dataset, None)} == {doc1, doc2}
    crash_while_sending(journal, "a.txt")
    rerun = summary(cli(*args))
    assert (rerun["reconciled"], rerun["uploaded"], rerun["replaced"], rerun["failed"]) == (1, 0, 1, [])
    assert documents(server, dataset) == {"a.txt": doc2}
    assert journal_rows(journal)["a.txt"] == ("done", doc2, None)
    assert pending_delete(journal, "a.txt") == (None, None)


def test_a_pending_row_keeps_the_old_document_it_replaces(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row left `pending` while replacing doc1 (a reconcile found nothing, then a kill): the rerun uploads the file
    and deletes doc1 (a pending row's upload used to forget doc1, leaving two documents)."""
    server = dify_emulator_server
    args, journal, doc1, doc2 = replaced_with_the_old_delete_refused(cli, server, dataset, tmp_path, monkeypatch)
    monkeypatch.undo()
    server.store.delete_document(dataset, doc2)
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE files SET state = 'pending', document_id = NULL, last_error = NULL WHERE path = 'a.txt'")
    db.close()
    rerun = summary(cli(*args))
    assert (rerun["uploaded"], rerun["replaced"], rerun["failed"]) == (1, 1, [])
    after = documents(server, dataset)
    assert list(after) == ["a.txt"] and after["a.txt"] not in (doc1, doc2)
    assert journal_rows(journal)["a.txt"] == ("done", after["a.txt"], None)


@pytest.mark.dify_emulator(indexing_seconds=0.05)
def test_a_file_edited_after_a_crash_is_replaced_in_one_rerun_and_waited_for(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path
) -> None:
    """With --replace-changed --wait the rerun reconciles the old document, uploads the edited file, deletes the old
    one, and waits only for the new one (the deleted one would never finish indexing)."""
    server = dify_emulator_server
    root = make_tree(tmp_path / "root", {"a.txt": "one"})
    journal = tmp_path / "j.sqlite3"
    args = ("datasets", "upload", dataset, str(root), "--journal", str(journal), "--replace-changed")
    summary(cli(*args))
    old = documents(server, dataset)["a.txt"]
    crash_while_sending(journal, "a.txt")
    (root / "a.txt").write_text("one, edited after the crash", encoding="utf-8")

    rerun = summary(cli(*args, "--wait", "--wait-timeout", "10"))
    assert (rerun["reconciled"], rerun["uploaded"], rerun["replaced"], rerun["failed"]) == (1, 1, 1, [])
    assert (rerun["indexing_completed"], rerun["indexing_errors"]) == (1, [])
    new = documents(server, dataset)["a.txt"]
    assert new != old and journal_rows(journal)["a.txt"] == ("done", new, None)
    assert [u["size"] for u in server.store.uploads()] == [len("one, edited after the crash")]


def test_dry_run_sends_nothing_and_writes_no_journal(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "root", TREE)
    journal = tmp_path / "j.sqlite3"
    dify_emulator_server.store.reset_counters()
    result = summary(cli("datasets", "upload", dataset, str(root), "-r", "--journal", str(journal), "--dry-run"))
    assert result["counts"] == {"upload": 5}
    assert sorted(a["path"] for a in result["actions"]) == sorted(TREE)
    assert dify_emulator_server.stats()["requests_total"] == 0
    assert not journal.exists()


@pytest.mark.dify_emulator(max_upload_mb=0.001)
def test_partial_failure_exits_3_and_a_rerun_finishes(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path
) -> None:
    """Uploads refused (413 over the size limit, 415 a type not indexed): exit 3, reasons listed; a rerun ends it."""
    files = {f"f{i:02}.txt": f"file {i}" for i in range(10)}
    files |= {"big-1.txt": "x" * 2000, "big-2.txt": "y" * 2000, "tool.exe": "MZ"}
    root = make_tree(tmp_path / "root", files)
    journal = tmp_path / "j.sqlite3"
    args = ("datasets", "upload", dataset, str(root), "--journal", str(journal))
    first = summary(cli(*args), code=3)
    assert first["uploaded"] == 10
    too_large = "file_too_large: file: is larger than 0.001 MiB (HTTP 413)"
    unsupported = "unsupported_file_type: file: file type .exe is not supported (HTTP 415)"
    assert sorted((f["path"], f["error"]) for f in first["failed"]) == [
        ("big-1.txt", too_large),
        ("big-2.txt", too_large),
        ("tool.exe", unsupported),
    ]
    rows = journal_rows(journal)
    assert sorted((p, e) for p, (s, _, e) in rows.items() if s == "failed") == [
        ("big-1.txt", too_large),
        ("big-2.txt", too_large),
        ("tool.exe", unsupported),
    ]
    dify_emulator_server.configure(max_upload_mb=15)
    second = summary(cli(*args, "--exclude", "*.exe"))
    assert (second["uploaded"], second["reconciled"], second["failed"], second["skipped_unchanged"]) == (2, 0, [], 10)
    assert set(documents(dify_emulator_server, dataset)) == {name for name in files if name != "tool.exe"}


@pytest.mark.dify_emulator(indexing_fail_rate=1.0, indexing_seconds=0.05)
def test_wait_reports_indexing_errors_and_exits_3(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "root", {"a.txt": "a", "b.txt": "b"})
    args = ("datasets", "upload", dataset, str(root), "--journal", str(tmp_path / "j.sqlite3"), "--wait")
    result = summary(cli(*args), code=3)
    assert result["uploaded"] == 2 and result["failed"] == [] and result["indexing_completed"] == 0
    errors = sorted(result["indexing_errors"], key=lambda e: e["path"])
    assert [e["path"] for e in errors] == ["a.txt", "b.txt"]
    assert all(e["parsing_error"] for e in errors)


def test_wait_all_completed_exits_0(cli: Cli, dataset: str, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "root", {"a.txt": "a", "b.txt": "b"})
    args = ("datasets", "upload", dataset, str(root), "--journal", str(tmp_path / "j.sqlite3"), "--wait")
    result = summary(cli(*args))
    assert (result["indexing_completed"], result["indexing_errors"]) == (2, [])


def test_usage_errors_exit_2_before_anything_is_sent(
    cli: Cli, dify_emulator_server: EmulatorServer, dataset: str, tmp_path: Path
) -> None:
    root = make_tree(tmp_path / "root", TREE)
    dify_emulator_server.store.reset_counters()
    journal = tmp_path / "j.sqlite3"
    base = ("datasets", "upload", dataset)
    collision = cli(*base, str(root / "a"), str(root / "b"), "--journal", str(journal))
    assert collision.exit_code == 2 and "would both be the document 'README.md'" in flat(collision.stderr)
    rule = cli(*base, str(root), "--journal", str(journal), "--process-rule", '{"chunk_sise": 5}')
    assert rule.exit_code == 2
    assert rule.stderr.startswith("invalid_argument: process_rule: unknown field(s) chunk_sise")
    assert dify_emulator_server.stats()["requests_total"] == 0
    missing = cli("datasets", "upload", "no-such-dataset", str(root), "--journal", str(journal))
    assert (missing.exit_code, missing.stderr) == (1, "not_found: Dataset not found (HTTP 404)\n")
    assert not journal.exists()


def test_a_second_run_on_the_same_journal_is_refused(cli: Cli, dataset: str, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "root", {"a.txt": "a"})
    journal = tmp_path / "j.sqlite3"
    with Journal(journal):
        result = cli("datasets", "upload", dataset, str(root), "--journal", str(journal))
    assert result.exit_code == 2
    assert result.stderr == f"journal_busy: journal {journal} is in use by another upload\n"
