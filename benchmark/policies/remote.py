"""A policy on another process or machine, behind the openpi websocket protocol.

A connection opens with the server's metadata (a msgpack map). Then each client message is a
msgpack map holding an observation, and each answer a map ``{"actions": float32 [A] or [H, A],
"server_timing": {"infer_ms": ...}}``. When the server fails it sends the error as a text frame
and closes the connection with code 1011. Arrays travel in the layout of :mod:`benchmark.policies.wire`,
which is the one of openpi_client's ``msgpack_numpy``.

An observation arrives in our layout (``images``, ``state``, ``instruction``) or in openpi's flat
one (``observation/image``, ``observation/wrist_image``, ``observation/images/<camera>``,
``observation/state``, ``prompt``); :func:`to_observation` turns either into ours. A message may
also carry ``"reset": True``; the server resets the policy then, on a connection's first message,
and when the instruction changes.

:func:`serve` serves one policy object (``reset(instruction)``, ``act(observation)``);
:class:`RemotePolicy` is the client the episode runner uses.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.frames import CloseCode
from websockets.protocol import State
from websockets.sync.client import ClientConnection, connect
from websockets.sync.server import Server, ServerConnection
from websockets.sync.server import serve as ws_serve

from benchmark.errors import InvalidAnswer, PolicyError, PolicyTimeout
from benchmark.policies import wire

PROTOCOL = "openpi-websocket"
MAX_MESSAGE_BYTES = 64 << 20  # 64 MiB
FLAT_IMAGES = {"observation/image": "image", "observation/wrist_image": "wrist_image"}
FLAT_CAMERA_PREFIX = "observation/images/"
CONTROL_KEYS = ("reset",)
CLOSE_REASON_BYTES = 120  # a close frame's reason holds at most 123 bytes


# -- messages ----------------------------------------------------------------------------------
def to_observation(message: Any) -> dict[str, Any]:
    """Our observation ``{"images", "state", "instruction"}`` from a decoded client message in
    our nested layout or openpi's flat one; :class:`~benchmark.policies.wire.WireError` names what
    is wrong."""
    if not isinstance(message, Mapping):
        raise wire.WireError(f"an observation must be a map, not a {type(message).__name__}")
    images: dict[str, Any] = {}
    state = instruction = None
    for key, value in message.items():
        if key in CONTROL_KEYS:
            continue
        if key == "images":
            if not isinstance(value, Mapping):
                raise wire.WireError(
                    f"'images' must map camera names to images, not a {type(value).__name__}"
                )
            images.update(value)
        elif key in FLAT_IMAGES:
            images[FLAT_IMAGES[key]] = value
        elif isinstance(key, str) and key.startswith(FLAT_CAMERA_PREFIX):
            images[key.removeprefix(FLAT_CAMERA_PREFIX)] = value
        elif key in ("state", "observation/state"):
            state = _once(key, state, value)
        elif key in ("instruction", "prompt"):
            instruction = _once(key, instruction, value)
        else:
            raise wire.WireError(
                f"unknown observation key {key!r}; expected images, state, instruction (or openpi's "
                f"observation/image, observation/wrist_image, {FLAT_CAMERA_PREFIX}<camera>, "
                "observation/state, prompt)"
            )
    if state is None:
        raise wire.WireError("the observation has no state ('state' or 'observation/state')")
    if not isinstance(instruction, str):
        raise wire.WireError("the observation needs an instruction string ('instruction' or 'prompt')")
    return {
        "images": {str(name): _image(name, image) for name, image in images.items()},
        "state": _state(state),
        "instruction": instruction,
    }


def _once(key: str, current: Any, value: Any) -> Any:
    if current is not None:
        raise wire.WireError(f"{key!r} repeats a value given under another name")
    return value


def _image(name: Any, image: Any) -> np.ndarray:
    if not (
        isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    ):
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise wire.WireError(f"image {name!r} must be an H×W×3 uint8 array, got {got}")
    return image


def _state(state: Any) -> np.ndarray:
    try:
        array = np.asarray(state, dtype=np.float32)
    except (TypeError, ValueError):
        raise wire.WireError(f"the state is not numeric ({type(state).__name__})") from None
    if array.ndim != 1:
        raise wire.WireError(f"the state must be a 1-D array, got shape {array.shape}")
    return array


def answer_actions(answer: Any) -> np.ndarray:
    """The ``actions`` of a decoded answer as float32 ``[A]`` or ``[H, A]``; :class:`InvalidAnswer`
    when there are none or they are not a non-empty numeric array."""
    if not isinstance(answer, Mapping) or "actions" not in answer:
        got = sorted(map(str, answer)) if isinstance(answer, Mapping) else type(answer).__name__
        raise InvalidAnswer(f"the answer has no 'actions' (got {got})")
    actions = answer["actions"]
    try:
        array = np.asarray(actions, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidAnswer(f"the actions are not numeric ({type(actions).__name__})") from None
    if array.ndim not in (1, 2) or array.size == 0:
        raise InvalidAnswer(f"the actions must be a non-empty [A] or [H, A] array, got shape {array.shape}")
    return array


def error_text(err: BaseException) -> str:
    """What the server sends when it fails: ``Type: message``, a blank line, the traceback."""
    trace = "".join(traceback.format_exception(err)).rstrip()
    return f"{type(err).__name__}: {err}\n\n{trace}"


# -- server ------------------------------------------------------------------------------------
class _Served:
    """One policy shared by a server's connections: each message is answered under a lock, and the
    policy is reset first when the message asks, when the instruction changes, or when it comes
    from another connection than the one whose episode the policy holds."""

    def __init__(self, policy: Any, metadata: dict[str, Any]):
        self.policy = policy
        self.greeting = wire.pack({**metadata, "protocol": PROTOCOL})  # fails here if it cannot travel
        self.lock = threading.Lock()
        self.owner: object | None = None
        self.instruction: str | None = None

    def answer(self, connection: object, message: Any) -> dict[str, Any]:
        observation = to_observation(message)
        with self.lock:
            if (
                self.owner is not connection
                or message.get("reset")
                or observation["instruction"] != self.instruction
            ):
                self.owner = self.instruction = None
                self.policy.reset(observation["instruction"])
                self.owner, self.instruction = connection, observation["instruction"]
            start = time.perf_counter()
            actions = np.asarray(self.policy.act(observation), dtype=np.float32)
            infer_ms = (time.perf_counter() - start) * 1000
        return {"actions": actions, "server_timing": {"infer_ms": infer_ms}}

    def handle(self, connection: ServerConnection) -> None:
        """A connection: metadata first, then one answer per message until it closes or fails."""
        try:
            connection.send(self.greeting)
            for data in connection:
                try:
                    if isinstance(data, str):
                        raise wire.WireError("expected a binary msgpack message, got a text frame")
                    reply = wire.pack(self.answer(connection, wire.unpack(data)))
                except Exception as err:
                    connection.send(error_text(err))
                    connection.close(
                        CloseCode.INTERNAL_ERROR, f"{type(err).__name__}: {err}"[:CLOSE_REASON_BYTES]
                    )
                    return
                connection.send(reply)
        except ConnectionClosed:
            pass  # the client went away (for instance after its own timeout)
        finally:
            with self.lock:
                if self.owner is connection:
                    self.owner = None


def policy_server(
    policy: Any,
    metadata: dict[str, Any],
    host: str = "127.0.0.1",
    port: int = 8000,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> Server:
    """A websocket server for ``policy``, listening but not yet serving (call ``serve_forever``);
    ``port=0`` picks a free port (``bound_port(server)``)."""
    served = _Served(policy, metadata)
    return ws_serve(served.handle, host, port, compression=None, max_size=max_message_bytes)


def bound_port(server: Server) -> int:
    """The port ``server`` listens on."""
    return int(server.socket.getsockname()[1])


def serve(
    policy: Any,
    metadata: dict[str, Any],
    host: str = "127.0.0.1",
    port: int = 8000,
    ready: Callable[[int], None] | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> None:
    """Serve ``policy`` until interrupted; ``ready(port)`` is called once the server listens."""
    with policy_server(policy, metadata, host, port, max_message_bytes) as server:
        if ready is not None:
            ready(bound_port(server))
        server.serve_forever()


@contextlib.contextmanager
def running_server(
    policy: Any,
    metadata: dict[str, Any],
    host: str = "127.0.0.1",
    port: int = 0,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> Iterator[int]:
    """Serve ``policy`` on a thread for the ``with`` block, which gets the bound port; on exit the
    server closes its connections and waits for their handlers (and so for a policy call in flight)."""
    server = policy_server(policy, metadata, host, port, max_message_bytes)
    thread = threading.Thread(
        target=server.serve_forever, name=f"policy-server:{bound_port(server)}", daemon=True
    )
    thread.start()
    try:
        yield bound_port(server)
    finally:
        server.shutdown()
        thread.join()


# -- client ------------------------------------------------------------------------------------
def websocket_uri(address: str | tuple[str, int]) -> str:
    """``ws://host:port`` from ``(host, port)``, ``"host:port"`` or a ``ws://`` / ``wss://`` URI."""
    if isinstance(address, tuple):
        host, port = address
        return f"ws://{host}:{int(port)}"
    return address if address.startswith(("ws://", "wss://")) else f"ws://{address}"


