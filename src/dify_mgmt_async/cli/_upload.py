"""``dify-mgmt datasets upload``: a folder into a dataset, resumable after a crash, one document per file.

The journal (``_journal``) records each file's state before every step. A rerun skips files that
are ``done`` and unchanged, and first reconciles the ones a crash left ``sending`` (or that
failed) against the dataset's document list by name: found, the row becomes ``done`` with the
hash of what was being sent, so a file edited since is changed like any other (replaced with
--replace-changed, reported otherwise); not found, the file is sent again. So a kill at any
moment, then a rerun, leaves exactly one document per file.

An old document a replacement could not delete stays in the journal (``replaces``) and is
deleted on the next runs; until then its file is listed as failed and not replaced again, while
the other files go on. A 404 on that delete means it is gone already: done.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import Task as ProgressTask
from rich.table import Table
from rich.text import Text

from .. import _validation as _v
from .. import bulk
from .._client import DifyManagementClient
from .._errors import DifyError, NotFoundError
from .._generated.models import ProcessRule
from .._resources import _PROCESS_RULE_FIELDS
from ._app import EXIT_API_ERROR, EXIT_PARTIAL, error_line, fail, run, settings
from ._commands import json_object
from ._journal import Journal, JournalError, Row, State, default_journal_path, read_rows
from ._output import verbatim

__all__ = ["LocalFile", "Plan", "Task", "add_upload_command", "document_name", "scan"]

HASH_CHUNK = 1 << 20
HASH_THREADS = 4  # files hashed at once, off the event loop
DEFAULT_CONCURRENCY = 16


def document_name(relative: str) -> str:
    """The document's name for a relative path: the path itself, ``/`` written ``%2F`` (and ``%`` as ``%25``).

    File names sent to the API must be bare (the SDK refuses a ``/``, and Dify keeps only the last
    segment), and the extension must stay last for the server's type check. The encoding is
    reversible, so ``a/README.md`` and ``b/README.md`` stay two documents.
    """
    return relative.replace("%", "%25").replace("/", "%2F")


@dataclass(frozen=True)
class LocalFile:
    path: Path
    relative: str  # POSIX separators, relative to the root it was found under
    size: int
    mtime_ns: int


def _matches(relative: str, globs: list[str]) -> bool:
    name = relative.rpartition("/")[2]
    return any(fnmatch.fnmatchcase(relative, g) or fnmatch.fnmatchcase(name, g) for g in globs)


def _walk(root: Path, recursive: bool) -> Iterator[tuple[Path, str]]:
    if root.is_file():
        yield root, root.name
        return
    if not root.is_dir():
        raise typer.BadParameter(f"{root}: no such file or directory", param_hint="PATH")
    if not recursive:
        for entry in sorted(root.iterdir()):
            if entry.is_file():
                yield entry, entry.name
        return

    def unreadable(error: OSError) -> None:  # os.walk skips such a folder silently otherwise
        raise typer.BadParameter(f"{error.filename}: cannot be read ({error.strerror})", param_hint="PATH")

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_file():
                yield path, path.relative_to(root).as_posix()


def scan(roots: list[Path], *, recursive: bool, include: list[str], exclude: list[str]) -> list[LocalFile]:
    """Every matching file under ``roots``, named by its path relative to its root; two files with one name refused."""
    found: dict[str, LocalFile] = {}
    for root in roots:
        for path, relative in _walk(root, recursive):
            if (include and not _matches(relative, include)) or _matches(relative, exclude):
                continue
            if relative in found:
                raise typer.BadParameter(
                    f"{found[relative].path} and {path} would both be the document {relative!r}", param_hint="PATH"
                )
            stat = path.stat()
            found[relative] = LocalFile(path, relative, stat.st_size, stat.st_mtime_ns)
    return list(found.values())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Task:
    file: LocalFile
    sha256: str
    replaces: str | None = None  # a changed file's old document, deleted after the new one is done (--replace-changed)


@dataclass
class Plan:
    upload: list[Task] = field(default_factory=list)
    skip: list[LocalFile] = field(default_factory=list)
    changed: list[LocalFile] = field(default_factory=list)  # done before, different now, not replaced
    reconcile: list[Task] = field(default_factory=list)  # maybe sent before: look for the document first
    cleanup: list[Row] = field(default_factory=list)  # done, with an old document still to delete

    def settle(self, reconciled: Plan) -> None:
        """Take in the plan of the files just reconciled (their rows now done or pending); unchanged, they are not
        counted as skipped: they were reconciled."""
        self.upload += reconciled.upload
        self.changed += reconciled.changed
        self.cleanup += reconciled.cleanup


def _plan(files: list[LocalFile], rows: dict[str, Row], hashes: dict[str, str], *, replace_changed: bool) -> Plan:
    plan = Plan()
    for f in files:
        row, sha = rows.get(f.relative), hashes[f.relative]
        if row is None:
            plan.upload.append(Task(f, sha))
        elif row.state == "pending":
            plan.upload.append(Task(f, sha, row.replaces))
        elif row.state in ("sending", "failed"):
            plan.reconcile.append(Task(f, sha, row.replaces))
        else:
            if row.replaces:  # an old document an earlier run could not delete: first (one per file in the journal)
                plan.cleanup.append(row)
            if row.sha256 == sha:
                plan.skip.append(f)
            elif replace_changed:
                plan.upload.append(Task(f, sha, row.document_id))
            else:
                plan.changed.append(f)
    return plan


@dataclass
class Outcome:
    uploaded: list[tuple[LocalFile, str]] = field(default_factory=list)  # (file, document id)
    reconciled: list[tuple[str, str]] = field(default_factory=list)  # (relative path, document id)
    replaced: list[str] = field(default_factory=list)  # the old documents deleted
    failed: list[tuple[str, str]] = field(default_factory=list)  # (relative path, error line)


class Uploader:
    """Runs a plan against the server, writing the journal before and after each step."""

    def __init__(
        self,
        dify: DifyManagementClient,
        journal: Journal,
        dataset_id: str,
        process_rule: ProcessRule | None,
        progress: Progress,
    ) -> None:
        self.dify = dify
        self.journal = journal
        self.dataset_id = dataset_id
        self.process_rule = process_rule
        self.progress = progress
        self.outcome = Outcome()
        self.files_bar: TaskID | None = None
        self.bytes_bar: TaskID | None = None
        self.bytes_done = 0
        self.upload_seconds = 0.0

    def _record(self, task: Task, state: State, document_id: str | None = None, last_error: str | None = None) -> Row:
        row = Row(
            path=task.file.relative,
            size=task.file.size,
            mtime_ns=task.file.mtime_ns,
            sha256=task.sha256,
            state=state,
            document_id=document_id,
            replaces=task.replaces,
            last_error=last_error,
        )
        self.journal.record(self.dataset_id, row)
        return row

    async def reconcile(self, rows: list[Row]) -> None:
        """Settle rows of files that may have been sent, by the document of their name (the old one they replace aside).

        Found, the row is ``done`` with that document, and keeps the size, mtime and hash of what was being sent,
        not the file's now: a file edited since the crash is changed, not taken for uploaded. Not found, the row is
        ``pending``: the file is sent again.
        """
        if not rows:
            return
        names: dict[str, list[str]] = {}
        async for document in self.dify.datasets.list_documents(self.dataset_id, limit=100):
            names.setdefault(document.name, []).append(document.id)
        for row in rows:
            found = [d for d in names.get(document_name(row.path), []) if d != row.replaces]
            if found:
                self.journal.record(self.dataset_id, replace(row, state="done", document_id=found[0], last_error=None))
                self.outcome.reconciled.append((row.path, found[0]))
            else:
                self.journal.record(self.dataset_id, replace(row, state="pending", document_id=None, last_error=None))

    async def _delete_old(self, row: Row) -> bool:
        """Delete the document ``row`` replaces, then forget it. Refused, the file is listed as failed and the journal
        keeps the delete (with the error) for the next run; whether the delete was done."""
        assert row.replaces is not None
        try:
            with contextlib.suppress(NotFoundError):  # already gone (a crash right after the delete, or by hand)
                await self.dify.datasets.delete_document(self.dataset_id, row.replaces)
        except DifyError as exc:
            self.journal.record(self.dataset_id, replace(row, last_error=error_line(exc)))
            self.outcome.failed.append((row.path, error_line(exc)))
            return False
        self.journal.record(self.dataset_id, replace(row, replaces=None, last_error=None))
        self.outcome.replaced.append(row.replaces)
        return True

    async def cleanup(self, rows: list[Row]) -> set[str]:
        """Delete the old documents earlier runs left; the paths whose delete failed again (not to be replaced now)."""
        return {row.path for row in rows if not await self._delete_old(row)}

    async def send(self, task: Task) -> str:
        """One file: ``sending`` committed, upload, ``done`` committed (then the old document deleted, if any)."""
        self._record(task, "sending")
        sent = 0

        def on_progress(now: int, total: int | None) -> None:
            nonlocal sent
            self.bytes_done += now - sent  # a retry starts again from 0
            sent = now
            if self.bytes_bar is not None:
                self.progress.update(self.bytes_bar, completed=self.bytes_done)

        try:
            document = await self.dify.datasets.upload_document(
                self.dataset_id,
                task.file.path,
                filename=document_name(task.file.relative),
                process_rule=self.process_rule,
                on_progress=on_progress,
            )
        except (DifyError, OSError) as exc:
            self._record(task, "failed", last_error=error_line(exc))
            self.outcome.failed.append((task.file.relative, error_line(exc)))
            raise
        finally:
            if self.files_bar is not None:
                self.progress.advance(self.files_bar)
        row = self._record(task, "done", document_id=document.id)
        self.outcome.uploaded.append((task.file, document.id))
        if row.replaces:
            await self._delete_old(row)
        return document.id

    async def send_all(self, tasks: list[Task], concurrency: int) -> None:
        self.files_bar = self.progress.add_task("Uploading", total=len(tasks), unit="files")
        self.bytes_bar = self.progress.add_task("  bytes", total=sum(t.file.size for t in tasks), unit="bytes")
        started = time.monotonic()
        results = await bulk.map(self.send, tasks, concurrency=concurrency)
        self.upload_seconds = time.monotonic() - started
        listed = {relative for relative, _ in self.outcome.failed}
        for task, result in zip(tasks, results, strict=True):
            if isinstance(result, Exception) and task.file.relative not in listed:
                # An error ``send`` did not list itself (a name the journal cannot store): the file failed, it
                # was not skipped.
                self.outcome.failed.append((task.file.relative, error_line(result)))


class _Amount(ProgressColumn):
    """Files and documents as ``n/total``; bytes as sizes with the transfer rate."""

    def __init__(self) -> None:
        super().__init__()
        self._count, self._size, self._rate = MofNCompleteColumn(), DownloadColumn(), TransferSpeedColumn()

    def render(self, task: ProgressTask) -> Text:
        if task.fields.get("unit") == "bytes":
            return Text.assemble(self._size.render(task), " ", self._rate.render(task))
        return self._count.render(task)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        _Amount(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )


def _dry_run(plan: Plan, journal_path: Path) -> dict[str, Any]:
    actions = (
        [{"path": t.file.relative, "action": "upload", "size": t.file.size} for t in plan.upload if not t.replaces]
        + [{"path": t.file.relative, "action": "replace", "size": t.file.size} for t in plan.upload if t.replaces]
        + [{"path": t.file.relative, "action": "reconcile", "size": t.file.size} for t in plan.reconcile]
        + [{"path": f.relative, "action": "skip_unchanged", "size": f.size} for f in plan.skip]
        + [{"path": f.relative, "action": "changed", "size": f.size} for f in plan.changed]
    )
    counts: dict[str, int] = {}
    for action in actions:
        counts[str(action["action"])] = counts.get(str(action["action"]), 0) + 1
    return {"dry_run": True, "journal": str(journal_path), "counts": counts, "actions": actions}


def _print_summary(summary: dict[str, Any], mode: str) -> None:
    if mode != "table":
        print(json.dumps(summary, ensure_ascii=False, indent=2 if mode == "json" else None), flush=True)
        return
    # Paths and the server's error texts go to rich verbatim: as markup, "[/red]" would crash and "[b]x" be altered.
    console = Console()
    if summary.get("dry_run"):
        table = Table("action", "path", "size")
        for action in summary["actions"]:
            table.add_row(action["action"], verbatim(action["path"]), str(action["size"]))
        console.print(table)
        counts = "  ".join(f"{k}: {v}" for k, v in summary["counts"].items()) or "nothing to do"
        console.print(counts, markup=False, emoji=False, highlight=False)
        return
    table = Table(show_header=False, box=None)
    for key, value in summary.items():
        if isinstance(value, list):
            lines = [
                f"{v['path']}: {v.get('error') or v.get('parsing_error')}" if isinstance(v, dict) else v for v in value
            ]
            value = "\n".join(lines) or "0"
        table.add_row(key, verbatim(str(value)))
    console.print(table)


async def _hashes(files: list[LocalFile], rows: dict[str, Row], checksum: bool) -> dict[str, str]:
    """Each file's sha256; one whose size and mtime match its journal row keeps the recorded one (unless checksum)."""
    hashes: dict[str, str] = {}
    todo: list[LocalFile] = []
    for f in files:
        row = rows.get(f.relative)
        if row is not None and not checksum and row.size == f.size and row.mtime_ns == f.mtime_ns:
            hashes[f.relative] = row.sha256
        else:
            todo.append(f)
    results = await bulk.map(lambda f: anyio.to_thread.run_sync(_sha256, f.path), todo, concurrency=HASH_THREADS)
    for f, result in zip(todo, results, strict=True):
        if isinstance(result, OSError):
            fail(f"file_error: {f.path}: {result.strerror or result}", EXIT_API_ERROR)
        if isinstance(result, Exception):
            raise result
        hashes[f.relative] = result
    return hashes


