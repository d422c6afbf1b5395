"""Make a small LeRobot ACT policy folder with the real library, and the actions LeRobot itself
gives for a few observations. Runs in the LeRobot venv (.ci/lerobot-venv.sh), not in the project's.

Usage: python lerobot_act_maker.py OUT WIDTH HEIGHT SEED STEPS [diffusion]

With ``diffusion``: a small Diffusion Policy instead (8-number state, min/max action bounds of
±0.01 on the deltas and [0, 1] on the gripper, 4 denoising steps), without expected.npz.

OUT gets what ``save_pretrained`` writes (config.json, model.safetensors, the processors) and
``expected.npz``: ``images`` [STEPS, H, W, 3] uint8, ``states`` [STEPS, 15], ``actions`` [STEPS, 7],
LeRobot's own answers after ``reset()`` (its env preprocessing, processors and ``select_action``).
Nothing is downloaded: the ResNet backbone starts random (``pretrained_backbone_weights=None``).
The action normaliser keeps the random network's actions small and inside ``ee_delta``'s bounds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmark.policies.lerobot_policy import import_lerobot


def diffusion(out: Path, width: int, height: int, seed: int) -> None:
    factory = import_lerobot()
    import torch
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig
    from lerobot.policies.diffusion.modeling_diffusion import DiffusionPolicy

    torch.manual_seed(seed)
    config = DiffusionConfig(
        input_features={
            "observation.images.front": PolicyFeature(type=FeatureType.VISUAL, shape=(3, height, width)),
            "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(8,)),
        },
        output_features={"action": PolicyFeature(type=FeatureType.ACTION, shape=(7,))},
        n_obs_steps=2,
        horizon=8,
        n_action_steps=4,
        down_dims=(32, 64),
        crop_shape=None,
        num_inference_steps=4,
        pretrained_backbone_weights=None,
        use_group_norm=True,
        device="cpu",
    )
    stats = {
        "observation.images.front": {"mean": torch.full((3, 1, 1), 0.45), "std": torch.full((3, 1, 1), 0.25)},
        "observation.state": {"min": -torch.ones(8), "max": torch.ones(8)},
        "action": {"min": torch.tensor([-0.01] * 6 + [0.0]), "max": torch.tensor([0.01] * 6 + [1.0])},
    }
    pre, post = factory.make_pre_post_processors(config, dataset_stats=stats)
    DiffusionPolicy(config).save_pretrained(out)
    pre.save_pretrained(out)
    post.save_pretrained(out)


def main() -> None:
    out, width, height, seed, steps = Path(sys.argv[1]), *map(int, sys.argv[2:6])
    if sys.argv[6:] == ["diffusion"]:
        diffusion(out, width, height, seed)
        return
    factory = import_lerobot()
    import torch
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.envs.utils import preprocess_observation
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy

    torch.manual_seed(seed)
    config = ACTConfig(
        input_features={
            "observation.images.front": PolicyFeature(type=FeatureType.VISUAL, shape=(3, height, width)),
            "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(15,)),
        },
        output_features={"action": PolicyFeature(type=FeatureType.ACTION, shape=(7,))},
        chunk_size=4,
        n_action_steps=4,
        dim_model=32,
        n_heads=2,
        dim_feedforward=64,
        n_encoder_layers=1,
        n_decoder_layers=1,
        use_vae=False,
        pretrained_backbone_weights=None,
        device="cpu",
    )
    policy = ACTPolicy(config).eval()
    stats = {
        "observation.images.front": {
            "mean": torch.full((3, 1, 1), 0.45),
            "std": torch.full((3, 1, 1), 0.25),
        },
        "observation.state": {"mean": torch.zeros(15), "std": torch.ones(15)},
        "action": {
            "mean": torch.tensor([0, 0, 0, 0, 0, 0, 0.5]),
            "std": torch.tensor([0.004, 0.004, 0.004, 0.02, 0.02, 0.02, 0.05]),
        },
    }
    pre, post = factory.make_pre_post_processors(config, dataset_stats=stats)
    policy.save_pretrained(out)
    pre.save_pretrained(out)
    post.save_pretrained(out)

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (steps, height, width, 3), dtype=np.uint8)
    states = rng.normal(0, 0.5, (steps, 15)).astype(np.float32)
    policy.reset()
    actions = []
    with torch.inference_mode():
        for image, state in zip(images, states, strict=True):
            batch = preprocess_observation({"pixels": {"front": image}, "agent_pos": state[None]})
            batch["task"] = "put the block on the square"
            actions.append(post(policy.select_action(pre(batch))).reshape(-1).numpy())
    np.savez(out / "expected.npz", images=images, states=states, actions=np.stack(actions))


if __name__ == "__main__":
    main()
