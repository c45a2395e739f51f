"""Streaming writer for a clip's raw events as an ``.npz`` (EventBench's ``--use_npz``).

``np.savez`` needs the whole clip in memory and stamps the current time into the
archive. With the event count known up front every offset of the ZIP is known, so
the members (stored, not compressed) are laid out once, chunks arriving in stream
order are written straight to their places and each member's CRC-32 is carried
along; the headers are written at commit. Fixed time stamps: same events, same bytes.
"""

from __future__ import annotations

import operator
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from egpt_dsec.events import Events
from egpt_dsec.fs import le_bytes, pwrite_all
from egpt_dsec.writers.sized_file import SizedFile

# Archive order, so also the order of ``np.load(path).files``: the order EventBench
# unpacks them and the columns of its Nx4 ``event_data`` alternative.
MEMBERS = ("x", "y", "t", "p")
MEMBER_DTYPES: dict[str, np.dtype] = {
    "x": np.dtype("<u2"),
    "y": np.dtype("<u2"),
    "t": np.dtype("<i8"),
    "p": np.dtype("|u1"),
}
NPY_HEADER_SIZE = 128  # what numpy 1.22+ writes for a 1-d array of < 10**21 items

# Always ZIP64 (sizes and offsets in the extra fields, the 32-bit ones saturated), not
# only past 4 GiB: one layout for every count, so the small files of the tests take the
# path of the 5 GB ones. Python's zipfile and Info-ZIP read it either way.
_SAT32 = 0xFFFFFFFF
_VERSION = 45  # APPNOTE 4.5: ZIP64
_MADE_BY_UNIX = 3
_DOS_TIME, _DOS_DATE = 0, (1 << 5) | 1  # 1980-01-01 00:00:00, zipfile's ZipInfo default
_EXTERNAL_ATTR = 0o100644 << 16  # a regular file, rw-r--r--
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_LOCAL_ZIP64 = struct.Struct("<HHQQ")  # sizes: a local ZIP64 field must hold both
_CENTRAL = struct.Struct("<IBBHHHHHIIIHHHHHII")
_CENTRAL_ZIP64 = struct.Struct("<HHQQQ")  # sizes and local header offset
_END64 = struct.Struct("<IQBBHIIQQQQ")
_LOCATOR = struct.Struct("<IIQI")
_END = struct.Struct("<IHHHHIIH")


