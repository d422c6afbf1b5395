"""LeRobot pretrained-policy folders as submissions (kind ``lerobot``).

A folder that LeRobot's ``save_pretrained`` wrote: ``config.json`` (``"type": "act"``,
``"diffusion"`` …, with ``input_features`` and ``output_features``), ``model.safetensors`` and the
processor pipelines (``policy_preprocessor.json``, ``policy_postprocessor.json`` and the
normalisers' ``*.safetensors`` stats). It runs through the real ``lerobot`` package, in the isolated
worker (:mod:`benchmark.policies.worker`), never in the evaluator:

- lerobot 0.4.4, the last release on Python 3.11 (0.6 needs 3.12), lives in a venv of its own with
  the CPU torch 2.13.0 (``.ci/lerobot-venv.sh`` builds it). The worker of a LeRobot submission runs
  with that venv's Python: ``$TWINARENA_LEROBOT_PYTHON``, default ``<repo>/.venv-lerobot/bin/python``;
- the weights are read only as safetensors (strictly: every tensor the model has, no other), the
  config by LeRobot's own draccus parser, and the processor steps only from LeRobot's registry or
  its own ``lerobot.*`` classes: no pickle is opened and no code comes from the folder;
- a backbone's ``pretrained_backbone_weights`` (torchvision's ImageNet download) is dropped before
  the model is built: the folder's safetensors hold every backbone weight, and the sandbox has no
  network.

The evaluator's side (:func:`is_lerobot_config`, :func:`lerobot_info`) reads ``config.json`` alone,
without importing lerobot or torch, and refuses what TwinArena cannot feed. Our observation maps to
the policy's input features so:

- ``observation.images.<camera>`` ← ``images[<camera>]`` (H×W×3 uint8 → 3×H×W float in [0, 1], as
  LeRobot's environments give it); ``observation.image`` ← ``images["front"]``;
- ``observation.state`` ← the state's first 15, 8 or 7 numbers, whichever the feature's size says
  (all of it; the 7 arm joints and the finger opening; the 7 arm joints: :data:`STATE_LAYOUTS`);
- ``task`` ← the instruction.

The ``action`` feature's size picks the action space (7: ``ee_delta``, 8: ``joint_position``)
unless ``policy.json`` beside the config names one of the same size.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import PolicyError, SubmissionError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PROCESSOR_FILES = ("policy_preprocessor.json", "policy_postprocessor.json")
PYTHON_ENV = "TWINARENA_LEROBOT_PYTHON"
DEFAULT_VENV = ".venv-lerobot"
MAX_CONFIG_BYTES = 1 << 20
IMAGE_PREFIX = "observation.images."
SINGLE_IMAGE = "observation.image"
SINGLE_IMAGE_CAMERA = "front"
STATE = "observation.state"
ACTION = "action"
# the state numbers a policy's observation.state of each size gets (TwinArena's 15: 7 arm joints,
# finger opening, TCP xyz, TCP quaternion wxyz)
STATE_LAYOUTS = {15: "the whole state", 8: "7 arm joints and the finger opening", 7: "7 arm joints"}
ACTION_SPACE_OF_SIZE = {7: "ee_delta", 8: "joint_position"}

__all__ = [
    "LeRobotPolicy",
    "import_lerobot",
    "is_lerobot_config",
    "lerobot_info",
    "read_lerobot_config",
    "worker_python",
]


# -- the evaluator's side: config.json alone, no lerobot, no torch ---------------------------------


def is_lerobot_config(config: Any) -> bool:
    """Whether a parsed ``config.json`` is LeRobot's (a policy ``type`` and its features), not
    the config of one of our own architectures."""
    return (
        isinstance(config, dict)
        and isinstance(config.get("type"), str)
        and ("input_features" in config or "output_features" in config)
    )


def sniff_config(folder: Path) -> dict[str, Any] | None:
    """``folder``'s ``config.json`` when it is LeRobot's, else None (ours, or not JSON: the weights
    loader says what is wrong with it)."""
    file = folder / CONFIG_FILE
    try:
        if file.stat().st_size > MAX_CONFIG_BYTES:
            return None
        config = json.loads(file.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return config if is_lerobot_config(config) else None


def read_lerobot_config(folder: Path) -> dict[str, Any]:
    """The checked ``config.json`` of a LeRobot policy folder; :class:`SubmissionError` naming the
    first thing wrong (the file, a feature, the weights, a processor step)."""
    file = folder / CONFIG_FILE
    try:
        size = file.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise SubmissionError(f"{file}: {size:,} bytes; at most {MAX_CONFIG_BYTES:,} are read")
        config = json.loads(file.read_bytes())
    except OSError as err:
        raise SubmissionError(f"{file}: cannot read it ({err.strerror})") from None
    except (ValueError, RecursionError) as err:
        raise SubmissionError(f"{file}: not valid JSON ({err})") from None
    if not is_lerobot_config(config):
        raise SubmissionError(f"{file}: not a LeRobot policy config (no 'type' with 'input_features')")
    for key in ("input_features", "output_features"):
        features = config.get(key)
        if not isinstance(features, dict) or not features:
            raise SubmissionError(f"{file}: '{key}' must be an object of features, not {features!r}")
        for name, feature in features.items():
            _check_feature(file, name, feature)
    _check_weights(folder / WEIGHTS_FILE)
    for name in PROCESSOR_FILES:
        check_processor(folder / name)
    return config


def _check_feature(file: Path, name: str, feature: Any) -> None:
    shape = feature.get("shape") if isinstance(feature, dict) else None
    kind = feature.get("type") if isinstance(feature, dict) else None
    ints = isinstance(shape, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in shape)
    if not isinstance(kind, str) or not ints or not shape or not all(0 < v <= 1 << 16 for v in shape):
        raise SubmissionError(
            f"{file}: feature {name!r} must be {{'type': ..., 'shape': [positive integers]}}, not {feature!r}"
        )


def _check_weights(file: Path) -> None:
    """A safetensors file by its header (8-byte length, then a JSON object), never unpickled."""
    if not file.is_file():
        raise SubmissionError(f"{file.parent}: a LeRobot policy folder needs {WEIGHTS_FILE} (no pickles)")
    with open(file, "rb") as f:
        head = f.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else -1
        size = file.stat().st_size
        if not 2 <= length <= min(size - 8, 100 << 20):
            raise SubmissionError(f"{file}: not a safetensors file (its header length is wrong)")
        try:
            header = json.loads(f.read(length))
        except (ValueError, RecursionError):
            header = None
    if not isinstance(header, dict):
        raise SubmissionError(f"{file}: not a safetensors file (its header is not a JSON object)")
    tensors = [v for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]
    ends = [(v.get("data_offsets") or [0, 0])[-1] for v in tensors]
    if any(not isinstance(e, int) or e > size - 8 - length for e in ends):
        raise SubmissionError(f"{file}: cut short (its tensors run past the end of the file)")


def check_processor(file: Path) -> None:
    """A saved processor pipeline may use LeRobot's registered steps or its own ``lerobot.*``
    classes only: a ``class`` naming any other module would be imported (code from elsewhere)."""
    if not file.exists():
        raise SubmissionError(
            f"{file.parent}: {file.name} is missing (LeRobot ≥ 0.4 saves the processors beside the "
            "model: policy.save_pretrained plus preprocessor/postprocessor.save_pretrained)"
        )
    try:
        pipeline = json.loads(file.read_bytes()) if file.stat().st_size <= MAX_CONFIG_BYTES else None
    except (OSError, ValueError, RecursionError) as err:
        raise SubmissionError(f"{file}: not valid JSON ({err})") from None
    steps = pipeline.get("steps") if isinstance(pipeline, dict) else None
    if not isinstance(steps, list):
        raise SubmissionError(f"{file}: not a LeRobot processor pipeline (no 'steps' list)")
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            raise SubmissionError(f"{file}: step {i} is not an object")
        registered, named = step.get("registry_name"), step.get("class")
        if isinstance(registered, str) and registered:
            continue
        if not (isinstance(named, str) and named.startswith("lerobot.")):
            raise SubmissionError(
                f"{file}: step {i} names class {named!r}; only LeRobot's own steps are loaded"
            )


def input_plan(config: dict[str, Any]) -> tuple[dict[str, str], tuple[int, int] | None, int | None]:
    """``({feature: camera}, (width, height) of the images, state size)`` of a LeRobot config;
    :class:`SubmissionError` naming a feature TwinArena cannot give."""
    cameras: dict[str, str] = {}
    sizes: dict[str, tuple[int, int]] = {}
    state = None
    for name, feature in config["input_features"].items():
        shape = feature["shape"]
        if name.startswith(IMAGE_PREFIX) or name == SINGLE_IMAGE:
            camera = name[len(IMAGE_PREFIX) :] if name != SINGLE_IMAGE else SINGLE_IMAGE_CAMERA
            if len(shape) != 3 or shape[0] != 3 or not camera:
                raise SubmissionError(f"{name}: an image feature must have shape [3, H, W], not {shape}")
            cameras[name] = camera
            sizes[name] = (shape[2], shape[1])
        elif name == STATE:
            if len(shape) != 1 or shape[0] not in STATE_LAYOUTS:
                sizes_said = ", ".join(f"{n} ({what})" for n, what in STATE_LAYOUTS.items())
                raise SubmissionError(
                    f"{name}: the policy wants shape {shape}; TwinArena's state gives {sizes_said}"
                )
            state = shape[0]
        else:
            raise SubmissionError(
                f"{name}: TwinArena gives no such input (it gives {IMAGE_PREFIX}<camera>, {STATE})"
            )
    if len(set(sizes.values())) > 1:
        raise SubmissionError(
            f"{', '.join(sizes)}: the images have different sizes {sorted(set(sizes.values()))}; "
            "TwinArena renders every camera at one size"
        )
    size = next(iter(sizes.values()), None)
    return cameras, size, state


def action_size(config: dict[str, Any]) -> int:
    action = config["output_features"].get(ACTION)
    if action is None or len(action["shape"]) != 1:
        raise SubmissionError(f"{ACTION}: the policy must output one action vector [A], not {action!r}")
    return action["shape"][0]


def lerobot_info(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The :class:`~benchmark.policies.protocol.PolicyInfo` fields a LeRobot folder's config says
    (action space, cameras, image size), checked against what TwinArena can give it."""
    from benchmark.policies.protocol import ACTION_SPACE_DIMS

    config = read_lerobot_config(folder)
    cameras, size, _ = input_plan(config)
    dim = action_size(config)
    space = manifest.get("action_space") or ACTION_SPACE_OF_SIZE.get(dim)
    if space is None or ACTION_SPACE_DIMS.get(space) != dim:
        fits = ", ".join(f"{n} ({d})" for n, d in ACTION_SPACE_DIMS.items())
        raise SubmissionError(
            f"{ACTION}: the policy outputs {dim} numbers, which fits no action space of TwinArena's "
            f"as declared ({space or 'none'}); the spaces: {fits}"
        )
    info: dict[str, Any] = {"action_space": space, "cameras": sorted(set(cameras.values()))}
    if size is not None:
        info["image_size"] = list(size)
    return info


