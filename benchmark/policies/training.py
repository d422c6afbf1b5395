"""Baseline policies by behaviour cloning: demonstrations collected from the vision expert in a
twin, and the built-in architectures of :mod:`benchmark.policies.architectures` fitted to them.

Demonstrations are episode folders written by :func:`benchmark.episodes.episode.run_episode`: step ``t``
pairs ``state[t]`` (and frame ``t`` of the camera's video) with ``actions[t]``. Training regresses
the standardised action (mean squared error, Adam with a cosine schedule); ``image_cnn`` also
sees each image shifted by a few pixels at random. Idle steps (the expert waiting: no motion and
no change of gripper command) are left out by default: a deterministic policy that learns to wait
in a state it has not left yet waits there for ever. The few steps where the gripper command
switches (one close and one open per pick) may weigh more (``switch_weight``): an unweighted fit
averages the decision away, and the policy hovers at the grasp with its fingers open. A seed
fixes initialisation and batches, and training runs on ``threads`` CPU threads, so the same seed
gives the same weights.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.errors import TrainingDataError
from benchmark.policies.architectures import (
    ARCHITECTURES,
    STATE_DIM,
    ArchitectureConfig,
    build_model,
    command_track,
    save_weights,
)
from benchmark.policies.protocol import ACTION_SPACE_DIMS

Progress = Callable[[dict[str, Any]], None]
DEFAULT_EPOCHS = {"state_mlp": 150, "image_cnn": 45}
TRAINING_FILE = "training.json"


@dataclass(frozen=True)
class Demonstrations:
    """Step-aligned training pairs from one or more episodes."""

    states: np.ndarray  # [N, 15] float32
    actions: np.ndarray  # [N, A] float32
    images: np.ndarray | None  # [N, H, W, 3] uint8, or None without a camera
    action_space: str
    camera: str | None
    episodes: int
    control_hz: float | None
    chunks: np.ndarray | None = None  # [N, C, A]: each step's next C actions (the last repeated)
    commands: np.ndarray | None = None  # [N, 7]: the command input of each step (ee_delta only)
    objects: np.ndarray | None = None  # [N, K*5]: object poses (object_poses), where recorded
    second_images: np.ndarray | None = None  # [N, H, W, 3] uint8 of the second camera, if asked
    switches: np.ndarray | None = None  # [N] bool: the gripper command differs from the step before

    def image_streams(self) -> list[np.ndarray]:
        """The images of each camera read, in order (none without a camera)."""
        return [i for i in (self.images, self.second_images) if i is not None]

    def inputs(self, command_input: bool) -> np.ndarray:
        """The network's input beside the image: the state, followed by the command if asked."""
        if not command_input:
            return self.states
        if self.commands is None:
            raise TrainingDataError(f"command_input needs ee_delta demonstrations, not {self.action_space}")
        return np.concatenate([self.states, self.commands], axis=1)


@dataclass(frozen=True)
class TrainSettings:
    """Hyper-parameters of :func:`train_baseline`."""

    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    hidden: tuple[int, ...] = (256, 256)
    channels: tuple[int, ...] = (16, 32, 32)
    shift: int = 4  # pixels of random-shift augmentation (image_cnn)
    colour: float = 0.0  # brightness, contrast and per-channel gain jitter (fraction; image_cnn)
    pixel_noise: float = 0.0  # std of Gaussian noise added to each pixel (8-bit levels; image_cnn)
    objects: float = 0.0  # weight of the auxiliary loss: object poses from the keypoints (image_cnn)
    switch_weight: float = 1.0  # loss weight of the steps where the gripper command switches (see fit)
    command_input: bool = False  # also read the integrated command (see architectures)
    second_camera: str | None = None  # image_cnn: a second image stream, e.g. robot/wrist
    chunk: int = 1  # actions predicted from each observation (see architectures)
    horizon: int | None = None  # of them played open loop (None: all)
    drop_idle: bool = True  # leave out steps that change nothing (see idle_steps)
    binary_gripper: bool = True  # see benchmark.policies.architectures
    threads: int = 1


