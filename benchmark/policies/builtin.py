"""Built-in policies behind the one protocol: ``reset(instruction)`` and ``act(observation)``."""

from __future__ import annotations

import numpy as np

from benchmark.sim.control import ACTION_SPACES


class RandomPolicy:
    """Uniform random actions inside the action space's bounds (a floor for the leaderboard)."""

    def __init__(self, action_space: str = "ee_delta", seed: int = 0):
        self.space = ACTION_SPACES[action_space]
        self.seed = seed

    def reset(self, instruction: str = "") -> None:
        self.rng = np.random.default_rng(self.seed)

    def act(self, observation) -> np.ndarray:
        return self.rng.uniform(self.space.low, self.space.high)


def builtin_policy(name: str, env, seed: int = 0, noise: float = 0.0):
    """A built-in policy for ``env`` by name: ``vision-expert`` (``noise``: std of Gaussian noise
    on its translation, m per step) or ``random``."""
    if name == "vision-expert":
        from benchmark.policies.perception import VisionExpert
        from benchmark.sim.expert import ExpertConfig

        return VisionExpert.calibrated(env, config=ExpertConfig(noise=noise), seed=seed)
    if name == "random":
        return RandomPolicy(env.config.action_space, seed)
    raise ValueError(f"unknown built-in policy {name!r}; expected vision-expert or random")
