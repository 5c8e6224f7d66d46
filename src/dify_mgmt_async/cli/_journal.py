"""The upload journal: one SQLite row per file, so a killed bulk upload can be resumed without duplicates.

Each file's row (keyed by dataset id and relative path) moves ``pending -> sending -> done | failed``
and every change is committed before the next step, so after a crash the journal says, for each
file, whether it was never sent, maybe sent (``sending``: reconciled against the server's document
list on the next run), or done with its document id. WAL mode keeps commits cheap and readers
unblocked; ``synchronous=NORMAL`` in WAL loses nothing when the process dies (only an OS crash
could drop the last commits). An exclusive ``flock`` on ``<journal>.lock`` keeps two runs apart.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import platformdirs

__all__ = ["STATES", "Journal", "JournalBusyError", "Row", "State", "default_journal_path", "read_rows"]

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


class JournalBusyError(Exception):
    """Another process holds the journal."""


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


def _rows(db: sqlite3.Connection, dataset_id: str) -> dict[str, Row]:
    cursor = db.execute(
        "SELECT path, size, mtime_ns, sha256, state, document_id, replaces, last_error FROM files WHERE dataset_id = ?",
        (dataset_id,),
    )
    return {r[0]: Row(*r) for r in cursor}


class Journal:
    """The journal file at ``path``, created when missing; use as a context manager (holds the lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalBusyError(f"journal {self.path} is in use by another upload") from None
        self._lock_fd = fd
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30)  # autocommit: each statement commits
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(SCHEMA)
        self._db = db
        return self

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
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _rows(db, dataset_id)
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()