class RemotePolicy:
    """A policy served over the openpi websocket protocol, behind our policy protocol.

    ``timeout`` bounds :meth:`act` (None: no limit); ``connect_timeout`` bounds opening the
    connection and reading the metadata. Failures are :mod:`benchmark.errors`: ``PolicyTimeout``,
    ``InvalidAnswer`` (an answer over ``max_answer_bytes``, or without numeric actions), and
    ``PolicyError`` (the server's error text, or a refused or lost connection). After any of them
    the connection is dropped; :meth:`reset` opens a new one.
    """

    def __init__(
        self,
        address: str | tuple[str, int],
        timeout: float | None = 30.0,
        connect_timeout: float = 10.0,
        max_answer_bytes: int = MAX_MESSAGE_BYTES,
    ):
        self.uri = websocket_uri(address)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_answer_bytes = max_answer_bytes
        self._connection: ClientConnection | None = None
        self._open = contextlib.ExitStack()
        self._metadata: dict[str, Any] = {}
        self._instruction = ""
        self._reset = True
        self.server_timing: dict[str, Any] = {}  # of the last answer, e.g. {"infer_ms": 1.2}
        self._connect()

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata the server sent when the current connection opened."""
        return self._metadata

    def reset(self, instruction: str) -> None:
        """Start an episode: the next message asks the server to reset the policy. Opens a new
        connection when the last one was dropped or closed."""
        self._instruction = instruction
        self._reset = True
        if self._connection is None or self._connection.protocol.state is not State.OPEN:
            self.close()
            self._connect()

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        return self.act_within(observation, self.timeout)

    def act_within(self, observation: dict[str, Any], timeout: float | None) -> np.ndarray:
        """The server's actions for ``observation``, float32 ``[A]`` or ``[H, A]``, within ``timeout``
        seconds (None: no limit)."""
        if self._connection is None:
            raise PolicyError(f"no connection to the policy server at {self.uri} (call reset to reconnect)")
        message = dict(observation)
        if "instruction" not in message and "prompt" not in message:
            message["instruction"] = self._instruction
        if self._reset:
            message["reset"] = True
        try:
            self._connection.send(wire.pack(message))
            self._reset = False
            data = self._connection.recv(timeout=timeout)
        except TimeoutError:
            self.close()  # a late answer must not be taken for the next one
            raise PolicyTimeout(f"no answer from {self.uri} within {timeout:g} s") from None
        except ConnectionClosed as err:
            self.close()
            raise self._closed_error(err) from None
        if isinstance(data, str):
            self.close()
            summary, _, trace = data.partition("\n\n")
            error = PolicyError(f"the policy server at {self.uri} failed: {summary}")
            if trace:
                error.add_note(trace)
            raise error
        try:
            answer = wire.unpack(data)
            actions = answer_actions(answer)
        except (wire.WireError, InvalidAnswer) as err:
            self.close()
            raise InvalidAnswer(f"the policy server at {self.uri} answered badly: {err}") from None
        timing = answer.get("server_timing")
        self.server_timing = dict(timing) if isinstance(timing, Mapping) else {}
        return actions

    def close(self) -> None:
        self._connection = None
        self._open.close()

    def __enter__(self) -> RemotePolicy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> None:
        try:
            connection = self._open.enter_context(
                connect(
                    self.uri,
                    compression=None,
                    max_size=self.max_answer_bytes,
                    open_timeout=self.connect_timeout,
                )
            )
        except (OSError, TimeoutError, InvalidURI, InvalidHandshake) as err:
            raise PolicyError(f"cannot connect to the policy server at {self.uri}: {err}") from None
        try:
            metadata = wire.unpack(connection.recv(timeout=self.connect_timeout))
            if not isinstance(metadata, dict):
                raise wire.WireError(f"a {type(metadata).__name__}, not a map")
        except (TimeoutError, ConnectionClosed, wire.WireError) as err:
            self.close()
            raise PolicyError(
                f"no metadata from the policy server at {self.uri}: {err or 'timed out'}"
            ) from None
        self._connection, self._metadata = connection, metadata

    def _closed_error(self, err: ConnectionClosed) -> PolicyError:
        if err.sent is not None and err.sent.code == CloseCode.MESSAGE_TOO_BIG:
            return InvalidAnswer(
                f"the answer from {self.uri} is over the limit of {wire.human_bytes(self.max_answer_bytes)}"
            )
        return PolicyError(f"the connection to the policy server at {self.uri} closed: {err}")
