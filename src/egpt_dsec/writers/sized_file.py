"""A write-once file whose size is known before its first byte: the base of the writers
that stream a clip's events or tensors to disk.

The temp sibling is created at its full size; pieces are written at their offsets (in
any order the subclass allows), each handed to the disk at once and dropped from the
page cache (``fs.WriteBehind``); ``commit`` checks the subclass got everything and
renames the file into place. Nothing is ever half-written under the final name. Calls
are serialized by a lock; as a context manager it commits on success and aborts on an
exception.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

from egpt_dsec.fs import WriteBehind, pwrite_all, remove_path, temp_path_for


class SizedFile:
    def __init__(
        self, final_path: Path, size: int, static: tuple[tuple[int, bytes], ...] = ()
    ) -> None:
        """``static``: (offset, bytes) pieces known at once (headers)."""
        self.final_path, self.size = Path(final_path), size
        self._lock = threading.Lock()
        self._state = "open"
        self.final_path.parent.mkdir(parents=True, exist_ok=True)
        self.temp_path = temp_path_for(self.final_path)
        self._fd = os.open(self.temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._behind = WriteBehind(self._fd)
        try:
            os.ftruncate(self._fd, size)
            for pos, piece in static:
                pwrite_all(self._fd, memoryview(piece), pos)
        except BaseException:
            self._discard()
            raise

    def _put(self, data: memoryview, offset: int) -> None:
        """Write ``data`` at ``offset`` and hand it to the disk (the lock held)."""
        pwrite_all(self._fd, data, offset)
        self._behind.wrote(offset, len(data))

    def _missing(self) -> str | None:
        """What has not been written yet, in words (None: complete). Lock held."""
        return None

    def _finish(self) -> None:
        """The last pieces, written at commit (headers that depend on the data)."""

    def commit(self) -> None:
        """Publish the file under its final name, if everything was written (ValueError
        otherwise; the writer stays open: ``abort`` or the context manager drops it)."""
        with self._lock:
            self._require_open()
            missing = self._missing()
            if missing:
                raise ValueError(f"{self.final_path}: {missing}")
            try:
                self._finish()
                size = os.fstat(self._fd).st_size
                if size != self.size:
                    raise OSError(f"{self.temp_path}: size {size}, expected {self.size}")
                self._behind.finish()
                os.close(self._fd)
                self._fd = -1
                os.replace(self.temp_path, self.final_path)
            except BaseException:
                self._discard()
                raise
            self._state = "committed"

    def abort(self) -> None:
        """Drop the temp file; the final name is left untouched. Safe to repeat."""
        with self._lock:
            if self._state != "committed":
                self._discard()

    def _failed(self) -> None:
        """A write broke off: what the file holds is unknown, only ``abort`` is left."""
        self._state = "failed"

    def _discard(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        remove_path(self.temp_path)
        self._state = "aborted"

    def _require_open(self) -> None:
        if self._state != "open":
            raise RuntimeError(f"{self.final_path}: writer is {self._state}")

    def __enter__(self) -> SizedFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.commit()
        except BaseException:
            self.abort()
            raise
