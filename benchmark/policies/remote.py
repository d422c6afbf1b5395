"""A policy on another process or machine, behind the openpi websocket protocol.

A connection opens with the server's metadata (a msgpack map; :func:`server_metadata` names what
ours declares). Then each client message is a msgpack map holding an observation, and each answer a
map ``{"actions": float32 [H, A], "server_timing": {"infer_ms": ...}}``: like every openpi server,
ours answers a chunk, ``H = 1`` for a policy that returns one action (openpi_client's
``ActionChunkBroker`` takes rows of it). Our client also reads a server that answers ``[A]``.
When the server fails it sends the error as a text frame and closes the connection with code 1011.
Arrays travel in the layout of :mod:`benchmark.policies.wire`, which is the one of openpi_client's
``msgpack_numpy``.

An observation arrives in our layout (``images``, ``state``, ``instruction``) or in openpi's flat
one (``observation/image``, ``observation/wrist_image``, ``observation/images/<camera>``,
``observation/state``, ``prompt``); :func:`to_observation` turns either into ours. A message may
also carry ``"reset": True``; the server resets the policy then, on a connection's first message,
and when the instruction changes. An HTTP GET of ``/healthz`` answers 200 ``OK`` (as openpi's
server does) instead of upgrading to a websocket.

:func:`serve` serves one policy object (``reset(instruction)``, ``act(observation)``);
:class:`RemotePolicy` is the client the episode runner uses.
"""

from __future__ import annotations

import contextlib
import http
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
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
HEALTH_PATH = "/healthz"
# what each of the 15 numbers of ``state`` is (benchmark.policies.protocol): 7 arm joints, the
# finger opening, the TCP position (m) and orientation quaternion (w x y z)
STATE_LAYOUT = (
    *(f"joint_{i}" for i in range(7)),
    "finger_opening",
    *(f"tcp_{axis}" for axis in ("x", "y", "z", "qw", "qx", "qy", "qz")),
)


def server_metadata(
    info: Mapping[str, Any],
    action_dim: int,
    action_chunk: int | None = None,
    open_loop_horizon: int | None = None,
) -> dict[str, Any]:
    """The metadata a server sends first: ``info``'s fields (name, kind, action space, cameras,
    image size as width × height, control rate, licence, owner) with ``action_dim``, the ``state``
    layout (``state_dim`` and ``state_layout``), ``action_chunk`` (H of each ``[H, A]`` answer; None
    when not known before the first answer) and, when given, the ``open_loop_horizon`` clients should
    play of each chunk before asking again."""
    metadata = {key: value for key, value in info.items() if key != "extra"}
    metadata.update(
        action_dim=int(action_dim),
        state_dim=len(STATE_LAYOUT),
        state_layout=list(STATE_LAYOUT),
        action_chunk=action_chunk,
    )
    if open_loop_horizon is not None:
        metadata["open_loop_horizon"] = check_horizon(open_loop_horizon)
    return metadata


def check_horizon(horizon: Any) -> int:
    """``horizon`` as a positive int, or :class:`ValueError`."""
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"an open-loop horizon must be a positive integer, not {horizon!r}")
    return int(horizon)


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


def error_summary(text: str) -> tuple[str, str]:
    """``(one line, the rest)`` of a server's error text: ours (``Type: message``, a blank line, the
    traceback) or openpi's (a bare traceback, whose last line names the error)."""
    if text.startswith("Traceback (most recent call last)"):
        lines = [line for line in text.strip().splitlines() if line.strip()]
        return (lines[-1].strip() if lines else "unknown error"), text
    summary, _, trace = text.partition("\n\n")
    return summary.strip().replace("\n", " "), trace


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
        if actions.ndim == 1:
            actions = actions[None]  # one action is a chunk of one, as openpi's clients expect
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


