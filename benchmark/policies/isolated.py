"""Loading a submission inside its worker process (:mod:`benchmark.policies.worker`); nothing here
runs in the evaluator.

A TorchScript policy's ``forward`` takes ``Dict[str, Tensor]`` (``"state"``: float32 [15];
``"image/<camera>"``: uint8 [H, W, 3]) and returns the action [A] or a chunk [H, A]; an exported
``reset()`` method, if any, is called at the start of each episode.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import PolicyError, SubmissionError
from benchmark.policies.builtin import RandomPolicy

__all__ = ["TorchScriptPolicy", "load_isolated"]


def load_isolated(source: dict[str, Any], threads: int = 1):
    """Load a submission; runs only inside a worker process (:mod:`benchmark.policies.worker`)."""
    kind = source.get("kind")
    if kind == "builtin":
        if source.get("name") != "random":
            raise PolicyError(f"built-in policy {source.get('name')!r} cannot run in a worker")
        return RandomPolicy(source.get("action_space", "ee_delta"), int(source.get("seed", 0)))
    if kind == "entrypoint":
        return _entrypoint(source["entry"], Path(source["code"]))
    import torch

    torch.set_num_threads(threads)
    if kind == "torchscript":
        return TorchScriptPolicy(torch.jit.load(source["path"], map_location="cpu"))
    if kind == "weights":
        from benchmark.policies.architectures import load_weights_policy

        return load_weights_policy(Path(source["path"]))
    if kind == "lerobot":
        from benchmark.policies.lerobot_policy import LeRobotPolicy

        return LeRobotPolicy(Path(source["path"]), threads=threads)
    raise PolicyError(f"unknown source kind {kind!r}")


class TorchScriptPolicy:
    """The policy protocol over a TorchScript module (its inputs: see the module docstring)."""

    def __init__(self, module):
        self.module = module.eval()

    def reset(self, instruction: str) -> None:
        if hasattr(self.module, "reset"):
            self.module.reset()

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        import torch

        inputs = {"state": torch.as_tensor(np.asarray(observation["state"], dtype=np.float32))}
        for name, image in observation["images"].items():
            inputs[f"image/{name}"] = torch.as_tensor(np.asarray(image, dtype=np.uint8))
        with torch.no_grad():
            out = self.module(inputs)
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"forward returned a {type(out).__name__}, not a Tensor")
        return out.detach().cpu().numpy()


def _entrypoint(entry: str, code: Path):
    import importlib
    import sys

    folder = code
    if code.suffix == ".whl":
        folder = Path("wheel")
        _extract_wheel(code, folder)
    sys.path.insert(0, str(folder.resolve()))
    module_name, _, attr = entry.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    policy = target()
    if not callable(getattr(policy, "act", None)):
        raise TypeError(f"{entry}() returned a {type(policy).__name__} without an act(observation) method")
    if not callable(getattr(policy, "reset", None)):
        raise TypeError(f"{entry}() returned a {type(policy).__name__} without a reset(instruction) method")
    return policy


def _extract_wheel(wheel: Path, into: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            target = (into / name).resolve()
            if not target.is_relative_to(into.resolve()):
                raise SubmissionError(f"{wheel}: member {name!r} points outside the wheel")
        archive.extractall(into)
