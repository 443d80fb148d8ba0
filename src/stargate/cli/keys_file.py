"""The file ``onboard`` writes new keys to: created with mode 0600 (and set to 0600 if it
already existed), appended to, one CSV line per key written as soon as the key is made, so an
interrupted run loses none. The keys go nowhere else: not to the terminal, not to a log."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from stargate.cli.errors import InputError

__all__ = ["KeysFile"]

HEADER = ("email", "tier", "key_alias", "key")


class KeysFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self._fd: int | None = None

    def __enter__(self) -> KeysFile:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def check(self) -> None:
        """Refuse up front a path that cannot be written (before any key is made)."""
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if self.path.is_dir():
            raise InputError(f"--keys-file {self.path} is a directory")
        if not parent.is_dir():
            raise InputError(f"--keys-file {self.path}: the directory {parent} does not exist")
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise InputError(f"--keys-file {self.path} is not writable")
        if not self.path.exists() and not os.access(parent, os.W_OK):
            raise InputError(f"--keys-file {self.path}: cannot create files in {parent}")

    def write(self, email: str, tier: str, alias: str | None, key: str) -> None:
        if self._fd is None:
            self._fd = self._open()
        self._line((email, tier, alias or "", key))
        self.written += 1

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise InputError(f"cannot write {self.path}: {exc.strerror}") from exc
        os.fchmod(fd, 0o600)  # also when the file was already there
        if os.fstat(fd).st_size == 0:
            self._fd = fd
            self._line(HEADER)
        return fd

    def _line(self, fields: tuple[str, ...]) -> None:
        fd = self._fd
        assert fd is not None
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(fields)
        os.write(fd, buffer.getvalue().encode())
        os.fsync(fd)
