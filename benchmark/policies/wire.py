"""Messages between the evaluator and a policy in another process or machine: msgpack with numpy
arrays, in the layout the openpi websocket protocol uses, and length-prefixed frames for pipes.

An array travels as a map ``{"__ndarray__": True, "data": bytes, "dtype": str, "shape": list}``
and a numpy scalar as ``{"__npgeneric__": True, "data": value, "dtype": str}`` (keys as bytes).
Decoding never runs code: only numeric dtypes are accepted, and the byte count must match the
shape. It is bounded on every peer (server, client, worker): at most :data:`MAX_ITEMS` items in a
message, :data:`MAX_CONTAINER` in one map or list, strings of :data:`MAX_STRING_BYTES`. Frames
on a pipe are an 8-byte little-endian length, then the msgpack payload.
"""

from __future__ import annotations

import os
import select
import struct
import time
from typing import Any

import msgpack
import numpy as np

NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats
# what one message may hold: observations, action chunks and metadata need far less; arrays travel
# as bytes, whatever their size
MAX_ITEMS = 1 << 18  # map entries and list items, in all
MAX_CONTAINER = 1 << 16  # entries of one map or list
MAX_STRING_BYTES = 1 << 20
HEADER = struct.Struct("<Q")


class WireError(ValueError):
    """A message that does not decode: the text says what is wrong with it."""


class FrameTooLarge(WireError):
    """A frame whose announced size is over the reader's limit (its payload is left unread)."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"a message of {human_bytes(size)} is over the limit of {human_bytes(limit)}")
        self.size = size
        self.limit = limit


def human_bytes(n: float) -> str:
    """``1073741824`` → ``"1.0 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _encode(obj: Any) -> Any:
    if isinstance(obj, (np.ndarray, np.generic)) and obj.dtype.kind not in NUMERIC_KINDS:
        raise WireError(f"cannot send an array of dtype {obj.dtype} (only numbers and booleans)")
    if isinstance(obj, np.ndarray):
        array = np.ascontiguousarray(obj)
        return {
            b"__ndarray__": True,
            b"data": array.tobytes(),
            b"dtype": array.dtype.str,
            b"shape": array.shape,
        }
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    raise WireError(f"cannot send a {type(obj).__name__}")


def _decode(obj: dict) -> Any:
    if b"__ndarray__" in obj:
        dtype = _numeric_dtype(obj.get(b"dtype"))
        shape = obj.get(b"shape")
        data = obj.get(b"data")
        if not isinstance(data, bytes) or not isinstance(shape, (list, tuple)):
            raise WireError("an array needs bytes 'data' and a list 'shape'")
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            raise WireError(f"array shape {shape!r} is not a list of non-negative integers")
        if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != len(data):
            raise WireError(f"array of shape {tuple(shape)} and dtype {dtype} cannot hold {len(data)} bytes")
        return np.frombuffer(data, dtype=dtype).reshape(shape)
    if b"__npgeneric__" in obj:
        return _numeric_dtype(obj.get(b"dtype")).type(obj.get(b"data"))
    return obj


def _numeric_dtype(text: Any) -> np.dtype:
    try:
        dtype = np.dtype(text)
    except TypeError as err:
        raise WireError(f"unknown dtype {text!r}") from err
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None:
        raise WireError(f"dtype {dtype} is not a plain numeric type")
    return dtype


def pack(obj: Any) -> bytes:
    """``obj`` (dicts, lists, strings, numbers, numpy arrays) as msgpack bytes."""
    return msgpack.packb(obj, default=_encode)


def unpack(data: bytes, max_items: int = MAX_ITEMS) -> Any:
    """The object that :func:`pack` wrote; :class:`WireError` if ``data`` is not such a message.

    Decoding is bounded by what a message may hold, not only by its size: a few bytes of msgpack
    can stand for a large Python object (an empty map is one byte and a 64-byte dict), so a
    message with more than ``max_items`` map entries and list items in all, or one container of
    more than :data:`MAX_CONTAINER` of them, is refused as it is read, before it is built whole."""
    budget = [max_items]

    def spend(n: int) -> None:
        budget[0] -= n + 1
        if budget[0] < 0:
            raise WireError(f"a message of over {max_items} items (maps, lists and their entries) is refused")

    def on_map(obj: dict) -> Any:
        spend(len(obj))
        return _decode(obj)

    def on_list(obj: list) -> list:
        spend(len(obj))
        return obj

    try:
        return msgpack.unpackb(
            data,
            object_hook=on_map,
            list_hook=on_list,
            strict_map_key=False,
            max_array_len=MAX_CONTAINER,
            max_map_len=MAX_CONTAINER,
            max_str_len=MAX_STRING_BYTES,
            max_ext_len=0,
        )
    except WireError:
        raise
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as err:
        raise WireError(f"not a valid message: {err}") from None


def write_frame(fd: int, payload: bytes) -> None:
    """Write one frame (length, then payload) to the file descriptor ``fd``."""
    view = memoryview(HEADER.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def read_frame(fd: int, max_bytes: int, deadline: float | None = None) -> bytes:
    """Read one frame from ``fd``.

    Raises :class:`TimeoutError` when ``deadline`` (a ``time.monotonic()`` value) passes first,
    :class:`EOFError` when the writer has gone, and :class:`FrameTooLarge` for a frame over
    ``max_bytes`` (its payload is not read).
    """
    (size,) = HEADER.unpack(_read_exactly(fd, HEADER.size, deadline))
    if size > max_bytes:
        raise FrameTooLarge(size, max_bytes)
    return _read_exactly(fd, size, deadline)


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("no answer in time")
        chunk = os.read(fd, min(n - len(chunks), 1 << 20))
        if not chunk:
            raise EOFError("the other end closed the pipe")
        chunks += chunk
    return bytes(chunks)
