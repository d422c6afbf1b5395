"""Talk to a policy server with the real openpi client; run under the openpi-client venv.

    python openpi_client_probe.py HOST PORT SEED [COUNT]

prints one JSON object: the server's ``metadata``, and for each of COUNT observations (openpi's
flat layout, content fixed by SEED) its ``sha256`` and the ``actions`` that came back. The
observations are integer arithmetic only, so numpy 1 here and numpy 2 in the project build the
same bytes; the tests import :func:`observations` to compute the expected actions.
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np

IMAGE_SIZE = 224
STATE_DIM = 15
CAMERAS = ("observation/image", "observation/wrist_image")


def observations(seed: int, count: int) -> list[dict]:
    """``count`` observations in openpi's flat layout: two 224×224 images, a 15-float state, a prompt."""
    y, x = np.mgrid[:IMAGE_SIZE, :IMAGE_SIZE]
    result = []
    for i in range(count):
        images = {
            key: np.stack(
                [(x * (3 + c) + y * (5 + k) + 17 * seed + 29 * i + 7 * c) % 256 for c in range(3)], -1
            ).astype(np.uint8)
            for k, key in enumerate(CAMERAS)
        }
        state = ((np.arange(STATE_DIM) * 37 + seed * 11 + i * 5) % 101 - 50) / 25
        result.append(
            {**images, "observation/state": state.astype(np.float32), "prompt": f"probe {seed} step {i // 2}"}
        )
    return result


def digest(observation: dict) -> str:
    """A hash of an observation's keys and bytes, to check both sides built the same one."""
    h = hashlib.sha256()
    for key in sorted(observation):
        value = observation[key]
        h.update(key.encode())
        h.update(value.encode() if isinstance(value, str) else np.ascontiguousarray(value).tobytes())
    return h.hexdigest()


def main(argv: list[str]) -> None:
    from openpi_client.websocket_client_policy import WebsocketClientPolicy

    host, port, seed = argv[0], int(argv[1]), int(argv[2])
    count = int(argv[3]) if len(argv) > 3 else 4
    client = WebsocketClientPolicy(host, port)
    steps = []
    for observation in observations(seed, count):
        answer = client.infer(observation)
        steps.append({"sha256": digest(observation), "actions": np.asarray(answer["actions"]).tolist()})
    out = {"metadata": client.get_server_metadata(), "numpy": np.__version__, "steps": steps}
    json.dump(out, sys.stdout, default=str)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
