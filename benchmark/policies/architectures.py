"""Built-in architectures for weight-only submissions: ``config.json`` and ``model.safetensors``.

No submitted code runs: the evaluator builds the network that ``config.json`` names and fills it
from the safetensors file, after checking both strictly (never pickle, never ``torch.load``).

- ``state_mlp``: an MLP from the 15-number proprioceptive state to one action.
- ``image_cnn``: a small CNN over one camera's uint8 image, read out by a spatial soft-argmax
  (where each feature map peaks), joined with the state, then an MLP to one action. Each conv
  layer halves the image except the last; the first has a 5×5 kernel, the others 3×3. With
  ``second_camera`` (e.g. ``robot/wrist``) a second CNN of the same shape reads that camera's
  image, at the same size, and its keypoints join the first's.

Both may answer an action chunk: ``chunk`` consecutive actions from one observation, of which the
first ``horizon`` are played open loop before the policy is asked again (``chunk`` 1: one action
per step, as before).

With ``command_input`` (``ee_delta`` only) both also read the policy's own command: where the
actions it has sent so far put the controller's TCP target, relative to the measured TCP (3
numbers, m), the rotation from the measured to the commanded orientation (a rotation vector, 3
numbers), and the last gripper command (1). The ``ee_delta`` controller integrates each action
into that target, which the arm reaches a few steps later, so the state alone does not say where
the arm is headed: an expert's next action depends on it. :class:`WeightsPolicy` keeps the
command itself, from the TCP at reset plus every action it played (policy-side memory, no
environment state); :func:`command_track` computes the same from a demonstration.

Both standardise the state (followed by the command, with ``command_input``) and un-standardise
the action with statistics held in the weights
file (``state_mean``, ``state_std``, ``action_mean``, ``action_std``), and clip the action into
the bounds of the action space (:data:`benchmark.sim.control.ACTION_SPACES`), gripper included.
With ``binary_gripper`` (the default) the gripper command, the last number of both action
spaces, goes out as whichever bound is nearer: a regressed command between open and closed
half-closes the fingers, which no demonstration shows, and a policy drifts from there.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from benchmark.errors import PolicyError, SubmissionError
from benchmark.policies.protocol import ACTION_SPACE_DIMS, ACTION_SPACES, PolicyInfo

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
STATE_DIM = 15  # benchmark.episodes.env.STATE_DIM, repeated so that checking a submission loads no simulator
COMMAND_DIM = 7  # with command_input: target − TCP (3), rotation to the target (3), gripper command (1)
TCP_POS, TCP_QUAT, GRIPPER = slice(8, 11), slice(11, 15), 6  # in the state; the gripper in an ee_delta action
MAX_CONFIG_BYTES = 64 * 1024
STATE_DICT_FILE = "model.pt"  # the alternative to WEIGHTS_FILE, read with weights_only=True
MAX_WEIGHTS_BYTES = 512 * 1024**2
MAX_PARAMETERS = 50_000_000  # 200 MB of float32; checked on a meta-device model, before allocating
MAX_WIDTH, MAX_HIDDEN_LAYERS = 8192, 8
MAX_CHANNELS, MAX_CONV_LAYERS = 512, 6
MAX_CHUNK = 64
REQUIRED_FIELDS = ("architecture", "format_version", "action_space")
STATISTICS = ("state_mean", "state_std", "action_mean", "action_std")


@dataclass(frozen=True)
class ArchitectureConfig:
    """What ``config.json`` holds. ``image_size`` is (width, height) of the camera image the
    environment renders; ``camera`` and ``channels`` are read by ``image_cnn`` only (``state_mlp``
    has no camera, and its small ``image_size`` keeps the unread renders cheap)."""

    architecture: str
    action_space: str = "ee_delta"
    hidden: tuple[int, ...] = (256, 256)
    camera: str | None = None
    second_camera: str | None = None  # image_cnn: a second image stream (e.g. robot/wrist)
    image_size: tuple[int, int] = (96, 96)
    channels: tuple[int, ...] = (16, 32, 32)
    control_hz: float | None = None
    binary_gripper: bool = True
    chunk: int = 1
    horizon: int | None = None  # actions of each chunk played open loop; None: the whole chunk
    command_input: bool = False  # read the policy's own integrated command (ee_delta only)
    format_version: int = FORMAT_VERSION

    @property
    def cameras(self) -> tuple[str, ...]:
        """The cameras the network reads, in the order of its image streams."""
        return tuple(c for c in (self.camera, self.second_camera) if c is not None)

    @property
    def input_dim(self) -> int:
        """Numbers of the standardised input beside the image: the state, then the command."""
        return STATE_DIM + (COMMAND_DIM if self.command_input else 0)

    @property
    def played(self) -> int:
        """How many actions of each answer are played before the policy is asked again."""
        return self.horizon or self.chunk

    def __post_init__(self):
        check_config(self)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("hidden", "image_size", "channels"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = CONFIG_FILE) -> ArchitectureConfig:
        """A config from parsed JSON, refusing unknown and missing fields and wrong types."""
        if not isinstance(data, dict):
            raise SubmissionError(f"{where}: expected a JSON object, got {type(data).__name__}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise SubmissionError(f"{where}: unknown field(s) {unknown}; known: {known}")
        missing = [k for k in REQUIRED_FIELDS if k not in data]
        if missing:
            raise SubmissionError(f"{where}: missing field(s) {missing}")
        values = dict(data)
        for key in ("hidden", "image_size", "channels"):
            if key in values:
                if not isinstance(values[key], list | tuple):
                    raise SubmissionError(f"{where}: {key} must be a list of integers, got {values[key]!r}")
                values[key] = tuple(values[key])
        try:
            return cls(**values)
        except SubmissionError as err:
            raise SubmissionError(f"{where}: {err}") from None


def check_config(c: ArchitectureConfig) -> None:
    """Raise :class:`SubmissionError` naming the first field of ``c`` that is wrong, or the
    parameter count when the network it describes is over :data:`MAX_PARAMETERS`."""
    if not isinstance(c.architecture, str) or c.architecture not in ARCHITECTURES:
        raise SubmissionError(
            f"unknown architecture {c.architecture!r}; built-in ones: {', '.join(ARCHITECTURES)}"
        )
    if not _is_int(c.format_version) or c.format_version != FORMAT_VERSION:
        raise SubmissionError(
            f"format_version {c.format_version!r} is not supported; expected {FORMAT_VERSION}"
        )
    if not isinstance(c.action_space, str) or c.action_space not in ACTION_SPACE_DIMS:
        raise SubmissionError(f"action_space {c.action_space!r} is not one of {', '.join(ACTION_SPACE_DIMS)}")
    _check_ints("hidden", c.hidden, 0, MAX_HIDDEN_LAYERS, MAX_WIDTH)
    _check_ints("channels", c.channels, 1, MAX_CONV_LAYERS, MAX_CHANNELS)
    size = c.image_size
    if len(size) != 2 or not all(_is_int(v) and 16 <= v <= 1024 for v in size):
        raise SubmissionError(f"image_size {list(size)!r} must be two integers (width, height) in 16..1024")
    if c.architecture == "image_cnn" and not (isinstance(c.camera, str) and c.camera):
        raise SubmissionError(f"image_cnn needs a camera name, got {c.camera!r}")
    if c.architecture == "state_mlp" and (c.camera is not None or c.second_camera is not None):
        raise SubmissionError(
            f"state_mlp reads no camera; camera and second_camera must be null, got {c.camera!r}, "
            f"{c.second_camera!r}"
        )
    second = c.second_camera
    if second is not None and (not isinstance(second, str) or not second or second == c.camera):
        raise SubmissionError(
            f"second_camera {second!r} must be null or a camera name other than camera ({c.camera!r})"
        )
    if not isinstance(c.binary_gripper, bool):
        raise SubmissionError(f"binary_gripper {c.binary_gripper!r} must be true or false")
    if not _is_int(c.chunk) or not 1 <= c.chunk <= MAX_CHUNK:
        raise SubmissionError(f"chunk {c.chunk!r} must be an integer in 1..{MAX_CHUNK}")
    if c.horizon is not None and (not _is_int(c.horizon) or not 1 <= c.horizon <= c.chunk):
        raise SubmissionError(f"horizon {c.horizon!r} must be null or an integer in 1..chunk ({c.chunk})")
    if not isinstance(c.command_input, bool):
        raise SubmissionError(f"command_input {c.command_input!r} must be true or false")
    if c.command_input and c.action_space != "ee_delta":
        raise SubmissionError(f"command_input needs the ee_delta action space, not {c.action_space!r}")
    hz = c.control_hz
    if hz is not None and (isinstance(hz, bool) or not isinstance(hz, int | float) or not 0 < hz <= 1000):
        raise SubmissionError(f"control_hz {hz!r} must be null or a number in (0, 1000]")
    count = parameter_count(c)
    if count > MAX_PARAMETERS:
        raise SubmissionError(
            f"the network would have {count:,} parameters, over the limit of {MAX_PARAMETERS:,}"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_ints(name: str, values: tuple, min_count: int, max_count: int, max_value: int) -> None:
    ok = all(_is_int(v) and 1 <= v <= max_value for v in values)
    if not ok or not min_count <= len(values) <= max_count:
        raise SubmissionError(
            f"{name} {list(values)!r} must be {min_count}..{max_count} integers in 1..{max_value}"
        )


# -- the networks --------------------------------------------------------------------------------
def mlp(inputs: int, hidden: tuple[int, ...], outputs: int) -> nn.Sequential:
    """Linear layers with ReLUs between them."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(inputs, width), nn.ReLU()]
        inputs = width
    layers.append(nn.Linear(inputs, outputs))
    return nn.Sequential(*layers)


