"""Talk to a policy server with the real openpi client; run under the openpi-client venv.

    python openpi_client_probe.py HOST PORT SEED [COUNT [HORIZON]]

prints one JSON object: the server's ``metadata``, and for each of COUNT observations (openpi's
flat layout, content fixed by SEED) its ``sha256`` and the ``actions`` that came back. With HORIZON
the observations go through openpi's ``ActionChunkBroker(client, HORIZON)``, as openpi's examples
run a policy, so each step's ``actions`` is one row of the last chunk; ``chunks`` lists the shape
of every answer the server actually sent (``sent`` the indices of the observations it saw). The
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


class Recording:
    """An openpi policy that notes the shape of each answer and which observation asked for it."""

    def __init__(self, policy):
        self.policy = policy
        self.chunks: list[list[int]] = []
        self.sent: list[int] = []
        self.step = 0

    def infer(self, observation: dict) -> dict:
        answer = self.policy.infer(observation)
        self.chunks.append(list(np.asarray(answer["actions"]).shape))
        self.sent.append(self.step)
        return answer

    def reset(self) -> None:
        self.policy.reset()


def main(argv: list[str]) -> None:
    from openpi_client.action_chunk_broker import ActionChunkBroker
    from openpi_client.websocket_client_policy import WebsocketClientPolicy

    host, port, seed = argv[0], int(argv[1]), int(argv[2])
    count = int(argv[3]) if len(argv) > 3 else 4
    client = WebsocketClientPolicy(host, port)
    recording = Recording(client)
    policy = ActionChunkBroker(recording, int(argv[4])) if len(argv) > 4 else recording
    steps = []
    for i, observation in enumerate(observations(seed, count)):
        recording.step = i
        answer = policy.infer(observation)
        steps.append({"sha256": digest(observation), "actions": np.asarray(answer["actions"]).tolist()})
    out = {
        "metadata": client.get_server_metadata(),
        "numpy": np.__version__,
        "steps": steps,
        "chunks": recording.chunks,
        "sent": recording.sent,
    }
    json.dump(out, sys.stdout, default=str)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