# -- demonstrations ------------------------------------------------------------------------------
def episode_record(folder: Path) -> dict[str, Any]:
    """``episode.json`` of an episode folder, with the fields training reads."""
    path = Path(folder) / "episode.json"
    try:
        record = json.loads(path.read_text())
        _ = record["outcome"]["success"], record["scenario"]["config"]["action_space"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise TrainingDataError(f"{path}: not a readable episode record ({err!r})") from None
    return record


def episode_folders(root: str | Path, successful_only: bool = True) -> list[Path]:
    """The episode folders under ``root`` in name order (the successful ones by default)."""
    found = sorted(p.parent for p in Path(root).glob("*/episode.json"))
    if successful_only:
        found = [p for p in found if episode_record(p)["outcome"]["success"]]
    return found


def recorded_cameras(folder: str | Path) -> list[str]:
    """The static cameras recorded in an episode folder, from its video names (the wrist camera's
    ``robot_wrist.mp4`` is left out: its name, ``robot/wrist``, does not survive as a file name),
    or the one camera of a ``demo_*.npz`` file."""
    if str(folder).endswith(".npz"):
        with np.load(folder, allow_pickle=False) as data:
            return [str(data["camera"])] if "camera" in data else ["front"]
    return sorted(p.stem for p in Path(folder).glob("*.mp4") if not p.stem.startswith("robot_"))


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """T×H×W×3 uint8 frames at ``size`` (width, height), bilinear with antialiasing."""
    from PIL import Image

    w, h = size
    if frames.shape[1:3] == (h, w):
        return frames
    resample = Image.Resampling.BILINEAR
    return np.stack([np.asarray(Image.fromarray(f).resize((w, h), resample)) for f in frames])


def idle_steps(actions: np.ndarray, action_space: str) -> np.ndarray:
    """Steps [T] that change nothing: ``ee_delta`` with no motion and the gripper command of the
    step before; ``joint_position`` with the targets of the step before. The first step is kept."""
    actions = np.asarray(actions)
    previous = np.r_[actions[:1] * np.nan, actions[:-1]]
    if action_space == "ee_delta":
        return np.all(actions[:, :6] == 0, axis=1) & (actions[:, 6] == previous[:, 6])
    return np.all(actions == previous, axis=1)


def _episode(folder: Path, camera: str | None, image_size: tuple[int, int] | None, second: str | None = None):
    record = episode_record(folder)
    config = record["scenario"]["config"]
    path = folder / "trajectory.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            actions = np.asarray(data["actions"], dtype=np.float32)
            states = np.asarray(data["state"], dtype=np.float32)
    except (OSError, KeyError, ValueError) as err:
        raise TrainingDataError(f"{path}: not a readable trajectory ({err})") from None
    steps = len(actions)
    dim = ACTION_SPACE_DIMS.get(config["action_space"])
    if actions.shape != (steps, dim) or steps == 0 or states.shape != (steps + 1, STATE_DIM):
        raise TrainingDataError(
            f"{path}: expected actions [T, {dim}] with T ≥ 1 and state [T+1, {STATE_DIM}], "
            f"got {actions.shape} and {states.shape}"
        )
    images = [_video(folder, c, config, steps, image_size) for c in (camera, second) if c is not None]
    return states[:steps], actions, images, config, actions, None


def _video(folder: Path, camera: str, config: dict, steps: int, image_size: tuple[int, int] | None):
    """The first ``steps`` frames of ``camera``'s video in an episode folder, at ``image_size``."""
    from twin.video import VideoError, read_mp4

    video = folder / f"{camera.replace('/', '_')}.mp4"
    try:
        frames = read_mp4(video)
    except VideoError as err:
        raise TrainingDataError(str(err)) from None
    w, h = config["image_size"]
    frames = frames[:, :h, :w]  # the encoder pads odd sizes to even ones
    if len(frames) != steps + 1:
        raise TrainingDataError(f"{video}: {len(frames)} frames for {steps + 1} observations")
    return resize_frames(frames[:steps], tuple(image_size or (w, h)))


def load_demonstrations(
    folders: Sequence[str | Path],
    camera: str | None = None,
    image_size: tuple[int, int] | None = None,
    drop_idle: bool = True,
    chunk: int = 1,
    second_camera: str | None = None,
) -> Demonstrations:
    """Training pairs from episode folders: ``state[t]`` (and frame ``t`` of ``camera``'s video,
    resized to ``image_size`` (width, height) when given) with ``actions[t]``, without the
    :func:`idle_steps` when ``drop_idle``. Demonstrations are episode folders or the
    ``demo_*.npz`` files of :func:`record_demonstrations`. With ``chunk`` > 1, ``chunks`` holds
    each kept step's next ``chunk`` actions of its episode (idle ones included). With ``ee_delta``
    actions, ``commands`` holds each kept step's command input (:func:`command_track` of the
    actions executed: a demonstration file's ``executed``, an episode folder's ``actions``).
    ``second_camera`` fills ``second_images`` (a demonstration file holds only the wrist camera's,
    :data:`WRIST`)."""
    if not folders:
        raise TrainingDataError("no demonstrations to load")
    parts = [
        _demo_file(Path(f), image_size, second_camera)
        if str(f).endswith(".npz")
        else _episode(Path(f), camera, image_size, second_camera)
        for f in folders
    ]
    spaces = {p[3]["action_space"] for p in parts}
    rates = {p[3].get("control_hz") for p in parts}
    if len(spaces) > 1 or len(rates) > 1:
        raise TrainingDataError(f"demonstrations mix action spaces {spaces} or control rates {rates}")
    space = spaces.pop()
    keep = [~idle_steps(p[1], space) if drop_idle else np.ones(len(p[1]), dtype=bool) for p in parts]
    return Demonstrations(
        states=np.concatenate([p[0][k] for p, k in zip(parts, keep, strict=True)]),
        actions=np.concatenate([p[1][k] for p, k in zip(parts, keep, strict=True)]),
        images=None
        if camera is None
        else np.concatenate([p[2][0][k] for p, k in zip(parts, keep, strict=True)]),
        second_images=None
        if second_camera is None
        else np.concatenate([p[2][-1][k] for p, k in zip(parts, keep, strict=True)]),
        action_space=space,
        camera=camera,
        episodes=len(parts),
        control_hz=rates.pop(),
        chunks=np.concatenate([action_chunks(p[1], chunk)[k] for p, k in zip(parts, keep, strict=True)]),
        commands=None
        if space != "ee_delta"
        else np.concatenate([command_track(p[0], p[4])[k] for p, k in zip(parts, keep, strict=True)]),
        switches=np.concatenate([gripper_switches(p[1])[k] for p, k in zip(parts, keep, strict=True)]),
        objects=None
        if any(p[5] is None for p in parts) or len({p[5].shape[1] for p in parts}) > 1
        else np.concatenate([p[5][k] for p, k in zip(parts, keep, strict=True)]),
    )


def gripper_switches(actions: np.ndarray) -> np.ndarray:
    """[T] bool: steps whose gripper command (the last number) differs from the step before (the
    first step: from open, 0)."""
    gripper = np.asarray(actions)[:, -1]
    return gripper != np.r_[0.0, gripper[:-1]]


def action_chunks(actions: np.ndarray, chunk: int) -> np.ndarray:
    """[T, chunk, A]: for each step t the actions t … t+chunk-1, the episode's last one repeated
    past its end."""
    index = np.minimum(np.arange(len(actions))[:, None] + np.arange(chunk)[None], len(actions) - 1)
    return np.asarray(actions)[index]


def collect_demonstrations(
    twin,
    out_root: str | Path,
    episodes: int,
    seed: int = 0,
    perturb: Sequence[str] = ("object_placement=0.5",),
    image_size: tuple[int, int] = (128, 128),
    render: str = "mesh",
    progress: Progress | None = None,
    noise: float = 0.0,
) -> dict[str, Any]:
    """Run the vision expert in ``twin`` for seeds ``seed … seed+episodes-1`` and write episode
    folders ``out_root/episode_NNNNNN``. ``perturb`` varies the start between seeds (at level 0
    every seed starts alike). ``noise`` (m per step) perturbs the expert's moves, which it corrects
    on the following steps (in the tray_pick twin, 0.005 made image_cnn worse, not better).
    Returns the folders, and which succeeded (the training data)."""
    from benchmark.episodes.env import EnvConfig, TwinEnv
    from benchmark.episodes.episode import run_episode
    from benchmark.perturbations.axes import parse_perturbation
    from benchmark.policies.builtin import builtin_policy

    start = time.perf_counter()
    config = EnvConfig(
        image_size=tuple(image_size),
        render=render,
        perturbations=tuple(parse_perturbation(p) for p in perturb),
    )
    env = TwinEnv(twin, config)
    folders, successful = [], []
    try:
        expert = builtin_policy("vision-expert", env, seed, noise)
        for i in range(episodes):
            folder = Path(out_root) / f"episode_{i:06d}"
            outcome = run_episode(env, expert, seed + i, out=folder)
            folders.append(str(folder))
            if outcome.success:
                successful.append(str(folder))
            if progress:
                progress(
                    {"episode": i + 1, "episodes": episodes, "seed": seed + i, "success": outcome.success}
                )
    finally:
        env.close()
    return {
        "episodes": episodes,
        "successes": len(successful),
        "folders": folders,
        "successful": successful,
        "seconds": round(time.perf_counter() - start, 1),
    }


# -- demonstrations with noise injection (DART) ----------------------------------------------------
DEMO_PREFIX = "demo_"
TCP = slice(8, 11)  # the TCP position in the state
WRIST = "robot/wrist"  # the wrist camera's name in an observation (twin.scene.builder.ROBOT_PREFIX + wrist)


@dataclass(frozen=True)
class CollectSettings:
    """How :func:`record_demonstrations` runs the expert. ``noise`` (m per step) is Gaussian noise
    added to the translation the expert *executes*; the recorded label stays the expert's clean
    action, which corrects the drift on the following steps (DART: the data then shows the way back
    from the states a learned policy drifts into). ``noisy_fraction`` of the episodes get noise,
    the rest are clean. ``image_size`` (width, height) is both the expert's and the recorded
    camera's resolution; ``perturb`` varies the start beyond the seed's own placement."""

    episodes: int = 100
    seed: int = 1000
    noise: float = 0.01
    noisy_fraction: float = 0.75
    image_size: tuple[int, int] = (96, 96)
    camera: str = "front"
    render: str = "mesh"
    perturb: tuple[str, ...] = ()
    wrist: bool = False  # also record the wrist camera (``wrist_images``, at ``image_size``)


def _inject(expert, clean: np.ndarray, rng: np.random.Generator, noise: float, low, high) -> np.ndarray:
    """The action executed instead of ``clean``: its translation moved by Gaussian ``noise``. The
    expert is told (its commanded position moves with it), so its next action steers back."""
    executed = np.asarray(clean, dtype=float).copy()
    executed[:3] = np.clip(executed[:3] + rng.normal(0.0, noise, 3), low[:3], high[:3])
    if hasattr(expert, "cmd_pos"):
        expert.cmd_pos = expert.cmd_pos + (executed[:3] - clean[:3])
    return executed


def record_demonstrations(
    twin, out_root: str | Path, settings: CollectSettings | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Run the vision expert in ``twin`` on seeds ``settings.seed …`` and write one compact file
    per episode, ``out_root/demo_NNNNNN.npz``: ``images`` [T, H, W, 3] uint8 (the camera as the
    policy will see it), ``states`` [T, 15], ``actions`` [T, A] (the expert's clean labels),
    ``executed`` [T, A], ``objects`` [T, K, 5] (:func:`object_poses`, a training target only),
    ``success`` and ``seed``. Returns a summary (also ``collection.json``)."""
    from benchmark.episodes.env import EnvConfig, TwinEnv
    from benchmark.perturbations.axes import parse_perturbation
    from benchmark.policies.builtin import builtin_policy

    settings = settings or CollectSettings()
    start = time.perf_counter()
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    config = EnvConfig(
        image_size=tuple(settings.image_size),
        cameras=(settings.camera,),
        wrist_camera=settings.wrist,
        render=settings.render,
        perturbations=tuple(parse_perturbation(p) for p in settings.perturb),
    )
    env = TwinEnv(twin, config)
    low, high = (np.asarray(b, dtype=float) for b in (env.action_space.low, env.action_space.high))
    successes, steps, noisy_count = 0, 0, 0
    try:
        for i in range(settings.episodes):
            seed = settings.seed + i
            rng = np.random.default_rng([seed, 7])
            noisy = settings.noise > 0 and rng.random() < settings.noisy_fraction
            noisy_count += noisy
            expert = builtin_policy("vision-expert", env, seed)
            obs, info = env.reset(seed=seed)
            expert.reset(obs["instruction"])
            images, states, labels, executed, objects, wrist = [], [], [], [], [], []
            while True:
                objects.append(object_poses(env.scenario.world))
                if settings.wrist:
                    wrist.append(obs["images"][WRIST])
                clean = np.asarray(expert.act(obs), dtype=float)
                action = _inject(expert, clean, rng, settings.noise, low, high) if noisy else clean
                images.append(obs["images"][settings.camera])
                states.append(np.asarray(obs["state"], dtype=np.float32))
                labels.append(clean.astype(np.float32))
                executed.append(action.astype(np.float32))
                obs, _, terminated, truncated, info = env.step(action)
                if terminated or truncated:
                    break
            success = info["termination"] == "success"
            successes += success
            steps += len(labels)
            np.savez_compressed(
                out_root / f"{DEMO_PREFIX}{i:06d}.npz",
                images=np.stack(images),
                states=np.stack(states),
                actions=np.stack(labels),
                executed=np.stack(executed),
                objects=np.stack(objects),
                **({"wrist_images": np.stack(wrist)} if settings.wrist else {}),
                success=np.array(success),
                noisy=np.array(noisy),
                seed=np.array(seed),
                camera=np.array(settings.camera),
                control_hz=np.array(np.nan if env.config.control_hz is None else env.config.control_hz),
            )
            if progress:
                progress({"episode": i + 1, "episodes": settings.episodes, "seed": seed, "success": success})
    finally:
        env.close()
    summary = {
        "episodes": settings.episodes,
        "successes": successes,
        "noisy_episodes": noisy_count,
        "steps": steps,
        "settings": {**dataclasses.asdict(settings), "image_size": list(settings.image_size)},
        "twin": str(twin),
        "seconds": round(time.perf_counter() - start, 1),
    }
    (out_root / "collection.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def object_poses(world) -> np.ndarray:
    """[K, 5]: each object's position (m) and (cos 4ψ, sin 4ψ) of its yaw ψ, objects in name order
    (an auxiliary training target: where things are, which the camera shows)."""
    from twin.transforms import quat_yaw

    poses = world.object_poses()
    return np.array(
        [
            [*poses[n].pos, np.cos(4 * quat_yaw(poses[n].quat)), np.sin(4 * quat_yaw(poses[n].quat))]
            for n in sorted(poses)
        ],
        dtype=np.float32,
    )


def replay_object_poses(
    twin, root: str | Path, image_size: tuple[int, int] = (16, 16), tolerance: float = 0.01
) -> int:
    """Add ``objects`` [T, K, 5] (:func:`object_poses` before each step) to every ``demo_*.npz``
    under ``root`` that lacks it, by replaying its ``executed`` actions from its seed (the
    simulation is deterministic up to the solver's warm start, which contacts may amplify; a
    replay whose TCP departs from the recorded state by more than ``tolerance`` m is an error).
    Returns how many files were rewritten."""
    from benchmark.episodes.env import EnvConfig, TwinEnv

    env = TwinEnv(twin, EnvConfig(image_size=tuple(image_size), render="mesh"))
    done = 0
    try:
        for path in sorted(Path(root).glob(f"{DEMO_PREFIX}*.npz")):
            with np.load(path, allow_pickle=False) as data:
                if "objects" in data.files:
                    continue
                contents = {k: data[k] for k in data.files}
            obs, _ = env.reset(seed=int(contents["seed"]))
            track = []
            for t, action in enumerate(contents["executed"]):
                drift = np.abs(obs["state"][TCP] - contents["states"][t][TCP]).max()
                if drift > tolerance:
                    raise TrainingDataError(
                        f"{path}: the replay departs from the record by {drift * 1000:.1f} mm at step {t}"
                    )
                track.append(object_poses(env.scenario.world))
                obs, *_ = env.step(action)
            np.savez_compressed(path, **contents, objects=np.stack(track))
            done += 1
    finally:
        env.close()
    return done


def demonstration_files(
    root: str | Path, successful_only: bool = True, limit: int | None = None
) -> list[Path]:
    """The ``demo_*.npz`` files under ``root`` in name order (the successful ones by default),
    at most ``limit`` of them."""
    found = sorted(Path(root).glob(f"{DEMO_PREFIX}*.npz"))
    if successful_only:
        found = [p for p in found if bool(_read_npz(p, ("success",))["success"])]
    return found[:limit] if limit is not None else found


def _read_npz(path: Path, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in (*keys, *(k for k in optional if k in data.files))}
    except (OSError, KeyError, ValueError) as err:
        raise TrainingDataError(f"{path}: not a readable demonstration file ({err})") from None


def _demo_file(path: Path, image_size: tuple[int, int] | None, second: str | None = None):
    if second not in (None, WRIST):
        raise TrainingDataError(f"{path}: a demonstration file holds no camera {second!r} (only {WRIST})")
    optional = ("executed", "objects", "wrist_images")
    data = _read_npz(path, ("images", "states", "actions", "control_hz"), optional=optional)
    if second is not None and "wrist_images" not in data:
        raise TrainingDataError(f"{path}: recorded without the wrist camera (CollectSettings.wrist)")
    executed = data.get("executed", data["actions"])
    steps = len(data["actions"])
    objects = data["objects"].reshape(steps, -1).astype(np.float32) if "objects" in data else None
    if data["states"].shape != (steps, STATE_DIM) or len(data["images"]) != steps or steps == 0:
        raise TrainingDataError(f"{path}: images, states and actions differ in length or shape")
    images = [data["images"]] + ([data["wrist_images"]] if second is not None else [])
    if image_size is not None:
        images = [resize_frames(i, tuple(image_size)) for i in images]
    hz = float(data["control_hz"])
    config = {"action_space": "ee_delta", "control_hz": None if np.isnan(hz) else hz}
    actions = data["actions"].astype(np.float32)
    return data["states"].astype(np.float32), actions, images, config, executed.astype(np.float32), objects


# -- training ------------------------------------------------------------------------------------
def standardisation(values: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation, the deviation at least ``floor``."""
    values = np.asarray(values, dtype=np.float64)
    return values.mean(axis=0), np.maximum(values.std(axis=0), floor)


def random_shift(images, pad: int, generator):
    """Each uint8 image [B, H, W, 3] moved by up to ``pad`` pixels each way (edges repeated)."""
    if pad <= 0:
        return images
    b, h, w, _ = images.shape
    padded = torch.nn.functional.pad(images.permute(0, 3, 1, 2).float(), (pad,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * pad + 1, (b, 2), generator=generator).tolist()
    crops = [padded[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offsets)]
    return torch.stack(crops).permute(0, 2, 3, 1).to(images.dtype)


def colour_jitter(images, amount: float, generator):
    """Each uint8 image [B, H, W, 3] with its brightness, contrast and channel gains moved by up
    to ``amount`` (a fraction), as float pixels in 0…255."""
    if amount <= 0:
        return images
    b = len(images)

    def draw(*shape):
        return 1.0 + amount * (2 * torch.rand(shape, generator=generator) - 1)

    pixels = images.float()
    mean = pixels.mean(dim=(1, 2, 3), keepdim=True)
    pixels = (pixels - mean) * draw(b, 1, 1, 1) + mean  # contrast
    pixels = pixels * draw(b, 1, 1, 1) * draw(b, 1, 1, 3)  # brightness, white balance
    return pixels.clamp(0, 255)


def _augmented(images, settings: TrainSettings, generator):
    """A batch of uint8 images [B, H, W, 3] shifted, colour-jittered and noised as ``settings`` say."""
    image = random_shift(images, settings.shift, generator)
    image = colour_jitter(image, settings.colour, generator)
    if settings.pixel_noise > 0:
        noise = torch.randn(image.shape, generator=generator) * settings.pixel_noise
        image = (image.float() + noise).clamp(0, 255)
    return image


def fit(
    model,
    data: Demonstrations,
    settings: TrainSettings,
    epochs: int,
    seed: int,
    progress=None,
    on_epoch: Callable[[int, list], None] | None = None,
) -> list:
    """Fit ``model`` to ``data`` in place; return the mean loss of every epoch. ``on_epoch(epoch,
    losses)`` is called after each epoch (1-based) with the model in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    states = torch.from_numpy(data.inputs(settings.command_input))
    labels = data.actions[:, None] if data.chunks is None else data.chunks[:, : settings.chunk]
    if labels.shape[1] != settings.chunk:
        raise TrainingDataError(
            f"demonstrations hold chunks of {labels.shape[1]}, training wants {settings.chunk}"
        )
    standard = (labels - model.action_mean.numpy()) / model.action_std.numpy()
    targets = torch.from_numpy(standard.reshape(len(labels), -1)).float()
    streams = [torch.from_numpy(i) for i in data.image_streams()]
    n = len(states)
    weights = torch.ones(n)
    if settings.switch_weight != 1.0 and data.switches is not None:
        weights[torch.from_numpy(data.switches)] = settings.switch_weight
    batches = max(1, -(-n // settings.batch_size))
    auxiliary, poses = _auxiliary(model, data, settings)
    parameters = [*model.parameters(), *(auxiliary.parameters() if auxiliary is not None else ())]
    optimiser = torch.optim.AdamW(parameters, settings.learning_rate, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs * batches)
    losses = []
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for b in range(batches):
            index = order[b * settings.batch_size : (b + 1) * settings.batch_size]
            image = [_augmented(images[index], settings, generator) for images in streams] or None
            w = weights[index, None] / weights[index].mean()
            if auxiliary is None:
                loss = torch.mean(w * (model(states[index], image) - targets[index]) ** 2)
            else:
                points = model.keypoints(image)
                loss = torch.mean(w * (model.decide(points, states[index]) - targets[index]) ** 2)
                loss = loss + settings.objects * torch.mean((auxiliary(points) - poses[index]) ** 2)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(index)
        losses.append(total / n)
        if progress:
            progress({"epoch": epoch + 1, "epochs": epochs, "loss": losses[-1]})
        if on_epoch:
            model.eval()
            on_epoch(epoch + 1, losses)
            model.train()
    model.eval()
    return losses


def _auxiliary(model, data: Demonstrations, settings: TrainSettings):
    """(head, standardised targets) of the auxiliary object-pose loss, or (None, None) when it is
    off. The head is a linear map from the keypoints, used in training only (never saved): it
    makes the encoder find the objects, which the action loss alone teaches slowly."""
    if settings.objects <= 0:
        return None, None
    if data.objects is None or not hasattr(model, "keypoints"):
        raise TrainingDataError("the object-pose loss needs image_cnn and demonstrations with objects")
    mean, std = standardisation(data.objects, 1e-3)
    poses = torch.from_numpy(((data.objects - mean) / std).astype(np.float32))
    inputs = model.head[0].in_features - len(model.state_mean)
    return torch.nn.Linear(inputs, poses.shape[1]), poses


def train_baseline(
    episode_folders: Sequence[str | Path],
    architecture: str,
    out_folder: str | Path,
    epochs: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    camera: str | None = None,
    image_size: tuple[int, int] | None = None,
    settings: TrainSettings | None = None,
    snapshots: dict[int, str | Path] | None = None,
) -> dict[str, Any]:
    """Behaviour-clone ``architecture`` (``state_mlp`` or ``image_cnn``) on the episodes and save
    a weights submission into ``out_folder`` (with ``training.json``, a record of the run).
    ``snapshots`` {epoch: folder} also saves the network as it stood after those epochs (the
    same run: graded training budgets for the price of the longest).

    ``image_cnn`` reads ``camera`` (default: the first recorded video) at ``image_size``
    (default: as recorded). Returns the summary that ``training.json`` holds.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; built-in ones: {', '.join(ARCHITECTURES)}")
    start = time.perf_counter()
    settings = settings or TrainSettings()
    epochs = epochs or DEFAULT_EPOCHS[architecture]
    folders = [Path(f) for f in episode_folders]
    if architecture == "image_cnn":
        if not folders:
            raise TrainingDataError("no demonstrations to train on")
        camera = camera or next(iter(recorded_cameras(folders[0])), None)
        if camera is None:
            raise TrainingDataError(f"{folders[0]}: no camera video to train image_cnn on")
    else:
        camera = None
    second = settings.second_camera if architecture == "image_cnn" else None
    data = load_demonstrations(folders, camera, image_size, settings.drop_idle, settings.chunk, second)
    if image_size is None:
        image_size = (data.images.shape[2], data.images.shape[1]) if data.images is not None else (96, 96)
    config = ArchitectureConfig(
        architecture=architecture,
        action_space=data.action_space,
        hidden=tuple(settings.hidden),
        camera=camera,
        second_camera=second,
        image_size=(int(image_size[0]), int(image_size[1])),
        channels=tuple(settings.channels),
        control_hz=data.control_hz,
        binary_gripper=settings.binary_gripper,
        chunk=settings.chunk,
        horizon=settings.horizon,
        command_input=settings.command_input,
    )
    roots = sorted({str(f.parent) for f in folders})

    def save(folder: str | Path, epoch: int, losses: list) -> dict[str, Any]:
        save_weights(model, config, folder)
        summary = {
            "architecture": architecture,
            "out": str(folder),
            "episodes": data.episodes,
            "samples": len(data.states),
            "camera": camera,
            "image_size": list(config.image_size),
            "epochs": epoch,
            "of_epochs": epochs,
            "seed": seed,
            "settings": dataclasses.asdict(settings),
            "first_loss": losses[0],
            "final_loss": losses[-1],
            "losses": [round(v, 6) for v in losses],
            "seconds": round(time.perf_counter() - start, 1),
            "threads": settings.threads,
            "demonstration_roots": roots,
            "demonstrations": [f.name if len(roots) == 1 else str(f) for f in folders],
        }
        (Path(folder) / TRAINING_FILE).write_text(json.dumps(summary, indent=1) + "\n")
        return summary

    def on_epoch(epoch: int, losses: list) -> None:
        if snapshots and epoch in snapshots and epoch != epochs:
            save(snapshots[epoch], epoch, losses)

    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_model(config)
            for name, (mean, std) in {
                "state": standardisation(data.inputs(settings.command_input), 1e-2),
                "action": standardisation(data.actions, 1e-3),
            }.items():
                getattr(model, f"{name}_mean").copy_(torch.from_numpy(mean))
                getattr(model, f"{name}_std").copy_(torch.from_numpy(std))
            losses = fit(model, data, settings, epochs, seed, progress, on_epoch)
    finally:
        torch.set_num_threads(threads)
    return save(out_folder, epochs, losses)
