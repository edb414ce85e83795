"""tensorferry.open(): a checkpoint's tensors as numpy arrays that view the mapped file."""
from __future__ import annotations

import os
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple, Union

import numpy as np

from . import _core


def _numpy_dtypes() -> Dict[str, Any]:
    import ml_dtypes  # bf16 and the f8 types, which numpy lacks

    return {
        "f64": np.dtype("<f8"), "f32": np.dtype("<f4"), "f16": np.dtype("<f2"),
        "bf16": np.dtype(ml_dtypes.bfloat16),
        "i64": np.dtype("<i8"), "i32": np.dtype("<i4"), "i16": np.dtype("<i2"),
        "i8": np.dtype("i1"), "u64": np.dtype("<u8"), "u32": np.dtype("<u4"),
        "u16": np.dtype("<u2"), "u8": np.dtype("u1"), "bool": np.dtype("?"),
        "c64": np.dtype("<c8"), "c128": np.dtype("<c16"),
        "f8_e4m3fn": np.dtype(ml_dtypes.float8_e4m3fn), "f8_e5m2": np.dtype(ml_dtypes.float8_e5m2),
    }


_DTYPES: Optional[Dict[str, Any]] = None


def numpy_dtype(name: str) -> Any:
    """The numpy dtype of a tensorferry dtype name ("f32", "bf16", ...); None for "string"."""
    global _DTYPES
    if _DTYPES is None:
        _DTYPES = _numpy_dtypes()
    return _DTYPES.get(name)


class TensorInfo(NamedTuple):
    """What the checkpoint says about one tensor, before any of its bytes are read."""

    name: str
    dtype: str  # tensorferry's name: "f32", "bf16", "i64", "string", ...
    shape: Tuple[int, ...]
    nbytes: int
    file: str  # the file holding it (a shard, for sharded checkpoints)
    offset: int  # of its first byte in `file`
    role: str  # weight, buffer, optimizer-slot, counter, object-graph
    note: str


class Reader:
    """An open checkpoint: `format`, `tensors`, `metadata`, and `reader[name]`, a read-only
    numpy array. Use as a context manager, or call close(); arrays already handed out stay valid
    after close (each keeps the mapping it views alive)."""

    def __init__(self, path: Union[str, os.PathLike], format: Optional[str] = None):
        self._reader = _core.Reader(os.fspath(path), format)
        self._tensors = [TensorInfo(*t) for t in self._reader.tensors()]
        self._index = {t.name: i for i, t in enumerate(self._tensors)}

    @property
    def format(self) -> str:
        """The container: safetensors, pytorch, tf-bundle, keras-h5 or gguf."""
        return self._reader.format

    @property
    def path(self) -> str:
        return self._reader.path

    @property
    def tensors(self) -> List[TensorInfo]:
        """Every tensor, in the order the file lists them (reading no tensor data)."""
        return list(self._tensors)

    @property
    def metadata(self) -> Dict[str, str]:
        """The container's free-form string metadata (safetensors __metadata__, ...)."""
        return dict(self._reader.metadata)

    def keys(self) -> List[str]:
        return [t.name for t in self._tensors]

    def __len__(self) -> int:
        return len(self._tensors)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __getitem__(self, name: str) -> np.ndarray:
        """The tensor as a read-only numpy array: a view of the memory-mapped file (its `base` is
        a tensorferry Mapping with `mapped` True) when the stored bytes are dense little-endian
        row-major, else a converted copy. bf16 and f8 come as ml_dtypes types; TF string tensors
        as an object array of bytes."""
        if name not in self._index:
            raise KeyError(name)
        info = self._tensors[self._index[name]]
        mapping = self._reader.read(self._index[name])
        if info.dtype == "string":
            return _strings(bytes(memoryview(mapping)), info.shape)
        dtype = numpy_dtype(info.dtype)
        array = np.ndarray(info.shape, dtype=dtype, buffer=mapping) if len(mapping) else \
            np.zeros(info.shape, dtype=dtype)
        array.flags.writeable = False
        return array

    def to_torch(self, name: str) -> Any:
        """The tensor as a torch.Tensor sharing the array's memory (torch must be installed; it
        is not a dependency). torch warns that the tensor is not writable: writing to it is
        undefined, as the mapping is read-only."""
        import torch

        array = self[name]
        # torch.frombuffer cannot read ml_dtypes' buffers: view them as same-sized integers,
        # then reinterpret in torch (both views, no copy).
        for ours, integer, torch_name in (("bf16", np.uint16, "bfloat16"),
                                          ("f8_e4m3fn", np.uint8, "float8_e4m3fn"),
                                          ("f8_e5m2", np.uint8, "float8_e5m2")):
            if array.dtype == numpy_dtype(ours):
                return torch.from_numpy(array.view(integer)).view(getattr(torch, torch_name))
        return torch.from_numpy(array)

    def close(self) -> None:
        self._reader.close()

    @property
    def closed(self) -> bool:
        return self._reader.closed

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<tensorferry.Reader {self.format} {self.path!r}: {len(self)} tensors>"


def _strings(raw: bytes, shape: Tuple[int, ...]) -> np.ndarray:
    """tensorferry's string tensor encoding (per element: u64 little-endian length, then the
    bytes) as an object array of bytes."""
    values, at = [], 0
    while at < len(raw):
        length = int.from_bytes(raw[at:at + 8], "little")
        values.append(raw[at + 8:at + 8 + length])
        at += 8 + length
    array = np.empty(len(values), dtype=object)
    array[:] = values
    array = array.reshape(shape)
    array.flags.writeable = False
    return array


def open(path: Union[str, os.PathLike], format: Optional[str] = None) -> Reader:  # noqa: A001
    """Opens a checkpoint file, TF bundle prefix, shard index or model folder (the format is
    detected from the bytes, or `format` names it)."""
    return Reader(path, format)
