"""The state judge: the simulator's own verdict on an episode, read from its final state.

An episode's outcome (:class:`benchmark.episodes.episode.Outcome` as a dict) already says
whether the task succeeded and how far it got; the state judge scores it with that progress on
the 0–100 scale every episode judge uses, its verdict of success beside it. The evaluator passes
the judgment to :meth:`benchmark.store.Store.add_episode`, which writes it as it is given.

In the judges' standings (:mod:`benchmark.judges.standings`) the state judge ranks success
first, then progress: a success outranks any failure however far it got.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmark.store.judgments import EpisodeJudgment

STATE_JUDGE = "state"


def judge_state(outcome: Mapping[str, Any]) -> EpisodeJudgment:
    """The state judge's judgment of an episode from its outcome (``success``, ``progress`` and
    ``termination``): score ``100 * progress``, success as the simulator found it, the termination
    reason as detail."""
    return EpisodeJudgment(
        judge=STATE_JUDGE,
        score=100.0 * float(outcome["progress"]),
        success=bool(outcome["success"]),
        detail={"termination": str(outcome["termination"])},
    )
