"""The VLM judges, asked over any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, OpenAI,
Gemini's OpenAI-compatible API).

The **progress judge** shows a vision-language model frames of an episode's video (one per second
of episode time, first and last included, at most ``max_frames`` spread evenly) with the
instruction, and asks for a 0–100 task-progress score per frame. It asks ``repeats`` times, takes
the median curve frame by frame, and scores the episode by the mean of the curve's last 30 %.
The **pairwise judge** shows two episodes of the same scenario as two labelled sequences and asks
which does better: ``a``, ``b`` or ``tie`` (a majority over ``repeats`` asks, by default two with the
sides swapped, so a judge that follows the position rather than the episode yields a tie).

Replies are parsed leniently (:mod:`benchmark.judges.parsing`); the client
(:mod:`benchmark.judges.client`) retries timeouts, 429s, 5xx and malformed replies with backoff
and records tokens, cost and latency; frames come from :mod:`benchmark.judges.frames`.

Judgments are cached by (episode, model, prompt version): an episode that already has one is not
asked again; a pair of episodes likewise in ``comparisons`` (see :func:`judge_pairs`). Prompts are
the versioned files in ``prompts/`` (``progress_v1.md``: version ``progress_v1``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from hashlib import sha256
from importlib import resources
from itertools import combinations
from string import Template
from typing import Any

import numpy as np

from benchmark.errors import StoreError, VlmError
from benchmark.judges.client import NO_ENDPOINT_MESSAGE, Answer, VlmClient, cost_usd
from benchmark.judges.frames import EpisodeFrames, episode_frames
from benchmark.judges.parsing import parse_progress, parse_winner
from benchmark.store import judgments as rows
from benchmark.store.judgments import EpisodeJudgment

PROGRESS_JUDGE, PAIRWISE_JUDGE = "vlm", "vlm-pairwise"
PROGRESS_PROMPT, PAIRWISE_PROMPT = "progress_v1", "pairwise_v1"
SWAPPED = {"a": "b", "b": "a", "tie": "tie"}  # a verdict read with the sides exchanged


# -- prompts -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prompt:
    """A prompt file: its version (the file's stem), text and the text's SHA-256 (recorded with
    each judgment, so an edited file without a new version shows)."""

    version: str
    text: str

    @property
    def sha256(self) -> str:
        return sha256(self.text.encode()).hexdigest()

    def render(self, **values: Any) -> str:
        """The text with its ``$name`` placeholders filled in; a missing value raises KeyError."""
        return Template(self.text).substitute({k: str(v) for k, v in values.items()})


@cache
def load_prompt(version: str) -> Prompt:
    """The prompt ``prompts/<version>.md`` shipped with this package."""
    file = resources.files("benchmark.judges") / "prompts" / f"{version}.md"
    if not file.is_file():
        known = sorted(p.name[:-3] for p in (resources.files("benchmark.judges") / "prompts").iterdir())
        raise ValueError(f"no prompt {version!r} in benchmark/judges/prompts (prompts: {', '.join(known)})")
    return Prompt(version, file.read_text(encoding="utf-8"))


# -- the math ------------------------------------------------------------------------------------
def median_curve(curves: Sequence[Sequence[float]]) -> list[float]:
    """The frame-by-frame median of equally long score curves (one per repeat)."""
    if not curves or len({len(c) for c in curves}) != 1 or not curves[0]:
        raise ValueError(
            f"need one or more non-empty curves of equal length, got lengths {[len(c) for c in curves]}"
        )
    return [float(v) for v in np.median(np.asarray(curves, dtype=float), axis=0)]


def tail_length(n: int, tail: float = 0.3) -> int:
    """How many of ``n`` points the last ``tail`` fraction holds: rounded up, at least one."""
    if not 0 < tail <= 1:
        raise ValueError(f"tail must be in (0, 1], got {tail}")
    return min(n, max(1, math.ceil(round(tail * n, 9))))


def episode_score(curve: Sequence[float], tail: float = 0.3) -> float:
    """An episode's score: the mean of the last ``tail`` fraction of its (median) progress curve."""
    if not curve:
        raise ValueError("an empty progress curve has no score")
    return float(np.mean(curve[-tail_length(len(curve), tail) :]))


def majority(winners: Sequence[str]) -> str:
    """The winner most answers name; ``tie`` when two are named equally often."""
    ranked = Counter(winners).most_common()
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return "tie"
    return ranked[0][0]


# -- the judges, without the store ---------------------------------------------------------------
def _image_parts(frames: EpisodeFrames, label: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for n, (t, url) in enumerate(zip(frames.times, frames.images, strict=True), start=1):
        parts.append({"type": "text", "text": f"{label}frame {n} (t = {t:.1f} s):"})
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts


@dataclass(frozen=True)
class ProgressVerdict:
    """The progress judge's verdict on one episode: its score (0–100), the median curve and each
    repeat's curve and reasoning, with cost (None without prices or usage) and latency."""

    score: float
    curve: tuple[float, ...]
    curves: tuple[tuple[float, ...], ...]
    reasoning: tuple[str, ...]
    clamped: int
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_s: float


@dataclass(frozen=True)
class PairVerdict:
    """The pairwise judge's verdict: ``a``, ``b`` or ``tie``, the reason given with the first
    answer that names it, each repeat's winner, cost and latency."""

    winner: str
    reason: str
    votes: tuple[str, ...]
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_s: float


def _totals(client: VlmClient, answers: Sequence[Answer]) -> dict[str, Any]:
    tokens_in = sum(a.prompt_tokens for a in answers)
    tokens_out = sum(a.completion_tokens for a in answers)
    cost = cost_usd(tokens_in, tokens_out, client.config.price_in, client.config.price_out)
    return {
        "attempts": sum(a.attempts for a in answers),
        "prompt_tokens": tokens_in,
        "completion_tokens": tokens_out,
        "cost_usd": cost if all(a.usage_complete for a in answers) else None,
        "latency_s": sum(a.seconds for a in answers),
    }


def judge_progress(
    client: VlmClient,
    frames: EpisodeFrames,
    repeats: int = 3,
    tail: float = 0.3,
    prompt: Prompt | None = None,
) -> ProgressVerdict:
    """Ask for the frames' progress scores ``repeats`` times; score the median curve."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    prompt = prompt or load_prompt(PROGRESS_PROMPT)
    n = len(frames.images)
    text = prompt.render(
        instruction=frames.instruction, n_frames=n, times=", ".join(f"{t:.1f}" for t in frames.times)
    )
    content = [{"type": "text", "text": text}, *_image_parts(frames, "")]
    answers = [client.ask(content, lambda reply: parse_progress(reply, n)) for _ in range(repeats)]
    curves = tuple(a.value.scores for a in answers)
    curve = median_curve(curves)
    return ProgressVerdict(
        score=episode_score(curve, tail),
        curve=tuple(curve),
        curves=curves,
        reasoning=tuple(a.value.reasoning for a in answers),
        clamped=sum(a.value.clamped for a in answers),
        **_totals(client, answers),
    )


def judge_pair(
    client: VlmClient, a: EpisodeFrames, b: EpisodeFrames, repeats: int = 2, prompt: Prompt | None = None
) -> PairVerdict:
    """Ask which of two episodes of the same scenario does better, ``repeats`` times, showing
    ``b`` first on every second ask (VLMs favour a position); each answer is mapped back to the
    caller's ``a``/``b`` and the majority wins (no majority, e.g. two asks that follow the position
    rather than the episode: tie)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    prompt = prompt or load_prompt(PAIRWISE_PROMPT)
    text = prompt.render(instruction=a.instruction, n_frames_a=len(a.images), n_frames_b=len(b.images))

    def content(first: EpisodeFrames, second: EpisodeFrames) -> list[dict[str, Any]]:
        return [
            {"type": "text", "text": text},
            {"type": "text", "text": "Episode A:"},
            *_image_parts(first, "Episode A, "),
            {"type": "text", "text": "Episode B:"},
            *_image_parts(second, "Episode B, "),
        ]

    asks = (content(a, b), content(b, a))  # every second ask shows b first
    answers = [client.ask(asks[k % 2], parse_winner) for k in range(repeats)]
    votes = tuple(SWAPPED[x.value.winner] if k % 2 else x.value.winner for k, x in enumerate(answers))
    winner = majority(votes)
    reason = next((x.value.reason for x, v in zip(answers, votes, strict=True) if v == winner), None)
    if reason is None:  # a tie by split votes
        reason = f"no majority over the asks, sides swapped every second ask ({', '.join(votes)}): "
        reason += answers[0].value.reason
    return PairVerdict(winner, reason, votes, **_totals(client, answers))


# -- the store shell -----------------------------------------------------------------------------
@dataclass
class JudgeSummary:
    """What a run of a judge did: how many episodes (or pairs) it judged, found already judged
    (``cached``) or could not judge (``failed``: id and why), its total cost (None when some
    judgment has none) and seconds asking; ``message`` says it in a line."""

    judge: str
    model: str = ""
    prompt_version: str = ""
    judged: int = 0
    cached: int = 0
    failed: list[tuple[Any, str]] = field(default_factory=list)
    cost_usd: float | None = 0.0
    latency_s: float = 0.0
    skipped: str = ""  # why nothing ran (no endpoint configured)

    @property
    def message(self) -> str:
        if self.skipped:
            return self.skipped
        cost = "cost unknown" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        failed = f", {len(self.failed)} failed" if self.failed else ""
        return (
            f"{self.judge} judge ({self.model}, {self.prompt_version}): {self.judged} judged, "
            f"{self.cached} already judged{failed}; {cost}, {self.latency_s:.1f} s asking"
        )

    def _add(self, cost: float | None, latency: float) -> None:
        self.judged += 1
        self.cost_usd = None if cost is None or self.cost_usd is None else self.cost_usd + cost
        self.latency_s += latency


def _id(episode: Any) -> int:
    return int(getattr(episode, "id", episode))


def judge_episodes(
    store,
    client: VlmClient | None,
    episodes: Iterable[Any],
    repeats: int = 3,
    progress: Callable[[int, int], None] | None = None,
    *,
    camera: str | None = None,
    per_second: float = 1.0,
    max_frames: int = 16,
    tail: float = 0.3,
    prompt: str = PROGRESS_PROMPT,
) -> JudgeSummary:
    """Judge episodes (ids, or rows with an ``id``) with the progress judge and store each
    judgment as it comes (judge ``vlm``, the client's model, the prompt's version), skipping those
    that have one. ``progress(done, total)`` after each episode. With no client (no endpoint
    configured) nothing runs and the summary's message says so. An episode whose video cannot be
    read is listed in ``failed``; a :class:`VlmError` stops the run (what was judged is stored,
    and a rerun skips it)."""
    if client is None:
        return JudgeSummary(PROGRESS_JUDGE, skipped=NO_ENDPOINT_MESSAGE)
    from twin.video import VideoError

    spec = load_prompt(prompt)
    summary = JudgeSummary(PROGRESS_JUDGE, client.model, spec.version)
    ids = list(dict.fromkeys(_id(e) for e in episodes))
    artefacts, done = rows.episodes_to_judge(store, ids, PROGRESS_JUDGE, client.model, spec.version)
    for n, episode_id in enumerate(ids, start=1):
        if episode_id in done:
            summary.cached += 1
        else:
            try:
                folder = store.artefact_path(artefacts[episode_id])
                frames = episode_frames(folder, camera, per_second, max_frames, *_jpeg(client))
            except (VideoError, StoreError, ValueError, OSError) as err:
                summary.failed.append((episode_id, str(err)))
            else:
                try:
                    verdict = judge_progress(client, frames, repeats, tail, spec)
                except VlmError as err:
                    raise VlmError(f"{err} (episode {episode_id}; {_stored(summary)})") from None
                if _store_judgment(store, episode_id, client, spec, frames, verdict, tail):
                    summary._add(verdict.cost_usd, verdict.latency_s)
                else:
                    summary.cached += 1
        if progress is not None:
            progress(n, len(ids))
    return summary


def _jpeg(client: VlmClient) -> tuple[int, int]:
    return client.config.max_side, client.config.jpeg_quality


def _stored(summary: JudgeSummary) -> str:
    return f"{summary.judged} judged before it are stored and a rerun skips them"


def _store_judgment(store, episode_id, client, spec, frames, verdict: ProgressVerdict, tail) -> bool:
    """Write the judgment; False when another run stored it first."""
    detail = {
        "prompt": spec.version,
        "prompt_sha256": spec.sha256,
        "endpoint": client.config.url,
        "camera": frames.camera,
        "frames": list(frames.indices),
        "times_s": list(frames.times),
        "curve": list(verdict.curve),
        "curves": [list(c) for c in verdict.curves],
        "tail": tail,
        "reasoning": list(verdict.reasoning),
        "clamped": verdict.clamped,
        "attempts": verdict.attempts,
        "prompt_tokens": verdict.prompt_tokens,
        "completion_tokens": verdict.completion_tokens,
        "temperature": client.config.temperature,
    }
    judgment = EpisodeJudgment(
        judge=PROGRESS_JUDGE,
        score=verdict.score,
        success=None,
        model=client.model,
        prompt_version=spec.version,
        cost_usd=verdict.cost_usd,
        latency_s=verdict.latency_s,
        detail=detail,
    )
    return rows.add_judgment(store, episode_id, judgment)


def judge_pairs(
    store,
    client: VlmClient | None,
    pairs: Iterable[tuple[Any, Any]],
    repeats: int = 2,
    progress: Callable[[int, int], None] | None = None,
    *,
    camera: str | None = None,
    per_second: float = 1.0,
    max_frames: int = 8,
    prompt: str = PAIRWISE_PROMPT,
) -> JudgeSummary:
    """Judge pairs of episodes (ids or rows) of the same scenario and different policies with the
    pairwise judge; write each verdict to ``comparisons`` (judge ``vlm-pairwise``, the client's
    model and prompt version, with the cost and latency).
    A pair already compared by this model and prompt version, in either order, is skipped. A
    pair that is not two policies in one scenario raises ValueError before anything is asked;
    failures and ``progress`` as in :func:`judge_episodes`."""
    if client is None:
        return JudgeSummary(PAIRWISE_JUDGE, skipped=NO_ENDPOINT_MESSAGE)
    from twin.video import VideoError

    spec = load_prompt(prompt)
    summary = JudgeSummary(PAIRWISE_JUDGE, client.model, spec.version)
    pairs = list(dict.fromkeys((_id(a), _id(b)) for a, b in pairs))
    ids = [i for pair in pairs for i in pair]
    info, done = rows.pairs_to_compare(store, ids, PAIRWISE_JUDGE, client.model, spec.version)
    for a, b in pairs:
        if info[a][0] != info[b][0] or info[a][1] == info[b][1]:
            raise ValueError(
                f"episodes {a} and {b} are not two policies in one scenario "
                f"(scenarios {info[a][0]} and {info[b][0]}, policies {info[a][1]} and {info[b][1]})"
            )
    frames: dict[int, EpisodeFrames] = {}
    for n, (a, b) in enumerate(pairs, start=1):
        if frozenset((a, b)) in done:
            summary.cached += 1
        else:
            try:
                for i in (a, b):
                    if i not in frames:
                        folder = store.artefact_path(info[i][2])
                        frames[i] = episode_frames(folder, camera, per_second, max_frames, *_jpeg(client))
            except (VideoError, StoreError, ValueError, OSError) as err:
                summary.failed.append(((a, b), str(err)))
            else:
                try:
                    verdict = judge_pair(client, frames[a], frames[b], repeats, spec)
                except VlmError as err:
                    raise VlmError(f"{err} (episodes {a} and {b}; {_stored(summary)})") from None
                rows.add_comparison(
                    store,
                    judge=PAIRWISE_JUDGE,
                    scenario_id=info[a][0],
                    policy_a_id=info[a][1],
                    policy_b_id=info[b][1],
                    episode_a_id=a,
                    episode_b_id=b,
                    winner=verdict.winner,
                    annotator="",
                    model=client.model,
                    reason=verdict.reason,
                    prompt_version=spec.version,
                    cost_usd=verdict.cost_usd,
                    latency_s=verdict.latency_s,
                )
                done.add(frozenset((a, b)))
                summary._add(verdict.cost_usd, verdict.latency_s)
        if progress is not None:
            progress(n, len(pairs))
    return summary


def same_scenario_pairs(store, episodes: Iterable[Any] | None = None) -> list[tuple[int, int]]:
    """Every pair of episodes (of ``episodes``, else of the whole store) that two policies played in
    the same scenario, the lower policy id first: the pairs :func:`judge_pairs` takes."""
    ids = None if episodes is None else [_id(e) for e in episodes]
    by_scenario: dict[int, list[int]] = {}
    for scenario, _policy, episode in rows.same_scenario_episodes(store, ids):
        by_scenario.setdefault(scenario, []).append(episode)
    return [pair for ids in by_scenario.values() for pair in combinations(ids, 2)]