def worker_python() -> tuple[str, tuple[Path, ...]]:
    """The Python a LeRobot worker runs with and the folders its sandbox must let it read (its
    venv and the installation the venv's Python links to); :class:`PolicyError` when missing."""
    root = Path(__file__).resolve().parents[2]
    python = Path(os.environ.get(PYTHON_ENV) or root / DEFAULT_VENV / "bin" / "python")
    if not python.exists():
        raise PolicyError(
            f"LeRobot policies run with the Python of a venv holding lerobot 0.4.4 (${PYTHON_ENV}, "
            f"default {root / DEFAULT_VENV / 'bin' / 'python'}): there is none at {python}; make one "
            f"with: bash .ci/lerobot-venv.sh {python.parent.parent}"
        )
    return str(python), (python.parent.parent, python.resolve().parents[1])


# -- the worker's side: the real lerobot ----------------------------------------------------------


def import_lerobot():
    """Import lerobot's policy factory (and every policy config it registers) in this venv.

    torchvision 0.28 (the only one for torch 2.13) is a CUDA build: its C ops do not load, and its
    Python side registers fake implementations of ``torchvision::nms`` and ``qnms`` at import, which
    fails unless the two schemas exist. They are defined here first (no kernel: no policy calls
    them); the ResNet backbones and transforms LeRobot uses are plain Python."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import torch

    try:
        import torchvision  # noqa: F401
    except RuntimeError as err:
        if "torchvision::nms" not in str(err):
            raise
        for module in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[module]
        global _TORCHVISION_OPS
        _TORCHVISION_OPS = torch.library.Library("torchvision", "DEF")  # kept alive: the schemas live with it
        for op in ("nms", "qnms"):
            _TORCHVISION_OPS.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import torchvision  # noqa: F401
    from lerobot.policies import factory

    return factory


_TORCHVISION_OPS = None


class LeRobotPolicy:
    """The policy protocol over a LeRobot pretrained policy and its processors (runs in a worker)."""

    def __init__(self, folder: Path, threads: int = 1):
        import torch

        torch.set_num_threads(threads)
        config_json = read_lerobot_config(folder)
        self.cameras, self.image_size, self.state_size = input_plan(config_json)
        self.action_size = action_size(config_json)
        factory = import_lerobot()
        from lerobot.configs.policies import PreTrainedConfig

        try:
            config = PreTrainedConfig.from_pretrained(folder)
        except BaseException as err:  # draccus exits on a bad field
            raise SubmissionError(f"{folder / CONFIG_FILE}: LeRobot cannot parse it ({_said(err)})") from None
        config.device = "cpu"
        if hasattr(config, "pretrained_backbone_weights"):
            config.pretrained_backbone_weights = None  # every backbone weight is in the safetensors
        policy_class = factory.get_policy_class(config.type)
        try:
            self.policy = policy_class.from_pretrained(folder, config=config, strict=True)
        except RuntimeError as err:  # safetensors' missing/unexpected keys, wrong shapes
            where = folder / WEIGHTS_FILE
            raise SubmissionError(f"{where}: does not fit its config.json ({_said(err)})") from None
        overrides = {}
        if _has_step(folder / PROCESSOR_FILES[0], "device_processor"):
            overrides["device_processor"] = {"device": "cpu"}
        self.preprocess, self.postprocess = factory.make_pre_post_processors(
            config, pretrained_path=str(folder), preprocessor_overrides=overrides
        )
        self.instruction = ""

    def reset(self, instruction: str) -> None:
        self.policy.reset()
        self.preprocess.reset()
        self.postprocess.reset()
        self.instruction = instruction

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        import torch

        batch = self.batch(observation)
        with torch.inference_mode():
            action = self.postprocess(self.policy.select_action(self.preprocess(batch)))
        return action.reshape(-1).to(torch.float32).numpy()

    def batch(self, observation: dict[str, Any]) -> dict[str, Any]:
        """Our observation as the policy's unbatched input features; a missing camera or a wrong
        size is one :class:`PolicyError` naming the feature."""
        import torch

        images = observation.get("images") or {}
        batch: dict[str, Any] = {}
        for feature, camera in self.cameras.items():
            if camera not in images:
                raise PolicyError(
                    f"{feature}: the observation has no camera {camera!r} "
                    f"(it has: {', '.join(images) or 'none'})"
                )
            image = np.asarray(images[camera])
            width, height = self.image_size
            if image.shape != (height, width, 3):
                raise PolicyError(
                    f"{feature}: the policy wants {height}×{width}×3 images of camera {camera!r}, "
                    f"got {image.shape}"
                )
            batch[feature] = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float() / 255.0
        if self.state_size is not None:
            state = np.asarray(observation.get("state", ()), dtype=np.float32).reshape(-1)
            if state.size < self.state_size:
                raise PolicyError(f"{STATE}: the policy wants {self.state_size} numbers, got {state.size}")
            batch[STATE] = torch.from_numpy(state[: self.state_size].copy())
        batch["task"] = observation.get("instruction", self.instruction)
        return batch


def _has_step(file: Path, registry_name: str) -> bool:
    try:
        steps = json.loads(file.read_bytes()).get("steps", [])
    except (OSError, ValueError, AttributeError):
        return False
    return any(isinstance(s, dict) and s.get("registry_name") == registry_name for s in steps)


def _said(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 300 else text[:299] + "…"
