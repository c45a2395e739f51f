"""Load EventGPT event ``.npy`` files without running arbitrary pickle code.

``np.load(path, allow_pickle=True)`` executes whatever the pickle names, so a
file from an untrusted source can run code. These files only need numpy's own
reconstruction functions; the unpickler below admits those and refuses
everything else before it is ever called.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import IO, Any

import numpy as np

# numpy's reconstruction callables, taken from the running numpy so that both
# the numpy 1.x (numpy.core) and numpy 2.x (numpy._core) names resolve to them.
_RECONSTRUCT = np.array(0).__reduce__()[0]
_SCALAR = np.int64(0).__reduce__()[0]

ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # numpy scalars (e.g. an np.int64 time_start stored by other tools).
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
}


class NpyFormatError(ValueError):
    """The file is not a well-formed EventGPT event .npy (truncated, corrupt, wrong kind)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class UnsafeNpyError(ValueError):
    """The file's pickle names a global outside the numpy reconstruction allow-list."""

    def __init__(self, path: Path, module: str, name: str) -> None:
        super().__init__(
            f"{path}: refused pickle global {module}.{name} "
            "(only numpy array reconstruction is allowed)"
        )
        self.path = path
        self.global_name = f"{module}.{name}"


class _RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only ALLOWED_GLOBALS (also for EXT* opcodes)."""

    def __init__(self, file: IO[bytes], path: Path) -> None:
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafeNpyError(self._path, module, name) from None


def _read_npy_header(fp: IO[bytes], path: Path) -> None:
    """Check the magic and that the header describes a 0-d object array."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fp)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except ValueError as exc:
        raise NpyFormatError(path, f"bad .npy header: {exc}") from exc
    if dtype != np.dtype(object) or shape != ():
        raise NpyFormatError(
            path, f"expected a 0-d object array, header says dtype {dtype} shape {shape}"
        )


def _unpickle(fp: IO[bytes], path: Path) -> Any:
    """Run the restricted unpickler; any failure other than a refusal is corruption."""
    try:
        obj = _RestrictedUnpickler(fp, path).load()
    except UnsafeNpyError:
        raise
    except Exception as exc:
        raise NpyFormatError(path, f"corrupt or truncated pickle: {exc!r}") from exc
    if fp.read(1):
        raise NpyFormatError(path, "unexpected bytes after the pickle")
    return obj


def _unwrap(obj: Any, path: Path) -> dict[str, Any]:
    """The dict inside the 0-d object array."""
    if not isinstance(obj, np.ndarray) or obj.dtype != np.dtype(object) or obj.shape != ():
        what = f"{type(obj).__name__} {getattr(obj, 'dtype', '')} {getattr(obj, 'shape', '')}"
        raise NpyFormatError(path, f"payload is not a 0-d object array: {what.strip()}")
    item = obj.item()
    if not isinstance(item, dict):
        raise NpyFormatError(path, f"payload wraps a {type(item).__name__}, not a dict")
    return item


def load_event_npy(path: Path) -> dict[str, Any]:
    """Load an EventGPT event .npy (ours or np.save's) with a restricted unpickler.

    Raises UnsafeNpyError if the pickle names any non-numpy global (nothing it
    names is ever called), NpyFormatError if the file is truncated or malformed.
    """
    path = Path(path)
    with open(path, "rb") as fp:
        _read_npy_header(fp, path)
        obj = _unpickle(fp, path)
    return _unwrap(obj, path)