@contextlib.contextmanager
def _journal_errors() -> Iterator[None]:
    """A journal that cannot be opened or is in use: one line naming it and why, and the usage exit code."""
    try:
        yield
    except JournalError as exc:
        fail(f"{exc.code}: {exc}")


def add_upload_command(group: typer.Typer) -> None:
    @group.command("upload")
    def upload(
        ctx: typer.Context,
        dataset_id: Annotated[str, typer.Argument(metavar="DATASET_ID", help="The dataset to upload into.")],
        paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Files and folders to upload.")],
        recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into sub-folders.")] = False,
        include: Annotated[
            list[str] | None,
            typer.Option("--include", help="Only files matching this glob (path or name); repeatable."),
        ] = None,
        exclude: Annotated[
            list[str] | None, typer.Option("--exclude", help="Leave out files matching this glob; repeatable.")
        ] = None,
        process_rule: Annotated[
            str | None, typer.Option("--process-rule", help="Chunking rule as JSON, e.g. '{\"chunk_size\": 500}'.")
        ] = None,
        concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Uploads in flight at most.")] = (
            DEFAULT_CONCURRENCY
        ),
        journal: Annotated[
            Path | None,
            typer.Option("--journal", help="The journal file (default: one per dataset in the user's state dir)."),
        ] = None,
        replace_changed: Annotated[
            bool,
            typer.Option(
                "--replace-changed", help="Upload files changed since their upload, then delete the old document."
            ),
        ] = False,
        checksum: Annotated[
            bool, typer.Option("--checksum", help="Hash every file, even those whose size and mtime are unchanged.")
        ] = False,
        wait: Annotated[bool, typer.Option("--wait", help="Then wait for indexing and report documents in error.")] = (
            False
        ),
        wait_timeout: Annotated[
            float | None, typer.Option("--wait-timeout", min=0.001, help="Give up waiting after this many seconds.")
        ] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Show what would be uploaded, skipped or reconciled; send nothing.")
        ] = False,
    ) -> None:
        """Upload files into a dataset, resumably: a journal skips what is done and reconciles what a crash left.

        Each document is named by the file's path relative to its PATH root (a '/' is sent as '%2F').
        Rerunning skips unchanged files; a changed file is only reported unless --replace-changed.
        Exit code 3 when some files failed, or with --wait ended in indexing error (the summary lists why).
        """
        config = settings(ctx)
        rule: ProcessRule | None = None
        if process_rule is not None:
            raw = json_object("process_rule", process_rule)
            try:
                checked = _v.model("process_rule", raw, required=True, model=ProcessRule, fields=_PROCESS_RULE_FIELDS)
            except DifyError as exc:
                fail(error_line(exc))
            rule = checked
        try:
            dataset = _v.ident("dataset_id", dataset_id)
        except DifyError as exc:
            fail(error_line(exc))
        files = scan(paths, recursive=recursive, include=include or [], exclude=exclude or [])
        journal_path = journal or default_journal_path(dataset)
        mode = config.printer().mode

        if dry_run:
            with _journal_errors():
                rows = read_rows(journal_path, dataset)
            hashes = anyio.run(_hashes, files, rows, checksum)
            _print_summary(_dry_run(_plan(files, rows, hashes, replace_changed=replace_changed), journal_path), mode)
            return

        async def body(dify: DifyManagementClient) -> int:
            started = time.monotonic()
            console = Console(stderr=True)
            await dify.datasets.get(dataset)  # a wrong id or token ends here, before any journal row is written
            with contextlib.ExitStack() as stack:
                with _journal_errors():
                    book = stack.enter_context(Journal(journal_path))
                rows = book.rows(dataset)
                hashes = await _hashes(files, rows, checksum)
                plan = _plan(files, rows, hashes, replace_changed=replace_changed)
                progress = stack.enter_context(_progress(console))
                uploader = Uploader(dify, book, dataset, rule, progress)
                if plan.reconcile:
                    await uploader.reconcile([rows[t.file.relative] for t in plan.reconcile])
                    reconciled = [t.file for t in plan.reconcile]
                    plan.settle(_plan(reconciled, book.rows(dataset), hashes, replace_changed=replace_changed))
                blocked = await uploader.cleanup(plan.cleanup)
                await uploader.send_all([t for t in plan.upload if t.file.relative not in blocked], concurrency)
                indexing = await _wait(dify, dataset, uploader.outcome, progress, wait_timeout) if wait else None
            outcome = uploader.outcome
            elapsed = time.monotonic() - started
            sent_bytes = sum(f.size for f, _ in outcome.uploaded)
            sending = uploader.upload_seconds  # throughput of the uploads alone, not of reconciling or --wait
            summary: dict[str, Any] = {
                "dataset_id": dataset,
                "journal": str(journal_path),
                "files": len(files),
                "uploaded": len(outcome.uploaded),
                "reconciled": len(outcome.reconciled),
                "skipped_unchanged": len(plan.skip),
                "changed_not_uploaded": [f.relative for f in plan.changed],
                "replaced": len(outcome.replaced),
                "failed": [{"path": p, "error": e} for p, e in outcome.failed],
                "rate_limited_429": dify.stats.rate_limited,
                "retries": dify.stats.retries,
                "elapsed_seconds": round(elapsed, 3),
                "files_per_second": round(len(outcome.uploaded) / sending, 2) if sending else 0.0,
                "bytes_per_second": round(sent_bytes / sending) if sending else 0,
            }
            if indexing is not None:
                summary.update(indexing)
            _print_summary(summary, mode)
            return EXIT_PARTIAL if outcome.failed or (indexing and indexing["indexing_errors"]) else 0

        run(ctx, body)


async def _wait(
    dify: DifyManagementClient, dataset: str, outcome: Outcome, progress: Progress, wait_timeout: float | None
) -> dict[str, Any]:
    """Wait for the documents of this run to finish indexing; the ones in ``error`` with their ``parsing_error``."""
    documents = {document_id: f.relative for f, document_id in outcome.uploaded}
    # A reconciled document replaced since (its file was edited after the crash) is gone: not to be waited for.
    documents |= {document_id: path for path, document_id in outcome.reconciled if document_id not in outcome.replaced}
    bar = progress.add_task("Indexing", total=len(documents), unit="documents")
    finished = await dify.datasets.wait_for_indexing(
        dataset,
        list(documents),
        timeout=wait_timeout,
        on_progress=lambda done, total: progress.update(bar, completed=done),
    )
    errors = [d for d in finished if str(getattr(d.indexing_status, "value", d.indexing_status)) == "error"]
    return {
        "indexing_completed": len(finished) - len(errors),
        "indexing_errors": [
            {"path": documents[d.id], "document_id": d.id, "parsing_error": d.parsing_error or ""} for d in errors
        ],
    }