def spatial_soft_argmax(features: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] feature maps → [B, 2C]: each channel's softmax-weighted mean (x, y), in [-1, 1]."""
    b, c, h, w = features.shape
    weights = torch.softmax(features.reshape(b, c, h * w), dim=-1).reshape(b, c, h, w)
    xs = torch.linspace(-1.0, 1.0, w, dtype=features.dtype, device=features.device)
    ys = torch.linspace(-1.0, 1.0, h, dtype=features.dtype, device=features.device)
    x = (weights.sum(dim=2) * xs).sum(dim=-1)
    y = (weights.sum(dim=3) * ys).sum(dim=-1)
    return torch.cat([x, y], dim=1)


def encoder(channels: tuple[int, ...]) -> nn.Sequential:
    """``image_cnn``'s convolutions: each halves the image but the last; 5×5 first, then 3×3."""
    layers: list[nn.Module] = []
    inputs = 3
    for i, width in enumerate(channels):
        last = i == len(channels) - 1
        kernel = 5 if i == 0 else 3
        layers.append(nn.Conv2d(inputs, width, kernel, stride=1 if last else 2, padding=kernel // 2))
        if not last:
            layers.append(nn.ReLU())
        inputs = width
    return nn.Sequential(*layers)


class Normalised(nn.Module):
    """The statistics of the training data, as buffers so that they travel in the weights file.
    ``forward`` predicts the standardised action; :meth:`action` the action itself (unclipped)."""

    def __init__(self, action_dim: int, input_dim: int = STATE_DIM):
        super().__init__()
        self.register_buffer("state_mean", torch.zeros(input_dim))
        self.register_buffer("state_std", torch.ones(input_dim))
        self.register_buffer("action_mean", torch.zeros(action_dim))
        self.register_buffer("action_std", torch.ones(action_dim))

    def standard_state(self, state: torch.Tensor) -> torch.Tensor:
        return (state - self.state_mean) / self.state_std

    def action(self, state: torch.Tensor, image=None) -> torch.Tensor:
        """The actions [B, chunk, A] (unclipped). ``image``: one uint8 tensor [B, H, W, 3], or a
        sequence of them, one per camera (``image_cnn``)."""
        out = self(state, image)
        return out.reshape(len(out), -1, len(self.action_std)) * self.action_std + self.action_mean


class StateMLP(Normalised):
    """``state_mlp``: state (and command) → action."""

    def __init__(self, config: ArchitectureConfig):
        dim = ACTION_SPACE_DIMS[config.action_space]
        super().__init__(dim, config.input_dim)
        self.head = mlp(config.input_dim, config.hidden, dim * config.chunk)

    def forward(self, state: torch.Tensor, image=None) -> torch.Tensor:
        return self.head(self.standard_state(state))


class ImageCNN(Normalised):
    """``image_cnn``: (uint8 image [B, H, W, 3], state (and command)) → action."""

    def __init__(self, config: ArchitectureConfig):
        dim = ACTION_SPACE_DIMS[config.action_space]
        super().__init__(dim, config.input_dim)
        self.encoder = encoder(config.channels)
        self.second_encoder = encoder(config.channels) if config.second_camera is not None else None
        points = 2 * config.channels[-1] * len(config.cameras)
        self.head = mlp(points + config.input_dim, config.hidden, dim * config.chunk)

    def keypoints(self, image) -> torch.Tensor:
        """[B, 2C] per camera: where each of the encoders' last feature maps peaks, in [-1, 1]."""
        images = [image] if isinstance(image, torch.Tensor) else list(image)
        encoders = [self.encoder] + ([self.second_encoder] if self.second_encoder is not None else [])
        if len(images) != len(encoders):
            raise ValueError(f"image_cnn reads {len(encoders)} camera(s), got {len(images)} image(s)")
        points = []
        for net, img in zip(encoders, images, strict=True):
            pixels = img.permute(0, 3, 1, 2).to(self.state_mean.dtype) / 255.0 - 0.5
            points.append(spatial_soft_argmax(net(pixels)))
        return torch.cat(points, dim=1)

    def decide(self, points: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """The standardised action from the keypoints and the (unstandardised) state."""
        return self.head(torch.cat([points, self.standard_state(state)], dim=1))

    def forward(self, state: torch.Tensor, image=None) -> torch.Tensor:
        if image is None:
            raise ValueError("image_cnn needs an image")
        return self.decide(self.keypoints(image), state)


ARCHITECTURES: dict[str, type[Normalised]] = {"state_mlp": StateMLP, "image_cnn": ImageCNN}


def build_model(config: ArchitectureConfig, device: str | torch.device | None = None) -> Normalised:
    """The network ``config`` describes, freshly initialised (from torch's global generator)."""
    with torch.device(device or "cpu"):
        return ARCHITECTURES[config.architecture](config)


def expected_tensors(config: ArchitectureConfig) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor of the weights file (all float32); allocates nothing."""
    with torch.device("meta"):
        model = ARCHITECTURES[config.architecture](config)
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def parameter_count(config: ArchitectureConfig) -> int:
    """Numbers in the weights file of ``config``'s network (statistics included)."""
    return sum(math.prod(shape) for shape in expected_tensors(config).values())


# -- the command ---------------------------------------------------------------------------------
class CommandTracker:
    """The ``ee_delta`` controller's TCP target as the policy's own actions set it: the measured
    TCP at the first observation, then each played action added (translation added, rotation
    vector applied on the left, as the controller does). Policy-side memory: nothing is read from
    the environment but the observation's state."""

    def __init__(self):
        self.pos: np.ndarray | None = None
        self.rot = np.eye(3)
        self.gripper = 0.0

    def reset(self) -> None:
        self.pos = None

    def features(self, state: np.ndarray) -> np.ndarray:
        """The command input [COMMAND_DIM] for ``state`` (starting the track on the first call)."""
        from twin.transforms import quat_to_mat, rotation_error

        tcp, rot = np.asarray(state[TCP_POS], dtype=float), quat_to_mat(state[TCP_QUAT])
        if self.pos is None:
            self.pos, self.rot, self.gripper = tcp.copy(), rot, 0.0
        return np.r_[self.pos - tcp, rotation_error(rot, self.rot), self.gripper].astype(np.float32)

    def played(self, action: np.ndarray) -> None:
        """Add one action the environment executed."""
        from twin.transforms import axis_angle_to_mat

        action = np.asarray(action, dtype=float)
        self.pos = self.pos + action[:3]
        self.rot = axis_angle_to_mat(action[3:6]) @ self.rot
        self.gripper = float(action[GRIPPER])


def command_track(states: np.ndarray, executed: np.ndarray) -> np.ndarray:
    """The command input [T, COMMAND_DIM] of an ``ee_delta`` episode: ``states`` [T, 15] observed
    before each of the ``executed`` actions [T, 7] (what the controller received, noise included)."""
    tracker = CommandTracker()
    out = np.empty((len(states), COMMAND_DIM), dtype=np.float32)
    for t, (state, action) in enumerate(zip(states, executed, strict=True)):
        out[t] = tracker.features(state)
        tracker.played(action)
    return out


# -- the files -----------------------------------------------------------------------------------
def check_tensors(
    found: dict[str, tuple[tuple[int, ...], str]], config: ArchitectureConfig, where: str
) -> None:
    """Compare name → (shape, dtype) with what ``config``'s network holds; raise on the first
    difference (missing, unexpected, wrong shape, not float32)."""
    expected = expected_tensors(config)
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    arch = config.architecture
    if missing:
        raise SubmissionError(f"{where}: tensor(s) {missing} missing for {arch} with this config.json")
    if extra:
        raise SubmissionError(f"{where}: unexpected tensor(s) {extra} for {arch}; it has {sorted(expected)}")
    for name, shape in expected.items():
        got_shape, dtype = found[name]
        if tuple(got_shape) != shape:
            raise SubmissionError(
                f"{where}: tensor {name!r} has shape {list(got_shape)}, "
                f"expected {list(shape)} for this config.json"
            )
        if dtype not in ("F32", "float32", "torch.float32"):
            raise SubmissionError(f"{where}: tensor {name!r} is {dtype}, expected float32 (F32)")


def check_values(tensors: dict[str, torch.Tensor], where: str) -> None:
    """Every number finite and every standard deviation positive."""
    for name, tensor in tensors.items():
        if not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise SubmissionError(f"{where}: tensor {name!r} holds {bad} non-finite value(s) (NaN or inf)")
    for name in ("state_std", "action_std"):
        if not bool((tensors[name] > 0).all()):
            raise SubmissionError(f"{where}: normalisation tensor {name!r} must be positive everywhere")


def save_weights(
    model_or_state: nn.Module | dict[str, torch.Tensor], config: ArchitectureConfig, folder: str | Path
) -> Path:
    """Write ``model.safetensors`` and ``config.json`` into ``folder`` (created if needed), after
    the same checks as loading; each file is replaced whole or not at all."""
    from safetensors.torch import save_file

    folder = Path(folder)
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    tensors = {name: t.detach().cpu().contiguous() for name, t in state.items()}
    where = str(folder / WEIGHTS_FILE)
    check_tensors({n: (tuple(t.shape), str(t.dtype)) for n, t in tensors.items()}, config, where)
    check_values(tensors, where)
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".{WEIGHTS_FILE}.partial"
    save_file(tensors, str(scratch), metadata={"format": "twinarena-weights"})
    os.replace(scratch, folder / WEIGHTS_FILE)
    scratch = folder / f".{CONFIG_FILE}.partial"
    scratch.write_text(json.dumps(config.to_dict(), indent=1) + "\n")
    os.replace(scratch, folder / CONFIG_FILE)
    return folder


def check_file(path: Path, limit: int) -> None:
    """A submission file that is there and no larger than ``limit`` bytes, else :class:`SubmissionError`."""
    if not path.is_file():
        raise SubmissionError(f"{path}: missing; a weights submission needs {CONFIG_FILE} and {WEIGHTS_FILE}")
    size = path.stat().st_size
    if size > limit:
        raise SubmissionError(f"{path}: {size:,} bytes, over the limit of {limit:,}")


def read_config(path: Path) -> ArchitectureConfig:
    """``config.json`` checked: present, small, JSON, known fields of the right types."""
    check_file(path, MAX_CONFIG_BYTES)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SubmissionError(f"{path}: not valid JSON ({err})") from None
    return ArchitectureConfig.from_dict(data, where=str(path))


def read_weights(path: Path, config: ArchitectureConfig) -> dict[str, torch.Tensor]:
    """The tensors of ``model.safetensors``, checked against ``config``'s network: the header
    (names, shapes, dtypes) before any data is read, then the values."""
    from safetensors import SafetensorError, safe_open

    check_file(path, MAX_WEIGHTS_BYTES)
    try:
        with safe_open(str(path), framework="pt") as f:
            names = f.keys()
            header = {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype()) for k in names}
            check_tensors(header, config, str(path))
            tensors = {k: f.get_tensor(k).clone() for k in header}
    except SafetensorError as err:
        raise SubmissionError(f"{path}: not a readable safetensors file ({err})") from None
    check_values(tensors, str(path))
    return tensors


def read_state_dict(path: Path, config: ArchitectureConfig) -> dict[str, torch.Tensor]:
    """The tensors of a ``torch.save``'d state dict, read with ``weights_only=True``: a pickle
    that asks for anything but tensors and plain containers is refused, never run."""
    check_file(path, MAX_WEIGHTS_BYTES)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError for forbidden globals, RuntimeError for bad zips
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SubmissionError(f"{path}: refused by torch.load(weights_only=True): {first}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SubmissionError(f"{path}: expected a state dict of tensors, got {type(state).__name__}")
    header = {k: (tuple(v.shape), str(v.dtype)) for k, v in state.items()}
    check_tensors(header, config, str(path))
    check_values(state, str(path))
    return state


def load_weights_model(folder: str | Path) -> tuple[Normalised, ArchitectureConfig]:
    """The checked network of a weights submission folder, in eval mode, and its config."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SubmissionError(f"{folder}: not a folder (a weights submission is a folder)")
    config = read_config(folder / CONFIG_FILE)
    if not (folder / WEIGHTS_FILE).exists() and (folder / STATE_DICT_FILE).exists():
        tensors = read_state_dict(folder / STATE_DICT_FILE, config)
    else:
        tensors = read_weights(folder / WEIGHTS_FILE, config)
    model = build_model(config)
    model.load_state_dict(tensors, strict=True)
    return model.eval(), config


def action_bounds(action_space: str) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of an action space."""
    space = ACTION_SPACES[action_space]
    return np.asarray(space.low, dtype=float), np.asarray(space.high, dtype=float)


def bounded_action(raw: np.ndarray, low: np.ndarray, high: np.ndarray, binary_gripper: bool) -> np.ndarray:
    """``raw`` clipped into [low, high]; the last number (the gripper) snapped to the nearer
    bound when ``binary_gripper``."""
    action = np.clip(np.asarray(raw, dtype=float), low, high)
    if binary_gripper:
        action[-1] = high[-1] if action[-1] >= (low[-1] + high[-1]) / 2 else low[-1]
    return action


class WeightsPolicy:
    """A built-in network with submitted weights, behind the policy protocol."""

    def __init__(self, model: Normalised, config: ArchitectureConfig, name: str = "weights"):
        self.model = model.eval()
        self.config = config
        self.low, self.high = action_bounds(config.action_space)
        self.info = PolicyInfo(
            name=name,
            kind="weights",
            action_space=config.action_space,
            cameras=config.cameras,
            image_size=tuple(config.image_size),
            control_hz=config.control_hz,
            extra={"architecture": config.architecture, "chunk": config.chunk, "horizon": config.played},
        )
        self.open_loop_horizon = config.played
        self.command = CommandTracker() if config.command_input else None

    def reset(self, instruction: str = "") -> None:
        """Forget the command (with ``command_input``); the network itself has no memory."""
        if self.command is not None:
            self.command.reset()

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        """One action [A], or with ``chunk`` > 1 the actions to play open loop [horizon, A]. With
        ``command_input`` every action answered counts as played (the runner plays them all)."""
        state = np.asarray(observation["state"], dtype=np.float32)
        if state.shape != (STATE_DIM,):
            raise PolicyError(f"state of shape {state.shape}, expected ({STATE_DIM},)")
        if self.command is not None:
            state = np.r_[state, self.command.features(state)].astype(np.float32)
        image = [torch.from_numpy(self._image(observation, c)[None]) for c in self.config.cameras] or None
        with torch.inference_mode():
            out = self.model.action(torch.from_numpy(state[None]), image)[0].double().numpy()
        actions = [bounded_action(row, self.low, self.high, self.config.binary_gripper) for row in out]
        actions = actions[: self.config.played]
        if self.command is not None:
            for action in actions:
                self.command.played(action)
        return actions[0] if self.config.chunk == 1 else np.stack(actions)

    def _image(self, observation: dict[str, Any], camera: str) -> np.ndarray:
        w, h = self.config.image_size
        images = observation.get("images", {})
        if camera not in images:
            raise PolicyError(f"no image from camera {camera!r}; the observation has {sorted(images)}")
        image = np.ascontiguousarray(images[camera])
        if image.shape != (h, w, 3) or image.dtype != np.uint8:
            raise PolicyError(
                f"camera {camera!r}: expected a {w}×{h} (width×height) RGB uint8 image, "
                f"got shape {image.shape} {image.dtype}"
            )
        return image


def load_weights_policy(folder: str | Path, name: str | None = None) -> WeightsPolicy:
    """A :class:`WeightsPolicy` from a submission folder; :class:`SubmissionError` names the file
    and what is wrong with it."""
    model, config = load_weights_model(folder)
    return WeightsPolicy(model, config, name or Path(folder).resolve().name or "weights")
