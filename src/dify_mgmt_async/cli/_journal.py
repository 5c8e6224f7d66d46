"""The upload journal: one SQLite row per file, so a killed bulk upload can be resumed without duplicates.

Each file's row (keyed by dataset id and relative path) moves ``pending -> sending -> done | failed``
and every change is committed before the next step, so after a crash the journal says, for each
file, whether it was never sent, maybe sent (``sending``: reconciled against the server's document
list on the next run), or done with its document id. WAL mode keeps commits cheap and readers
unblocked; ``synchronous=NORMAL`` in WAL loses nothing when the process dies (only an OS crash
could drop the last commits). An exclusive ``flock`` on ``<journal>.lock`` keeps two runs apart.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import platformdirs

__all__ = [
    "STATES",
    "Journal",
    "JournalBusyError",
    "JournalError",
    "Row",
    "State",
    "default_journal_path",
    "read_rows",
]

State = Literal["pending", "sending", "done", "failed"]
STATES: tuple[State, ...] = ("pending", "sending", "done", "failed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    dataset_id  TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'done', 'failed')),
    document_id TEXT,
    replaces    TEXT,
    last_error  TEXT,
    updated_at  REAL    NOT NULL,
    PRIMARY KEY (dataset_id, path)
) WITHOUT ROWID
"""
# replaces: the id of the document this upload supersedes (--replace-changed); deleted once the new one is done.


class JournalError(Exception):
    """The journal cannot be used; ``code`` starts the CLI's error line."""

    code = "journal_error"


class JournalBusyError(JournalError):
    """Another process holds the journal."""

    code = "journal_busy"


@dataclass(frozen=True)
class Row:
    path: str
    size: int
    mtime_ns: int
    sha256: str
    state: State
    document_id: str | None
    replaces: str | None
    last_error: str | None


def default_journal_path(dataset_id: str) -> Path:
    """One journal per dataset in the user's state directory (``~/.local/state/dify-mgmt/journals`` on Linux)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", dataset_id)
    return platformdirs.user_state_path("dify-mgmt") / "journals" / f"{safe}.sqlite3"


_COLUMNS = frozenset(re.findall(r"^\s+([a-z_0-9]+)\s+(?:TEXT|INTEGER|REAL)", SCHEMA, re.MULTILINE))


def _is_journal(db: sqlite3.Connection) -> bool:
    """Does ``db`` hold this journal's ``files`` table? False for an empty database (a new journal, or a run killed
    before it made the table); raises if it is some other database, which must be neither read nor changed."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return False
    columns = {row[1] for row in db.execute("PRAGMA table_info(files)")}
    if columns != _COLUMNS:
        raise sqlite3.DatabaseError("it is not an upload journal (a SQLite database with other tables)")
    return True


def _rows(db: sqlite3.Connection, dataset_id: str) -> dict[str, Row]:
    cursor = db.execute(
        "SELECT path, size, mtime_ns, sha256, state, document_id, replaces, last_error FROM files WHERE dataset_id = ?",
        (dataset_id,),
    )
    return {r[0]: Row(*r) for r in cursor}


@contextlib.contextmanager
def _opening(path: Path) -> Iterator[None]:
    """An OS or SQLite error while opening the journal at ``path`` as one JournalError naming the path and why."""
    try:
        if path.is_dir():  # SQLite would only say "unable to open database file"
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        yield
    except FileExistsError as exc:  # mkdir: a file stands where a folder of the path should be
        raise JournalError(f"cannot open the journal {path}: {exc.filename} is not a directory") from exc
    except OSError as exc:
        raise JournalError(f"cannot open the journal {path}: {exc.strerror or exc}") from exc
    except sqlite3.Error as exc:
        raise JournalError(f"cannot open the journal {path}: {exc}") from exc


class Journal:
    """The journal file at ``path``, created when missing; use as a context manager (holds the lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> Self:
        try:
            with _opening(self.path):
                self._open()
        except BaseException:
            self.__exit__(None, None, None)  # what was opened before the failure: `with` will not call __exit__
            raise
        return self

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JournalBusyError(f"journal {self.path} is in use by another upload") from None
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)  # autocommit: each statement commits
        is_journal = _is_journal(self._db)  # before anything is changed: another database is left as it was
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        if not is_journal:
            self._db.execute(SCHEMA)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "use the journal inside `with`"
        return self._db

    def rows(self, dataset_id: str) -> dict[str, Row]:
        return _rows(self.db, dataset_id)

    def record(
        self,
        dataset_id: str,
        row: Row,
    ) -> None:
        """Write ``row`` (insert or replace); committed when this returns."""
        self.db.execute(
            "INSERT OR REPLACE INTO files (dataset_id, path, size, mtime_ns, sha256, state, document_id, replaces,"
            " last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                dataset_id,
                row.path,
                row.size,
                row.mtime_ns,
                row.sha256,
                row.state,
                row.document_id,
                row.replaces,
                row.last_error,
                time.time(),
            ),
        )


def read_rows(path: Path, dataset_id: str) -> dict[str, Row]:
    """The rows of an existing journal without locking or changing it (``--dry-run``); empty if it doesn't exist."""
    with _opening(path):
        if not path.exists():
            return {}
        # as_uri() escapes what a URI would misread: a '#' or '?' in the path (a fragment, a query), a '%'.
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return _rows(db, dataset_id) if _is_journal(db) else {}
        finally:
            db.close()
