"""Bounded decoding: a small message that stands for a huge Python object is refused as it is read,
on every peer, while real observations, chunks and metadata still decode."""

from __future__ import annotations

import struct
import tracemalloc

import msgpack
import numpy as np
import pytest

from benchmark.policies import wire


def _array_header(n: int) -> bytes:
    return b"\xdd" + struct.pack(">I", n)  # array 32


def test_many_empty_maps_are_refused_without_building_them():
    """64 MiB of one-byte empty maps would be ~4.5 GiB of dicts; it fails within a few MiB."""
    inner = _array_header(wire.MAX_CONTAINER) + b"\x80" * wire.MAX_CONTAINER
    outer_n = (64 << 20) // len(inner)
    data = _array_header(outer_n) + inner * outer_n
    tracemalloc.start()
    try:
        with pytest.raises(wire.WireError, match="items"):
            wire.unpack(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 << 20, peak  # the bound holds memory to a small multiple of MAX_ITEMS


@pytest.mark.parametrize(
    "data",
    [
        _array_header(wire.MAX_CONTAINER + 1) + b"\x00" * (wire.MAX_CONTAINER + 1),  # one long list
        b"\xdf" + struct.pack(">I", wire.MAX_CONTAINER + 1) + b"\x00\x00" * (wire.MAX_CONTAINER + 1),
        b"\xdb" + struct.pack(">I", wire.MAX_STRING_BYTES + 1) + b"a" * (wire.MAX_STRING_BYTES + 1),
        b"\xc7\x01\x05a",  # an extension type
        b"\x91" * 2000 + b"\x00",  # nesting deeper than the decoder's stack
    ],
    ids=["long-list", "long-map", "long-string", "ext", "deep"],
)
def test_oversized_parts_are_one_wire_error(data):
    with pytest.raises(wire.WireError):
        wire.unpack(data)


def test_real_messages_still_decode():
    observation = {
        "images": {"front": np.zeros((224, 224, 3), np.uint8), "wrist": np.ones((224, 224, 3), np.uint8)},
        "state": np.arange(15, dtype=np.float32),
        "prompt": "put the red cube in the tray " * 10,
    }
    got = wire.unpack(wire.pack(observation))
    assert np.array_equal(got["images"]["wrist"], observation["images"]["wrist"])
    chunk = {"actions": np.zeros((50, 8), np.float32).tolist()}  # a chunk as nested lists
    assert len(wire.unpack(wire.pack(chunk))["actions"]) == 50
    assert wire.unpack(msgpack.packb(list(range(wire.MAX_CONTAINER)))) == list(range(wire.MAX_CONTAINER))