def npy_header(name: str, num_events: int) -> bytes:
    """The .npy 1.0 header of member ``name`` holding ``num_events`` items, as numpy
    writes it (padded so the shape could grow in place: one size for every count)."""
    descr = MEMBER_DTYPES[name].str
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({num_events},), }}"
    body_size = NPY_HEADER_SIZE - 10
    if len(text) >= body_size:
        raise ValueError(f"{num_events} events do not fit a {NPY_HEADER_SIZE}-byte npy header")
    body = (text.ljust(body_size - 1) + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body


@dataclass(frozen=True)
class _Member:
    name: str
    header_offset: int  # the local file header
    data_offset: int  # the first event, after the local header and the npy header
    size: int  # npy header + events

    @property
    def filename(self) -> bytes:
        return f"{self.name}.npy".encode("ascii")


@dataclass(frozen=True)
class _Layout:
    """Every offset of the archive, from the event count alone."""

    num_events: int
    members: tuple[_Member, ...]
    directory_offset: int
    directory_size: int
    size: int

    @staticmethod
    def of(num_events: int) -> _Layout:
        n = operator.index(num_events)
        if n < 0:
            raise ValueError(f"num_events must be >= 0, got {n}")
        members: list[_Member] = []
        pos = 0
        for name in MEMBERS:
            prefix = _LOCAL.size + len(f"{name}.npy") + _LOCAL_ZIP64.size
            size = NPY_HEADER_SIZE + n * MEMBER_DTYPES[name].itemsize
            members.append(_Member(name, pos, pos + prefix + NPY_HEADER_SIZE, size))
            pos += prefix + size
        dir_size = sum(_CENTRAL.size + len(m.filename) + _CENTRAL_ZIP64.size for m in members)
        end = pos + dir_size + _END64.size + _LOCATOR.size + _END.size
        return _Layout(n, tuple(members), pos, dir_size, end)

    def pieces(self, crcs: dict[str, int]) -> list[tuple[int, bytes]]:
        """(offset, bytes) of everything but the events: headers, directory, end records."""
        out = [
            (m.header_offset, _local_header(m, crcs[m.name]) + npy_header(m.name, self.num_events))
            for m in self.members
        ]
        tail = b"".join(_central_header(m, crcs[m.name]) for m in self.members)
        tail += self._end_records()
        out.append((self.directory_offset, tail))
        return out

    def _end_records(self) -> bytes:
        count, end64_offset = len(self.members), self.directory_offset + self.directory_size
        end64 = _END64.pack(
            0x06064B50, _END64.size - 12, _VERSION, _MADE_BY_UNIX, _VERSION, 0, 0,
            count, count, self.directory_size, self.directory_offset,
        )  # fmt: skip
        locator = _LOCATOR.pack(0x07064B50, 0, end64_offset, 1)
        # The classic record holds the real values while they fit (readers that only
        # look for the ZIP64 one when a field is saturated then agree with it).
        offset = self.directory_offset if self.directory_offset < _SAT32 else _SAT32
        end = _END.pack(0x06054B50, 0, 0, count, count, self.directory_size, offset, 0)
        return end64 + locator + end


def _local_header(m: _Member, crc: int) -> bytes:
    extra = _LOCAL_ZIP64.pack(1, _LOCAL_ZIP64.size - 4, m.size, m.size)
    head = _LOCAL.pack(
        0x04034B50, _VERSION, 0, 0, _DOS_TIME, _DOS_DATE, crc, _SAT32, _SAT32,
        len(m.filename), len(extra),
    )  # fmt: skip
    return head + m.filename + extra


def _central_header(m: _Member, crc: int) -> bytes:
    extra = _CENTRAL_ZIP64.pack(1, _CENTRAL_ZIP64.size - 4, m.size, m.size, m.header_offset)
    head = _CENTRAL.pack(
        0x02014B50, _VERSION, _MADE_BY_UNIX, _VERSION, 0, 0, _DOS_TIME, _DOS_DATE, crc,
        _SAT32, _SAT32, len(m.filename), len(extra), 0, 0, 0, _EXTERNAL_ATTR, _SAT32,
    )  # fmt: skip
    return head + m.filename + extra


def npz_file_size(num_events: int) -> int:
    """The exact size of a clip's ``.npz`` holding ``num_events`` events (for ``plan``)."""
    return _Layout.of(num_events).size


def _start_crcs(num_events: int) -> dict[str, int]:
    return {name: zlib.crc32(npy_header(name, num_events)) for name in MEMBERS}


def event_npz_bytes(events: Events) -> bytes:
    """The whole file in memory, byte-identical to what EventNpzWriter produces."""
    layout = _Layout.of(len(events))
    out = bytearray(layout.size)
    crcs = _start_crcs(len(events))
    for m in layout.members:
        data = le_bytes(getattr(events, m.name))
        crcs[m.name] = zlib.crc32(data, crcs[m.name])
        out[m.data_offset : m.data_offset + len(data)] = data
    for pos, piece in layout.pieces(crcs):
        out[pos : pos + len(piece)] = piece
    return bytes(out)


class EventNpzWriter(SizedFile):
    """Write one clip's event ``.npz`` chunk by chunk in stream order, then publish it.

    ``write`` puts each chunk's fields at their places and extends the members' CRCs;
    ``commit`` checks every event came, writes the headers (they hold the CRCs) and
    renames the file into place.
    """

    def __init__(self, final_path: Path, num_events: int) -> None:
        self._layout = _Layout.of(num_events)
        self.num_events = self._layout.num_events
        self._crcs = _start_crcs(self.num_events)
        self._next = 0  # events [0, _next) are written
        super().__init__(final_path, self._layout.size)

    def write(self, offset: int, events: Events) -> None:
        """Write ``events`` as events ``[offset, offset + len(events))``; ``offset`` must be
        where the previous chunk ended (ValueError otherwise, nothing written)."""
        with self._lock:
            self._require_open()
            stop = offset + len(events)
            if offset != self._next:
                raise ValueError(
                    f"{self.final_path}: chunk at event {offset}, expected {self._next} "
                    f"(chunks must come in stream order, each where the previous ended)"
                )
            if stop > self.num_events:
                raise ValueError(
                    f"{self.final_path}: events [{offset}, {stop}) beyond the "
                    f"{self.num_events} events of the file"
                )
            try:
                for m in self._layout.members:
                    data = le_bytes(getattr(events, m.name))
                    self._put(data, m.data_offset + offset * MEMBER_DTYPES[m.name].itemsize)
                    self._crcs[m.name] = zlib.crc32(data, self._crcs[m.name])
            except BaseException:
                self._failed()  # a member may hold part of the chunk
                raise
            self._next = stop

    def _missing(self) -> str | None:
        if self._next == self.num_events:
            return None
        return (
            f"{self.num_events - self._next} of {self.num_events} events not written "
            f"(only [0, {self._next}))"
        )

    def _finish(self) -> None:
        self._write_headers()

    def _write_headers(self) -> None:
        """Local headers, npy headers, directory and end records, with the CRCs so far."""
        for pos, piece in self._layout.pieces(self._crcs):
            pwrite_all(self._fd, memoryview(piece), pos)
