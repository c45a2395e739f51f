"""Pickle opcodes for EventGPT's event ``.npy`` files, written by hand.

What pickle protocol 4 would emit for a dict of numpy arrays, without a memo, so
``writers.event_npy`` can lay the file out before any event is known. It names
``numpy.core.multiarray._reconstruct`` (loadable by numpy 1.x and, with no warning,
by numpy 2.x) rather than ``numpy._core`` (numpy 2.x only).
"""

from __future__ import annotations

import io
import pickle
import struct
from typing import Any

import numpy as np

# Arrays of at least this many bytes use BINBYTES8 (8-byte length); BINBYTES
# holds a 4-byte length. A module constant so tests can lower it.
BINBYTES8_THRESHOLD = 2**32

# The GLOBAL every reader can resolve: numpy 1.x has no ``numpy._core``.
RECONSTRUCT_GLOBAL = ("numpy.core.multiarray", "_reconstruct")

# pickle batches list/dict items in groups of this size (pickle._BATCHSIZE).
_PICKLE_BATCH = 1000

# dtype.__reduce__() of the little-endian event dtypes and of the object dtype,
# pinned so files are byte-identical whatever numpy writes them (a test checks
# these against the running numpy).
OBJECT_DTYPE_REDUCE = (("O8", False, True), (3, "|", None, None, None, -1, -1, 63))


def pickle_int(value: int) -> bytes:
    """The opcode pickle uses for ``value``: BININT1, BININT2, BININT, LONG1 or LONG4."""
    if 0 <= value <= 0xFF:
        return pickle.BININT1 + bytes([value])
    if 0 <= value <= 0xFFFF:
        return pickle.BININT2 + struct.pack("<H", value)
    if -0x80000000 <= value <= 0x7FFFFFFF:
        return pickle.BININT + struct.pack("<i", value)
    encoded = _encode_long(value)
    if len(encoded) < 256:
        return pickle.LONG1 + bytes([len(encoded)]) + encoded
    return pickle.LONG4 + struct.pack("<i", len(encoded)) + encoded


def _encode_long(value: int) -> bytes:
    """Two's-complement little-endian bytes, trimmed as pickle.encode_long does."""
    if value == 0:
        return b""
    nbytes = (value.bit_length() >> 3) + 1
    result = value.to_bytes(nbytes, byteorder="little", signed=True)
    if value < 0 and nbytes > 1 and result[-1] == 0xFF and (result[-2] & 0x80) != 0:
        result = result[:-1]
    return result


def pickle_str(value: str) -> bytes:
    """SHORT_BINUNICODE or BINUNICODE, as pickle protocol 4 would choose."""
    encoded = value.encode("utf-8")
    if len(encoded) < 256:
        return pickle.SHORT_BINUNICODE + bytes([len(encoded)]) + encoded
    return pickle.BINUNICODE + struct.pack("<I", len(encoded)) + encoded


def bytes_opcode(nbytes: int) -> bytes:
    """The opcode and length prefix of a raw-data region of ``nbytes`` bytes."""
    if nbytes < 0:
        raise ValueError(f"negative byte count {nbytes}")
    if nbytes < BINBYTES8_THRESHOLD:
        return pickle.BINBYTES + struct.pack("<I", nbytes)
    return pickle.BINBYTES8 + struct.pack("<Q", nbytes)


def pickle_value(value: object) -> bytes:
    """Opcodes for the few plain values the layout needs (no memo)."""
    if value is None:
        return pickle.NONE
    if value is True:
        return pickle.NEWTRUE
    if value is False:
        return pickle.NEWFALSE
    if isinstance(value, int):
        return pickle_int(value)
    if isinstance(value, str):
        return pickle_str(value)
    if isinstance(value, tuple):
        return pickle_tuple(value)
    if isinstance(value, list):
        return pickle_list(value)
    raise TypeError(f"cannot pickle {type(value).__name__} here")


def pickle_tuple(items: tuple[object, ...]) -> bytes:
    body = b"".join(pickle_value(v) for v in items)
    short = {0: pickle.EMPTY_TUPLE, 1: pickle.TUPLE1, 2: pickle.TUPLE2, 3: pickle.TUPLE3}
    if len(items) in short:
        return body + short[len(items)]
    return pickle.MARK + body + pickle.TUPLE


def pickle_list(items: list[Any]) -> bytes:
    """EMPTY_LIST then APPEND / MARK..APPENDS in pickle's batches."""
    out = [pickle.EMPTY_LIST]
    for start in range(0, len(items), _PICKLE_BATCH):
        batch = items[start : start + _PICKLE_BATCH]
        body = b"".join(pickle_value(v) for v in batch)
        out.append(body + pickle.APPEND if len(batch) == 1 else pickle.MARK + body + pickle.APPENDS)
    return b"".join(out)


def pickle_global(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii")


def pickle_dtype(args: tuple[object, ...], state: tuple[object, ...]) -> bytes:
    """``numpy.dtype(*args)`` then BUILD with ``state``, as dtype.__reduce__ gives."""
    return (
        pickle_global("numpy", "dtype")
        + pickle_tuple(args)
        + pickle.REDUCE
        + pickle_tuple(state)
        + pickle.BUILD
    )


def dtype_reduce(dtype: np.dtype) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """(args, state) of the little-endian ``dtype``, pinned instead of asking numpy."""
    le = dtype.newbyteorder("<")
    order = "|" if le.itemsize == 1 else "<"
    return (f"{le.kind}{le.itemsize}", False, True), (3, order, None, None, None, -1, -1, 0)


def array_start() -> bytes:
    """``_reconstruct(ndarray, (0,), b'b')``: the empty array BUILD then fills."""
    return (
        pickle_global(*RECONSTRUCT_GLOBAL)
        + pickle_global("numpy", "ndarray")
        + pickle_tuple((0,))
        + pickle.SHORT_BINBYTES
        + b"\x01b"
        + pickle.TUPLE3
        + pickle.REDUCE
    )


def event_array_prefix(dtype: np.dtype, n: int) -> bytes:
    """Everything of a 1-d event array up to (and including) its data length."""
    args, state = dtype_reduce(dtype)
    return (
        array_start()
        + pickle.MARK
        + pickle_int(1)
        + pickle_tuple((n,))
        + pickle_dtype(args, state)
        + pickle.NEWFALSE
        + bytes_opcode(n * dtype.itemsize)
    )


ARRAY_SUFFIX = pickle.TUPLE + pickle.BUILD


def npy_object_header() -> bytes:
    """The .npy 1.0 header of a 0-d object array, as np.save writes it."""
    buf = io.BytesIO()
    header = {"descr": "|O", "fortran_order": False, "shape": ()}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()
