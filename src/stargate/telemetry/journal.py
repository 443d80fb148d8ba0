"""The ledger's local journal: every row on disk before it is queued for the database.

Layout under the journal directory (``var/journal`` by default)::

    <root>/w-<pid>-<random>/LOCK        held (flock) by the writer that owns the directory
    <root>/w-<pid>-<random>/00000001.jsonl   segments: one JSON row per line, append-only
    <root>/rejected.jsonl               rows the database refused for good (kept, never dropped)

Each writer appends to a segment of its own directory with ``os.write`` (``O_APPEND``), so a row
is in the operating system's hands when :meth:`Journal.append` returns: a killed process loses
nothing. ``fsync`` is batched (:meth:`Journal.sync`, every few tens of milliseconds), which bounds
what a power cut can take. When the database has committed every row of the current segment the
segment is truncated; a segment that also holds rows that never reached the queue is closed
(:meth:`Journal.rotate`) and replayed from disk. At start-up, the directories of writers that are
gone (their ``LOCK`` is free) are adopted and replayed; replaying is harmless because the ledger
ignores a request id it already has.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Journal", "Segment", "read_lines"]

log = logging.getLogger("stargate.ledger")

_LOCK = "LOCK"
_PREFIX = "w-"
_SUFFIX = ".jsonl"
_REJECTED = "rejected.jsonl"
_READ_CHUNK = 1 << 20


@dataclass(slots=True)
class Segment:
    """A closed segment waiting to be replayed (this writer's, or an adopted one)."""

    path: Path
    seq: int | None  # this writer's segment number; None for an adopted segment


@dataclass(slots=True)
class _Adopted:
    directory: Path
    lock_fd: int


@dataclass(slots=True)
class Journal:
    """One writer's journal. Create it with :meth:`open` (blocking file I/O: call it from a
    thread); :meth:`append` is the only method on the request path."""

    root: Path
    directory: Path
    lock_fd: int
    seq: int = 1
    fd: int = -1
    dirty: bool = False
    written: dict[int, int] = field(default_factory=dict)
    committed: dict[int, int] = field(default_factory=dict)
    sizes: dict[int, int] = field(default_factory=dict)  # bytes of this writer's live segments
    closed: list[int] = field(default_factory=list)
    adopted: list[_Adopted] = field(default_factory=list)
    # :attr:`uncommitted` and :attr:`size`, kept up to date (read after every append).
    _uncommitted: int = 0
    _size: int = 0

    @classmethod
    def open(cls, root: Path) -> Journal:
        """Make this writer's directory (locked) and its first segment, and adopt the
        directories of writers that are gone."""
        root.mkdir(parents=True, exist_ok=True)
        directory = root / f"{_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        directory.mkdir()
        lock_fd = _lock(directory)
        if lock_fd is None:  # pragma: no cover - the directory name is new
            raise RuntimeError(f"cannot lock the new journal directory {directory}")
        journal = cls(root, directory, lock_fd)
        journal.fd = journal._open_segment(journal.seq)
        journal.adopt_orphans()
        return journal

    # --- the request path -------------------------------------------------------------------

    def append(self, line: bytes) -> int:
        """Write one newline-terminated row to the current segment; return its number."""
        size = len(line)
        done = os.write(self.fd, line)
        if done != size:  # a short write (a signal, a full disk): the rest, or OSError
            view = memoryview(line)[done:]
            while view:
                view = view[os.write(self.fd, view) :]
        seq = self.seq
        written, sizes = self.written, self.sizes
        written[seq] = written.get(seq, 0) + 1
        sizes[seq] = sizes.get(seq, 0) + size
        self._uncommitted += 1
        self._size += size
        self.dirty = True
        return seq

    # --- the writer task ----------------------------------------------------------------------

    def sync(self) -> None:
        """``fsync`` the current segment if anything was appended since the last call. Safe to
        run in a worker thread while :meth:`append` runs on the event loop."""
        if not self.dirty:
            return
        self.dirty = False
        os.fsync(self.fd)

    @property
    def uncommitted(self) -> int:
        """Rows of this writer's segments that the database has not committed yet."""
        return self._uncommitted

    @property
    def size(self) -> int:
        """Bytes in this writer's segments on disk (adopted ones not counted)."""
        return self._size

    def mark_committed(self, seq: int, count: int) -> None:
        """``count`` rows of segment ``seq`` are committed. A segment whose every row is
        committed is emptied: truncated if current, deleted if closed."""
        before = self._uncommitted_in(seq)
        self.committed[seq] = self.committed.get(seq, 0) + count
        self._uncommitted += self._uncommitted_in(seq) - before
        if self.committed[seq] < self.written.get(seq, 0):
            return
        if seq == self.seq:
            os.ftruncate(self.fd, 0)
            self._uncommitted -= self._uncommitted_in(seq)
            self._size -= self.sizes.get(seq, 0)
            self.written[seq] = self.committed[seq] = self.sizes[seq] = 0
        elif seq in self.closed:
            self._forget(seq)

    def rotate(self) -> None:
        """Close the current segment (it is then replayed from disk) and start the next."""
        self.sync()
        old, self.seq = self.seq, self.seq + 1
        new_fd = self._open_segment(self.seq)
        os.close(self.fd)
        self.fd = new_fd
        self.closed.append(old)

    def backlog(self) -> list[Segment]:
        """Closed segments to replay, oldest first: adopted ones, then this writer's."""
        segments = [
            Segment(path, None)
            for adopted in self.adopted
            for path in sorted(adopted.directory.glob(f"*{_SUFFIX}"))
        ]
        segments += [Segment(self._segment_path(seq), seq) for seq in sorted(self.closed)]
        return segments

    def replayed(self, segment: Segment) -> None:
        """Every row of ``segment`` is in the database: delete it (and an adopted directory
        once it is empty)."""
        if segment.seq is not None:
            self._forget(segment.seq)
            return
        segment.path.unlink(missing_ok=True)
        for adopted in list(self.adopted):
            if adopted.directory == segment.path.parent and not any(
                adopted.directory.glob(f"*{_SUFFIX}")
            ):
                _remove_directory(adopted.directory, adopted.lock_fd)
                self.adopted.remove(adopted)

    def adopt_orphans(self) -> int:
        """Take over the directories of writers that are gone; return how many."""
        found = 0
        known = {a.directory for a in self.adopted} | {self.directory}
        for directory in sorted(self.root.glob(f"{_PREFIX}*")):
            if directory in known or not directory.is_dir():
                continue
            lock_fd = _lock(directory)
            if lock_fd is None:
                continue  # a live writer's
            self.adopted.append(_Adopted(directory, lock_fd))
            found += 1
        if found:
            log.info("ledger journal: adopted %d directories left by stopped writers", found)
        return found

    def reject(self, line: bytes, reason: str) -> None:
        """Keep a row the database refused for good (or a line that is not a row) aside."""
        log.error("ledger: a row was set aside in %s: %s", self.root / _REJECTED, reason)
        with (self.root / _REJECTED).open("ab") as rejected:
            rejected.write(line if line.endswith(b"\n") else line + b"\n")
            rejected.flush()
            os.fsync(rejected.fileno())

    def close(self) -> None:
        """Release the files. When every row is committed the directory is removed; else it
        stays for the next start to replay."""
        with contextlib.suppress(OSError):
            self.sync()
        os.close(self.fd)
        self.fd = -1
        if self.uncommitted == 0 and not self.closed:
            _remove_directory(self.directory, self.lock_fd)
        else:
            os.close(self.lock_fd)
        for adopted in self.adopted:
            os.close(adopted.lock_fd)
        self.adopted.clear()

    # --- helpers ------------------------------------------------------------------------------

    def _segment_path(self, seq: int) -> Path:
        return self.directory / f"{seq:08d}{_SUFFIX}"

    def _open_segment(self, seq: int) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self._segment_path(seq), flags, 0o600)
        _fsync_directory(self.directory)
        return fd

    def _uncommitted_in(self, seq: int) -> int:
        """Segment ``seq``'s share of :attr:`uncommitted` (none once it is forgotten)."""
        written = self.written.get(seq)
        return 0 if written is None else written - self.committed.get(seq, 0)

    def _forget(self, seq: int) -> None:
        self._segment_path(seq).unlink(missing_ok=True)
        self._uncommitted -= self._uncommitted_in(seq)
        self._size -= self.sizes.get(seq, 0)
        self.written.pop(seq, None)
        self.committed.pop(seq, None)
        self.sizes.pop(seq, None)
        if seq in self.closed:
            self.closed.remove(seq)


def read_lines(path: Path) -> Iterator[bytes]:
    """The complete lines of a segment. A last line without its newline (torn by a crash in
    the middle of a write, so its row was never acknowledged) is skipped."""
    with path.open("rb") as segment:
        rest = b""
        while chunk := segment.read(_READ_CHUNK):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            yield from (line for line in lines if line)
    if rest:
        log.warning("ledger journal: skipped a torn last line in %s (%d bytes)", path, len(rest))


def _lock(directory: Path) -> int | None:
    fd = os.open(directory / _LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _remove_directory(directory: Path, lock_fd: int) -> None:
    for path in directory.glob(f"*{_SUFFIX}"):
        path.unlink(missing_ok=True)
    (directory / _LOCK).unlink(missing_ok=True)
    os.close(lock_fd)
    with contextlib.suppress(OSError):
        directory.rmdir()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
