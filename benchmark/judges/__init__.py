"""Judges of stored episodes beyond the simulator state: a vision-language model scoring an
episode's progress or comparing two policies' episodes of one scenario, over any OpenAI-compatible
endpoint. :mod:`~benchmark.judges.vlm` holds the judges, :mod:`~benchmark.judges.client` the HTTP
client, :mod:`~benchmark.judges.parsing` reply parsing and :mod:`~benchmark.judges.frames` frame
sampling. Their prompts are the versioned files in ``prompts/``::

    client = vlm_client_from_env()  # None without $TWINARENA_VLM_MODEL
    summary = judge_episodes(store, client, store.episodes())
    print(summary.message)  # says so when no endpoint is configured
"""

from benchmark.errors import VlmError
from benchmark.judges.client import (
    NO_ENDPOINT_MESSAGE,
    VlmClient,
    VlmConfig,
    vlm_client_from_env,
    vlm_config_from_env,
)
from benchmark.judges.frames import EpisodeFrames, episode_frames, sample_indices
from benchmark.judges.vlm import (
    JudgeSummary,
    PairVerdict,
    ProgressVerdict,
    episode_score,
    judge_episodes,
    judge_pair,
    judge_pairs,
    judge_progress,
    load_prompt,
    median_curve,
    same_scenario_pairs,
)

__all__ = [
    "NO_ENDPOINT_MESSAGE",
    "EpisodeFrames",
    "JudgeSummary",
    "PairVerdict",
    "ProgressVerdict",
    "VlmClient",
    "VlmConfig",
    "VlmError",
    "episode_frames",
    "episode_score",
    "judge_episodes",
    "judge_pair",
    "judge_pairs",
    "judge_progress",
    "load_prompt",
    "median_curve",
    "same_scenario_pairs",
    "sample_indices",
    "vlm_client_from_env",
    "vlm_config_from_env",
]
