"""Policy servers written the way openpi's ``WebsocketPolicyServer`` is, speaking the DROID and
LIBERO conventions, for the convention tests (tests/benchmark/test_conventions.py).

The server is asyncio websockets: metadata first, then one msgpack-numpy map per observation,
``policy.infer(obs)`` answering ``{"actions": [H, A]}`` plus ``server_timing``; an error is sent as
its traceback text and the connection closed with 1011; ``GET /healthz`` answers 200. The policies
index the observation by key, as openpi's input transforms do, so a missing key is a ``KeyError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import threading
import time
import traceback
from collections.abc import Iterator

import numpy as np
from websockets.asyncio.server import serve
from websockets.frames import CloseCode

from benchmark.policies import wire

CHUNK = 10


class DroidJointPolicy:
    """DROID convention: joint velocities toward ``target`` (rad), gripper open; ``constant``
    instead answers that fixed velocity vector for its first ``calls`` answers, then zero."""

    def __init__(self, target=None, constant=None, calls: int = 0, late_after: int | None = None):
        self.target = None if target is None else np.asarray(target, dtype=float)
        self.constant = None if constant is None else np.asarray(constant, dtype=float)
        self.calls = calls
        self.late_after = late_after  # answers after this many come 5 s late, as all-2.0 chunks
        self.seen: list[dict] = []

    def infer(self, obs: dict) -> dict:
        exterior = obs["observation/exterior_image_1_left"]
        wrist = obs["observation/wrist_image_left"]
        q = np.asarray(obs["observation/joint_position"], dtype=float)
        gripper = np.asarray(obs["observation/gripper_position"], dtype=float)
        prompt = obs["prompt"]
        self.seen.append(
            {
                "exterior": exterior.copy(),
                "wrist_shape": wrist.shape,
                "q": q.copy(),
                "gripper": gripper.copy(),
                "prompt": prompt,
                "keys": sorted(obs),
            }
        )
        if self.late_after is not None and len(self.seen) > self.late_after:
            time.sleep(5.0)
            return {"actions": np.full((CHUNK, 8), 2.0, np.float32)}
        if self.constant is not None:
            v = self.constant if len(self.seen) <= self.calls else np.zeros(7)
        else:
            v = np.clip(2.0 * (self.target - q), -0.6, 0.6)
        row = np.r_[v, 0.0].astype(np.float32)
        return {"actions": np.tile(row, (CHUNK, 1))}


class LiberoReachPolicy:
    """LIBERO convention: normalised end-effector deltas taking the TCP to ``target`` (m, in the
    robot's base frame), gripper open (-1)."""

    def __init__(self, target):
        self.target = np.asarray(target, dtype=float)
        self.seen: list[dict] = []

    def infer(self, obs: dict) -> dict:
        image = obs["observation/image"]
        wrist = obs["observation/wrist_image"]
        state = np.asarray(obs["observation/state"], dtype=float)
        self.seen.append({"image_shape": image.shape, "wrist_shape": wrist.shape, "state": state.copy()})
        # half the way in the 5 steps a LIBERO client plays of each chunk (1 is 5 cm a step)
        step = np.clip(0.5 * (self.target - state[:3]) / 5 / 0.05, -1.0, 1.0)
        row = np.r_[step, 0.0, 0.0, 0.0, -1.0].astype(np.float32)
        return {"actions": np.tile(row, (CHUNK, 1))}


def _metadata(policy) -> dict:
    return {"policy": type(policy).__name__}


@contextlib.contextmanager
def openpi_style_server(policy) -> Iterator[int]:
    """Serve ``policy`` (``infer(obs) -> {"actions": ...}``) on a free port for the ``with`` block."""
    ready: dict = {}
    started = threading.Event()

    async def handler(websocket):
        await websocket.send(wire.pack(_metadata(policy)))
        while True:
            try:
                obs = wire.unpack(await websocket.recv())
                start = time.monotonic()
                answer = await asyncio.to_thread(policy.infer, obs)
                answer["server_timing"] = {"infer_ms": (time.monotonic() - start) * 1000}
                await websocket.send(wire.pack(answer))
            except Exception:
                if websocket.state.name != "OPEN":
                    return
                await websocket.send(traceback.format_exc())
                await websocket.close(code=CloseCode.INTERNAL_ERROR, reason="Internal server error")
                return

    def health(connection, request):
        if request.path == "/healthz":
            return connection.respond(http.HTTPStatus.OK, "OK\n")
        return None

    async def main():
        async with serve(
            handler, "127.0.0.1", 0, compression=None, max_size=None, process_request=health
        ) as s:
            ready["port"] = s.sockets[0].getsockname()[1]
            ready["stop"] = asyncio.get_running_loop().create_future()
            started.set()
            await ready["stop"]

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield ready["port"]
    finally:
        loop.call_soon_threadsafe(ready["stop"].set_result, None)
        thread.join(10)