def _health(connection: ServerConnection, request: Request) -> Response | None:
    """``process_request`` hook: 200 ``OK`` for ``/healthz``; any other path goes on to the websocket."""
    if request.path == HEALTH_PATH:
        return connection.respond(http.HTTPStatus.OK, "OK\n")
    return None


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
    return ws_serve(
        served.handle, host, port, compression=None, max_size=max_message_bytes, process_request=_health
    )


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

    ``timeout`` bounds :meth:`act` (None: no limit), from sending the observation to holding the
    answer; ``connect_timeout`` bounds opening the connection and reading the metadata. Failures are
    :mod:`benchmark.errors`: ``PolicyTimeout`` (an answer not there by the deadline: its actions are
    never returned), ``InvalidAnswer`` (an answer over ``max_answer_bytes``, or without numeric
    actions), and ``PolicyError`` (the server's error text, or a refused or lost connection). After
    any of them the connection is dropped, so a late answer cannot be read as the next one;
    :meth:`reset` opens a new one.

    ``open_loop_horizon`` is how many actions of each chunk the episode runner plays before asking
    again: the given one, else the server metadata's ``open_loop_horizon``, else None (all of it).
    The first message of an episode carries ``"reset": True`` unless ``reset_key`` is None (as an
    adapter for openpi's conventions sets it: their servers know no such key).
    """

    def __init__(
        self,
        address: str | tuple[str, int],
        timeout: float | None = 30.0,
        connect_timeout: float = 10.0,
        max_answer_bytes: int = MAX_MESSAGE_BYTES,
        open_loop_horizon: int | None = None,
    ):
        self.uri = websocket_uri(address)
        self._horizon = None if open_loop_horizon is None else check_horizon(open_loop_horizon)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_answer_bytes = max_answer_bytes
        self._connection: ClientConnection | None = None
        self._open = contextlib.ExitStack()
        self._metadata: dict[str, Any] = {}
        self._instruction = ""
        self._reset = True
        self.server_timing: dict[str, Any] = {}  # of the last answer, e.g. {"infer_ms": 1.2}
        self.reset_key: str | None = "reset"  # None: never ask the server to reset (openpi's own)
        self._connect()

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata the server sent when the current connection opened."""
        return self._metadata

    @property
    def open_loop_horizon(self) -> int | None:
        """Actions to play of each chunk before asking again (None: the whole chunk)."""
        if self._horizon is not None:
            return self._horizon
        declared = self._metadata.get("open_loop_horizon")
        return None if declared is None else check_horizon(declared)

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
        """The server's actions for ``observation``, float32 ``[A]`` or ``[H, A]`` as the server sent
        them, within ``timeout`` seconds (None: no limit); an answer that comes later is dropped and
        the call raises :class:`PolicyTimeout`."""
        if self._connection is None:
            raise PolicyError(f"no connection to the policy server at {self.uri} (call reset to reconnect)")
        message = dict(observation)
        if "instruction" not in message and "prompt" not in message:
            message["instruction"] = self._instruction
        if self._reset and self.reset_key:
            message[self.reset_key] = True
        start = time.monotonic()
        try:
            self._connection.send(wire.pack(message))
            self._reset = False
            left = None if timeout is None else max(0.0, timeout - (time.monotonic() - start))
            data = self._connection.recv(timeout=left)
            if timeout is not None and time.monotonic() - start > timeout:
                raise TimeoutError  # it came, but too late to act on
        except TimeoutError:
            self.close()  # a late answer must not be taken for the next one
            raise PolicyTimeout(f"no answer from {self.uri} within {timeout:g} s") from None
        except ConnectionClosed as err:
            self.close()
            raise self._closed_error(err) from None
        if isinstance(data, str):
            self.close()
            summary, trace = error_summary(data)
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
            if metadata.get("open_loop_horizon") is not None:
                try:
                    check_horizon(metadata["open_loop_horizon"])
                except ValueError as err:
                    raise wire.WireError(str(err)) from None
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
