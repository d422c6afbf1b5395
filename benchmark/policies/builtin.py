"""Built-in policies behind the one protocol, and the one registry of their names.

A built-in spec is a name with optional query parameters: ``random``, ``vision-expert`` or
``vision-expert?noise=0.02`` (std of Gaussian noise on the expert's translation, m per step).
Built-ins are trusted code and run in the evaluator's process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

import numpy as np

from benchmark.errors import SubmissionError
from benchmark.sim.actions import ACTION_SPACES

__all__ = ["BUILTINS", "Builtin", "RandomPolicy", "builtin_policy", "parse_builtin"]


class RandomPolicy:
    """Uniform random actions inside the action space's bounds (a floor for the leaderboard)."""

    def __init__(self, action_space: str = "ee_delta", seed: int = 0):
        self.space = ACTION_SPACES[action_space]
        self.seed = seed

    def reset(self, instruction: str = "") -> None:
        self.rng = np.random.default_rng(self.seed)

    def act(self, observation) -> np.ndarray:
        return self.rng.uniform(self.space.low, self.space.high)


def _vision_expert(env, seed: int, noise: float = 0.0):
    from benchmark.policies.perception import VisionExpert
    from benchmark.sim.expert import ExpertConfig

    return VisionExpert.calibrated(env, config=ExpertConfig(noise=noise), seed=seed)


def _random(env, seed: int):
    return RandomPolicy(env.config.action_space, seed)


@dataclass(frozen=True)
class Builtin:
    """A built-in policy: its factory ``(env, seed, **params)`` and the parameters it takes."""

    factory: Callable
    params: tuple[str, ...] = ()


BUILTINS: dict[str, Builtin] = {
    "random": Builtin(_random),
    "vision-expert": Builtin(_vision_expert, ("noise",)),
}


def parse_builtin(spec: str) -> tuple[str, dict[str, float]] | None:
    """``"vision-expert?noise=0.02"`` → ``("vision-expert", {"noise": 0.02})``; None if not built-in."""
    name, _, query = spec.partition("?")
    if name not in BUILTINS:
        return None
    known = BUILTINS[name].params
    params: dict[str, float] = {}
    for key, value in parse_qsl(query, strict_parsing=bool(query)):
        if key not in known:
            raise SubmissionError(
                f"built-in policy {name!r} has no parameter {key!r} (known: {', '.join(known) or 'none'})"
            )
        try:
            params[key] = float(value)
        except ValueError:
            raise SubmissionError(f"{spec}: {key} must be a number, not {value!r}") from None
    return name, params


def builtin_policy(name: str, env, seed: int = 0, noise: float = 0.0):
    """A built-in policy for ``env`` by name; ``noise`` goes to those that take it."""
    if name not in BUILTINS:
        raise ValueError(f"unknown built-in policy {name!r}; expected {' or '.join(BUILTINS)}")
    entry = BUILTINS[name]
    return entry.factory(env, seed, **({"noise": noise} if "noise" in entry.params else {}))
