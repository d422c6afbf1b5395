"""Seeded mutations of input files for the readers' fuzz tests.

A mutation damages one file the way real inputs get damaged: cut short, bytes flipped, a JSON value
swapped for one of the wrong type (text for a number, NaN, a huge or negative number, a path out of
the folder), a key deleted, or the file deleted. Every draw comes from the ``rng`` passed in.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

WRONG_VALUES: tuple[Any, ...] = (
    "abc",
    "",
    None,
    True,
    False,
    [],
    {},
    [1, 2],
    [[1, 2], [3]],
    {"a": 1},
    -1,
    0,
    0.5,
    1e12,
    -1e12,
    10**30,
    math.nan,
    math.inf,
    -math.inf,
    "../outside",
    "/etc/passwd",
    "x" * 300,
)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON tree (the root excluded), as tuples of keys and indices."""
    found = []
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in children:
        found.append((*prefix, key))
        found.extend(_paths(value, (*prefix, key)))
    return found


def mutate_json(data: Any, rng: np.random.Generator) -> Any:
    """A copy of ``data`` with one value replaced by a wrong one, scaled absurdly, or deleted."""
    data = json.loads(json.dumps(data))
    paths = _paths(data)
    if not paths:
        return WRONG_VALUES[rng.integers(len(WRONG_VALUES))]
    path = paths[rng.integers(len(paths))]
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    key, old = path[-1], parent[path[-1]]
    how = rng.integers(4)
    if how == 0:
        del parent[key]
    elif how == 1 and isinstance(old, int | float) and not isinstance(old, bool):
        parent[key] = old * float(rng.choice([-1.0, 0.0, 1e9, -1e-9, math.nan]))
    else:
        parent[key] = WRONG_VALUES[rng.integers(len(WRONG_VALUES))]
    return data


def mutate_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    """``data`` cut short, with a few bytes flipped, with garbage inserted, or emptied."""
    how = rng.integers(4)
    if how == 0 or len(data) < 2:
        return data[: rng.integers(len(data) + 1)]
    if how == 1:
        out = bytearray(data)
        for _ in range(int(rng.integers(1, 9))):
            out[rng.integers(len(out))] ^= int(rng.integers(1, 256))
        return bytes(out)
    if how == 2:
        at = int(rng.integers(len(data)))
        return data[:at] + rng.bytes(int(rng.integers(1, 64))) + data[at:]
    return b""


def mutate_file(path: Path, rng: np.random.Generator) -> str:
    """Damage ``path`` in place (a JSON file by value or by bytes; any file may be deleted); says how."""
    how = rng.integers(10)
    if how == 0:
        path.unlink()
        return f"deleted {path.name}"
    if path.suffix in (".json", ".csv") and how < 7:
        try:
            data = json.loads(path.read_text())
        except ValueError:
            data = None
        if data is not None:
            path.write_text(json.dumps(mutate_json(data, rng)))
            return f"changed a value of {path.name}"
    path.write_bytes(mutate_bytes(path.read_bytes(), rng))
    return f"damaged the bytes of {path.name}"


REFUSED = object()  # what read_or_refused returns for a refused input


def read_or_refused(
    read: Callable[..., Any], *args: Any, error: type[Exception], naming: object, mutation: str
) -> Any:
    """``read(*args)`` of a mutated input: its result, or :data:`REFUSED` when it raised ``error``
    in one line naming ``naming``; any other exception fails the test, saying which ``mutation``."""
    try:
        return read(*args)
    except error as err:
        assert "\n" not in str(err) and str(naming) in str(err), str(err)
        return REFUSED
    except Exception as err:  # noqa: BLE001 - the failure the fuzz tests exist to find
        pytest.fail(f"{mutation}: {type(err).__name__}: {err}")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``twinarena ARGS`` as a user runs it."""
    command = [sys.executable, "-m", "benchmark.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})


def assert_one_error_line(out: subprocess.CompletedProcess, *words: str) -> None:
    """The command exited 2 with a single ``error:`` line naming ``words``, and no traceback."""
    text = (out.stdout + out.stderr).strip()
    assert out.returncode == 2, text
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, text
    joined = " ".join(" ".join(lines).split())
    for word in words:
        assert word in joined, (word, text)
