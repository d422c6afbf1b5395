"""Judges of stored episodes: the simulator state (:mod:`~benchmark.judges.state`), a
vision-language model scoring an episode's progress or comparing two policies' episodes of one
scenario over any OpenAI-compatible endpoint (:mod:`~benchmark.judges.vlm`, with the HTTP client
in :mod:`~benchmark.judges.client`, reply parsing in :mod:`~benchmark.judges.parsing` and frame
sampling in :mod:`~benchmark.judges.frames`; prompts are the versioned files in ``prompts/``),
and people voting blind between two episodes (the rules in :mod:`~benchmark.judges.human`, the
service in :mod:`~benchmark.judges.preferences`). :mod:`~benchmark.judges.standings` turns each
judge's verdicts into Bradley–Terry ratings::

    client = vlm_client_from_env()  # None without $TWINARENA_VLM_MODEL
    summary = judge_episodes(store, client, store.episodes())
    print(summary.message)  # says so when no endpoint is configured

The judges decide; the store (:mod:`benchmark.store`) reads and writes what they decide.
The standings' names load on first use (they need scipy).
"""

import importlib

from benchmark.errors import VlmError
from benchmark.judges.client import (
    NO_ENDPOINT_MESSAGE,
    VlmClient,
    VlmConfig,
    vlm_client_from_env,
    vlm_config_from_env,
)
from benchmark.judges.frames import EpisodeFrames, episode_frames, sample_indices
from benchmark.judges.human import (
    AnnotatorRecord,
    HumanComparison,
    NoPairError,
    PreferenceConfig,
    PreferenceError,
    Standing,
    Ticket,
    VoteRejected,
)
from benchmark.judges.preferences import PreferenceService, active_scorer, human_comparisons
from benchmark.judges.state import STATE_JUDGE, judge_state
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

_STANDINGS = ("fit_and_store", "judge_table", "read_comparisons_csv", "table_from_counts")


def __getattr__(name: str):
    """The standings' names, imported on first use."""
    if name in _STANDINGS:
        value = getattr(importlib.import_module("benchmark.judges.standings"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "NO_ENDPOINT_MESSAGE",
    "STATE_JUDGE",
    "AnnotatorRecord",
    "EpisodeFrames",
    "HumanComparison",
    "JudgeSummary",
    "NoPairError",
    "PairVerdict",
    "PreferenceConfig",
    "PreferenceError",
    "PreferenceService",
    "ProgressVerdict",
    "Standing",
    "Ticket",
    "VlmClient",
    "VlmConfig",
    "VlmError",
    "VoteRejected",
    "active_scorer",
    "episode_frames",
    "episode_score",
    "fit_and_store",
    "human_comparisons",
    "judge_episodes",
    "judge_pair",
    "judge_pairs",
    "judge_progress",
    "judge_state",
    "judge_table",
    "load_prompt",
    "median_curve",
    "read_comparisons_csv",
    "same_scenario_pairs",
    "sample_indices",
    "table_from_counts",
    "vlm_client_from_env",
    "vlm_config_from_env",
]
