"""The VLM judges, asked over any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, OpenAI,
Gemini's OpenAI-compatible API).

The **progress judge** shows a vision-language model frames of an episode's video (one per second
of episode time, first and last included, at most ``max_frames`` spread evenly) with the
instruction, and asks for a 0–100 task-progress score per frame. It asks ``repeats`` times, takes
the median curve frame by frame, and scores the episode by the mean of the curve's last 30 %.
The **pairwise judge** shows two episodes of the same scenario as two labelled sequences and asks
which does better: ``a``, ``b`` or ``tie`` (a majority over ``repeats`` asks; no majority is a tie).

Replies are parsed leniently (:func:`json_values`): JSON in a code fence or in prose, trailing
commas, scores as strings (``"45"``, ``"45%"``) or as ``{"score": …}`` objects. A reply without
usable JSON, with the wrong number of scores or a non-finite score is *malformed* and asked
again; scores outside 0–100 are clamped (and counted in the judgment's ``detail``). Timeouts,
connection errors, 408, 429 (after its ``Retry-After``, capped), 5xx and malformed replies are
retried with exponential backoff up to ``max_attempts`` per request; other HTTP errors (400, 401,
404, …) are not. Giving up raises :class:`VlmError`, naming the endpoint and model, never the key.

Judgments are cached by (episode, model, prompt version): an episode that already has one is not
asked again; a pair of episodes likewise in ``comparisons`` (see :func:`judge_pairs`). Prompts are
the versioned files in ``prompts/`` (``progress_v1.md``: version ``progress_v1``).
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import math
import os
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from hashlib import sha256
from importlib import resources
from itertools import combinations
from pathlib import Path
from string import Template
from typing import Any, Generic, TypeVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from benchmark.errors import StoreError, VlmError
from benchmark.store.models import Comparison, Episode, Judgment

T = TypeVar("T")

PROGRESS_JUDGE, PAIRWISE_JUDGE = "vlm", "vlm-pairwise"
PROGRESS_PROMPT, PAIRWISE_PROMPT = "progress_v1", "pairwise_v1"
OPENAI_BASE_URL = "https://api.openai.com/v1"
CHUNK = 500  # ids per IN (…) list
ROBOT_CAMERA_PREFIX = "robot_"  # videos of robot-mounted cameras (benchmark.sim.scene_builder.ROBOT_PREFIX)

ENV_BASE_URL, ENV_MODEL, ENV_API_KEY = (
    "TWINARENA_VLM_BASE_URL",
    "TWINARENA_VLM_MODEL",
    "TWINARENA_VLM_API_KEY",
)
ENV_PRICE_IN, ENV_PRICE_OUT = "TWINARENA_VLM_PRICE_IN", "TWINARENA_VLM_PRICE_OUT"
ENV_TIMEOUT = "TWINARENA_VLM_TIMEOUT"
NO_ENDPOINT_MESSAGE = (
    f"no VLM endpoint configured (set {ENV_MODEL}, and {ENV_BASE_URL} unless it is OpenAI's): "
    "episodes are judged by the state judge alone"
)


class MalformedReply(ValueError):
    """A reply that does not hold the answer asked for (asked again)."""


# -- configuration -------------------------------------------------------------------------------
@dataclass(frozen=True)
class VlmConfig:
    """An OpenAI-compatible endpoint and how to ask it. ``base_url`` ends before
    ``/chat/completions`` (a URL ending with it is used as it is); prices are USD per 1000 input
    and output tokens (no cost is recorded without them); ``timeout_s`` is per request;
    ``backoff_s`` doubles after each failed attempt up to ``max_backoff_s``; a 429's
    ``Retry-After`` is honoured up to ``max_retry_after_s``."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    price_in: float | None = None
    price_out: float | None = None
    timeout_s: float = 120.0
    max_attempts: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 60.0
    temperature: float = 0.5
    max_tokens: int = 1024
    jpeg_quality: int = 85
    max_side: int = 512  # frames larger than this are shrunk before sending

    def __post_init__(self):
        if not self.base_url.startswith(("http://", "https://")):
            raise VlmError(f"VLM base URL {self.base_url!r} must start with http:// or https://")
        if not self.model:
            raise VlmError(f"VLM endpoint {self.base_url}: no model given")
        if self.max_attempts < 1 or self.timeout_s <= 0:
            raise VlmError(f"VLM endpoint {self.base_url}: max_attempts must be ≥ 1 and timeout_s > 0")

    @property
    def url(self) -> str:
        """The chat-completions URL."""
        base = self.base_url.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"


def vlm_config_from_env(environ: Mapping[str, str] | None = None) -> VlmConfig | None:
    """The endpoint the environment names, or None when none is (then say
    :data:`NO_ENDPOINT_MESSAGE`). ``TWINARENA_VLM_MODEL`` switches the judge on; the base URL is
    ``TWINARENA_VLM_BASE_URL``, else ``OPENAI_BASE_URL``, else OpenAI's; the key
    ``TWINARENA_VLM_API_KEY``, else ``OPENAI_API_KEY`` (none: no ``Authorization`` header). The
    ``OPENAI_*`` variables alone do not switch it on. ``TWINARENA_VLM_PRICE_IN``/``_OUT``: USD per
    1000 tokens; ``TWINARENA_VLM_TIMEOUT``: seconds per request."""
    env = os.environ if environ is None else environ

    def get(*names: str) -> str | None:
        return next((env[n].strip() for n in names if env.get(n, "").strip()), None)

    model, own_base = get(ENV_MODEL), get(ENV_BASE_URL)
    if model is None:
        if own_base is not None:
            raise VlmError(f"{ENV_BASE_URL} is {own_base} but {ENV_MODEL} is not set: name the model to ask")
        return None

    def number(name: str) -> float | None:
        text = get(name)
        if text is None:
            return None
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not math.isfinite(value) or value < 0:
            raise VlmError(f"{name}={text!r} is not a non-negative number")
        return value

    timeout = number(ENV_TIMEOUT)
    return VlmConfig(
        base_url=own_base or get("OPENAI_BASE_URL") or OPENAI_BASE_URL,
        model=model,
        api_key=get(ENV_API_KEY, "OPENAI_API_KEY"),
        price_in=number(ENV_PRICE_IN),
        price_out=number(ENV_PRICE_OUT),
        **({"timeout_s": timeout} if timeout else {}),
    )


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
def sample_indices(n_frames: int, fps: float, per_second: float = 1.0, max_frames: int = 16) -> list[int]:
    """The frames to show: ``per_second`` per second of episode time (at least two: the first and
    the last), at most ``max_frames``, spread evenly from the first frame to the last."""
    if n_frames < 1 or fps <= 0 or per_second <= 0 or max_frames < 1:
        raise ValueError(
            f"cannot sample {max_frames} of {n_frames} frames at {fps} fps, {per_second} per second"
        )
    duration = (n_frames - 1) / fps
    count = min(max(2, math.floor(duration * per_second + 1e-9) + 1), max_frames, n_frames)
    if count == 1:
        return [n_frames - 1]  # one frame: the end state says the most
    return [int(i * (n_frames - 1) / (count - 1) + 0.5) for i in range(count)]


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


def cost_usd(
    prompt_tokens: int, completion_tokens: int, price_in: float | None, price_out: float | None
) -> float | None:
    """The cost of the tokens at USD prices per 1000; None without prices."""
    if price_in is None and price_out is None:
        return None
    return prompt_tokens / 1000 * (price_in or 0.0) + completion_tokens / 1000 * (price_out or 0.0)


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """The wait after failed attempt ``attempt`` (1, 2, …): ``base``·2^(attempt−1), at most ``cap``."""
    return min(cap, base * 2 ** (attempt - 1))


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) in seconds; None if absent or unreadable."""
    if not value or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# -- parsing -------------------------------------------------------------------------------------
_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
SCORE_KEYS = ("scores", "progress", "frame_scores")
_NUMBER = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?|[-+]?\.\d+)\s*%?\s*$")


def _excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _spans(text: str) -> list[str]:
    """The outermost balanced ``{…}`` and ``[…]`` spans of ``text`` (string literals respected)."""
    spans, depth, start, in_string, escaped = [], 0, 0, False, False
    for i, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"' and depth:
            in_string = True
        elif char in "{[":
            if depth == 0:
                start = i
            depth += 1
        elif char in "}]" and depth:
            depth -= 1
            if depth == 0:
                spans.append(text[start : i + 1])
    return spans


def _loads(text: str) -> Any:
    """JSON, forgiving trailing commas; raises ValueError."""
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(_TRAILING_COMMA.sub(r"\1", text))


def json_values(text: str) -> list[Any]:
    """Every JSON object or array in a reply, most likely first: code fences' contents, the
    whole text, then balanced spans found in prose."""
    values, seen = [], set()
    for piece in [m.group(1) for m in _FENCE.finditer(text)] + [text]:
        for candidate in [piece.strip(), *_spans(piece)]:
            if candidate in seen or not candidate.startswith(("{", "[")):
                continue
            seen.add(candidate)
            try:
                values.append(_loads(candidate))
            except ValueError:
                continue
    return values


def as_score(value: Any) -> float:
    """A score as a number: a number, a numeric string (``"45"``, ``"45%"``) or an object with a
    ``score``/``progress`` field. Raises :class:`MalformedReply`."""
    if isinstance(value, dict):
        for key in ("score", "progress", "value"):
            if key in value:
                return as_score(value[key])
        raise MalformedReply(f"score object {_excerpt(json.dumps(value))} has no 'score'")
    if isinstance(value, bool):
        raise MalformedReply(f"score {value!r} is not a number")
    if isinstance(value, str):
        match = _NUMBER.match(value)
        if match is None:
            raise MalformedReply(f"score {value!r} is not a number")
        value = float(match.group(1))
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedReply(f"score {value!r} is not a finite number")
    return float(value)


@dataclass(frozen=True)
class ProgressReply:
    """One parsed progress answer: a score per frame (clamped to 0–100), the model's reasoning,
    and how many scores were clamped."""

    scores: tuple[float, ...]
    reasoning: str
    clamped: int = 0


def parse_progress(text: str, n_frames: int) -> ProgressReply:
    """A progress answer: ``{"scores": [...], "reasoning": "..."}`` (or ``progress`` for
    ``scores``, ``reason`` for ``reasoning``, or a bare list) with exactly ``n_frames`` scores.
    Out-of-range scores are clamped to 0–100. Raises :class:`MalformedReply`."""
    values = json_values(text)
    found = None
    for value in values:  # an object with scores first, then a bare list
        key = next((k for k in SCORE_KEYS if isinstance(value, dict) and k in value), None)
        if key is not None and isinstance(value[key], list):
            reasoning = value.get("reasoning", value.get("reason", ""))
            found = (value[key], reasoning if isinstance(reasoning, str) else json.dumps(reasoning))
            break
    else:
        found = next(((v, "") for v in values if isinstance(v, list)), None)
    if found is None:
        raise MalformedReply(f"no JSON list of scores in the reply: {_excerpt(text)!r}")
    raw, reasoning = found
    if len(raw) != n_frames:
        raise MalformedReply(f"{len(raw)} scores for {n_frames} frames")
    scores = [as_score(v) for v in raw]
    inside = [min(100.0, max(0.0, s)) for s in scores]
    return ProgressReply(tuple(inside), reasoning.strip(), sum(not 0.0 <= s <= 100.0 for s in scores))


_WINNERS = {
    "a": "a",
    "episode a": "a",
    "b": "b",
    "episode b": "b",
    "tie": "tie",
    "draw": "tie",
    "equal": "tie",
    "neither": "tie",
    "both": "tie",
    "none": "tie",
}


@dataclass(frozen=True)
class PairwiseReply:
    """One parsed pairwise answer: ``a``, ``b`` or ``tie`` and the model's reason."""

    winner: str
    reason: str


def parse_winner(text: str) -> PairwiseReply:
    """A pairwise answer ``{"winner": "A" | "B" | "tie", "reason": "..."}`` (case and an
    ``Episode`` prefix ignored; draw/equal/neither read as tie). Raises :class:`MalformedReply`."""
    for value in json_values(text):
        if isinstance(value, dict) and "winner" in value:
            word = str(value["winner"]).strip().strip("\"'.").lower()
            if word not in _WINNERS:
                raise MalformedReply(f"winner {value['winner']!r} is not A, B or tie")
            reason = value.get("reason", value.get("reasoning", ""))
            return PairwiseReply(
                _WINNERS[word], (reason if isinstance(reason, str) else json.dumps(reason)).strip()
            )
    raise MalformedReply(f"no JSON object with a 'winner' in the reply: {_excerpt(text)!r}")


def reply_text(body: Any) -> str:
    """The text of a chat-completions response body: the first choice's message content (a
    string, or a list of text parts). Raises :class:`MalformedReply`."""
    if not isinstance(body, dict):
        raise MalformedReply(f"response is not a JSON object: {_excerpt(json.dumps(body))}")
    try:
        choice = body["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        if "error" in body:
            raise MalformedReply(f"error in the response: {_excerpt(json.dumps(body['error']))}") from None
        raise MalformedReply(f"no choices[0].message.content in {_excerpt(json.dumps(body))}") from None
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str) or not content.strip():
        reason = choice.get("finish_reason") if isinstance(choice, dict) else None
        raise MalformedReply(f"empty message content (finish_reason {reason!r})")
    return content


# -- the client ----------------------------------------------------------------------------------
class _Retry(Exception):
    """A failed attempt worth repeating, and how long the server asked us to wait."""

    def __init__(self, why: str, wait: float | None = None):
        super().__init__(why)
        self.wait = wait


@dataclass(frozen=True)
class Answer(Generic[T]):
    """A parsed answer and what it took: attempts, tokens (over every attempt the endpoint
    answered), whether every answered attempt reported its usage, wall-clock seconds (retries and
    waits included)."""

    value: T
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    usage_complete: bool
    seconds: float


class VlmClient:
    """Asks one endpoint and model, retrying as the module docstring says. ``sleep`` is
    replaceable for tests."""

    def __init__(self, config: VlmConfig, sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self._sleep = sleep
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if config.api_key:
            self._headers["Authorization"] = f"Bearer {config.api_key}"

    def __repr__(self) -> str:
        return f"VlmClient({self.config.url!r}, model={self.config.model!r})"

    @property
    def model(self) -> str:
        return self.config.model

    def ask(self, content: list[dict[str, Any]], parse: Callable[[str], T]) -> Answer[T]:
        """Send one user message of ``content`` parts; return ``parse`` of the reply's text."""
        c = self.config
        body = json.dumps(
            {
                "model": c.model,
                "messages": [{"role": "user", "content": content}],
                "temperature": c.temperature,
                "max_tokens": c.max_tokens,
            }
        ).encode()
        tokens_in = tokens_out = 0
        usage_complete, last, start = True, "", time.perf_counter()
        for attempt in range(1, c.max_attempts + 1):
            wait = None
            try:
                response = self._post(body)
                usage = response.get("usage") if isinstance(response, dict) else None
                if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
                    tokens_in += usage["prompt_tokens"]
                    tokens_out += int(usage.get("completion_tokens") or 0)
                else:
                    usage_complete = False
                value = parse(reply_text(response))
                return Answer(
                    value, attempt, tokens_in, tokens_out, usage_complete, time.perf_counter() - start
                )
            except _Retry as err:
                last, wait = str(err), err.wait
            except MalformedReply as err:
                last = f"malformed reply: {err}"
            if attempt < c.max_attempts:
                delay = backoff_delay(attempt, c.backoff_s, c.max_backoff_s)
                self._sleep(delay if wait is None else min(wait, c.max_retry_after_s))
        raise self._error(f"no usable answer after {c.max_attempts} attempts; last: {last}")

    def _post(self, body: bytes) -> Any:
        request = urllib.request.Request(self.config.url, data=body, headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            why = f"HTTP {err.code} {self._body_excerpt(err)}".strip()
            if err.code in (408, 429) or err.code >= 500:
                raise _Retry(why, retry_after_seconds(err.headers.get("Retry-After"))) from None
            raise self._error(why) from None
        except TimeoutError:
            raise _Retry(f"no answer within {self.config.timeout_s:g} s") from None
        except (OSError, http.client.HTTPException) as err:
            reason = getattr(err, "reason", None) or err
            raise _Retry(f"{type(reason).__name__}: {reason}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise MalformedReply(
                f"response body is not JSON: {_excerpt(raw.decode(errors='replace'))!r}"
            ) from None

    @staticmethod
    def _body_excerpt(err: urllib.error.HTTPError) -> str:
        try:
            return _excerpt(err.read().decode(errors="replace"))
        except Exception:  # the body is only for the message
            return ""

    def _error(self, why: str) -> VlmError:
        message = f"VLM endpoint {self.config.url} (model {self.config.model}): {why}"
        if self.config.api_key:
            message = message.replace(self.config.api_key, "***")
        return VlmError(message)


def vlm_client_from_env(environ: Mapping[str, str] | None = None) -> VlmClient | None:
    """A client of the endpoint :func:`vlm_config_from_env` finds, or None (the judges then run
    nothing and their summary says :data:`NO_ENDPOINT_MESSAGE`)."""
    config = vlm_config_from_env(environ)
    return None if config is None else VlmClient(config)


# -- frames --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EpisodeFrames:
    """The frames of an episode shown to a judge: the camera, the sampled frame indices and their
    times in seconds, the frames as JPEG data URLs, and the instruction."""

    camera: str
    indices: tuple[int, ...]
    times: tuple[float, ...]
    images: tuple[str, ...]
    instruction: str


def default_camera(folder: str | Path) -> str:
    """The episode's first static camera (in name order): its first video not from a
    robot-mounted camera."""
    videos = sorted(p.stem for p in Path(folder).glob("*.mp4"))
    static = [v for v in videos if not v.startswith(ROBOT_CAMERA_PREFIX)]
    if not static:
        raise ValueError(f"{folder}: no video of a static camera (videos: {', '.join(videos) or 'none'})")
    return static[0]


def video_fps(path: str | Path) -> float:
    """The frame rate of a video file."""
    import av

    from twin.video import VideoError

    try:
        with av.open(str(path)) as container:
            rate = container.streams.video[0].average_rate or container.streams.video[0].guessed_rate
    except (av.error.FFmpegError, IndexError) as err:
        raise VideoError(f"{path}: not a readable video ({err})") from err
    if not rate:
        raise VideoError(f"{path}: the video has no frame rate")
    return float(rate)


def jpeg_data_url(frame: np.ndarray, max_side: int = 512, quality: int = 85) -> str:
    """An RGB frame as a ``data:image/jpeg;base64,…`` URL, shrunk to ``max_side`` pixels at most."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8))
    image.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def episode_frames(
    folder: str | Path,
    camera: str | None = None,
    per_second: float = 1.0,
    max_frames: int = 16,
    max_side: int = 512,
    quality: int = 85,
) -> EpisodeFrames:
    """Sample an episode folder's video (``camera``, default :func:`default_camera`) and read its
    instruction from ``episode.json``."""
    from twin.video import VideoError, read_mp4

    folder = Path(folder)
    try:
        instruction = json.loads((folder / "episode.json").read_text())["scenario"]["instruction"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{folder / 'episode.json'}: no scenario instruction ({err})") from None
    camera = camera or default_camera(folder)
    path = folder / f"{camera.replace('/', '_')}.mp4"
    if not path.is_file():
        videos = ", ".join(sorted(p.stem for p in folder.glob("*.mp4"))) or "none"
        raise VideoError(f"{folder}: no video of camera {camera!r} (videos: {videos})")
    frames, fps = read_mp4(path), video_fps(path)
    indices = sample_indices(len(frames), fps, per_second, max_frames)
    return EpisodeFrames(
        camera,
        tuple(indices),
        tuple(round(i / fps, 3) for i in indices),
        tuple(jpeg_data_url(frames[i], max_side, quality) for i in indices),
        str(instruction),
    )


def _image_parts(frames: EpisodeFrames, label: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for n, (t, url) in enumerate(zip(frames.times, frames.images, strict=True), start=1):
        parts.append({"type": "text", "text": f"{label}frame {n} (t = {t:.1f} s):"})
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts


# -- the judges, without the store ---------------------------------------------------------------
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
    client: VlmClient, a: EpisodeFrames, b: EpisodeFrames, repeats: int = 1, prompt: Prompt | None = None
) -> PairVerdict:
    """Ask which of two episodes of the same scenario does better, ``repeats`` times; the
    majority wins (no majority: tie)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    prompt = prompt or load_prompt(PAIRWISE_PROMPT)
    text = prompt.render(instruction=a.instruction, n_frames_a=len(a.images), n_frames_b=len(b.images))
    content = [
        {"type": "text", "text": text},
        {"type": "text", "text": "Episode A:"},
        *_image_parts(a, "Episode A, "),
        {"type": "text", "text": "Episode B:"},
        *_image_parts(b, "Episode B, "),
    ]
    answers = [client.ask(content, parse_winner) for _ in range(repeats)]
    votes = tuple(x.value.winner for x in answers)
    winner = majority(votes)
    reason = next((x.value.reason for x in answers if x.value.winner == winner), None)
    if reason is None:  # a tie by split votes
        reason = f"no majority ({', '.join(votes)}): {answers[0].value.reason}"
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


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    """Ids in lists of :data:`CHUNK` (well under every backend's limit on an IN list)."""
    ids = sorted(set(ids))
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _episodes(session, ids: Iterable[int]) -> dict[int, Episode]:
    ids = sorted(set(ids))
    rows = {
        e.id: e
        for chunk in _chunks(ids)
        for e in session.scalars(select(Episode).where(Episode.id.in_(chunk)))
    }
    missing = [i for i in ids if i not in rows]
    if missing:
        raise ValueError(f"no episode {', '.join(map(str, missing))} in the store")
    return rows


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
    with store.session() as session:
        artefacts = {i: e.artefact for i, e in _episodes(session, ids).items()}
        query = select(Judgment.episode_id).where(
            Judgment.judge == PROGRESS_JUDGE,
            Judgment.model == client.model,
            Judgment.prompt_version == spec.version,
        )
        done = {
            i for chunk in _chunks(ids) for i in session.scalars(query.where(Judgment.episode_id.in_(chunk)))
        }
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
    try:
        with store.session() as session:
            session.add(
                Judgment(
                    episode_id=episode_id,
                    judge=PROGRESS_JUDGE,
                    model=client.model,
                    prompt_version=spec.version,
                    score=verdict.score,
                    success=None,
                    cost_usd=verdict.cost_usd,
                    latency_s=verdict.latency_s,
                    detail=detail,
                )
            )
    except IntegrityError:
        return False
    return True


def judge_pairs(
    store,
    client: VlmClient | None,
    pairs: Iterable[tuple[Any, Any]],
    repeats: int = 1,
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
    with store.session() as session:
        rows = _episodes(session, [i for pair in pairs for i in pair])
        info = {i: (e.scenario_id, e.policy_id, e.artefact) for i, e in rows.items()}
        for a, b in pairs:
            if info[a][0] != info[b][0] or info[a][1] == info[b][1]:
                raise ValueError(
                    f"episodes {a} and {b} are not two policies in one scenario "
                    f"(scenarios {info[a][0]} and {info[b][0]}, policies {info[a][1]} and {info[b][1]})"
                )
        query = select(Comparison.episode_a_id, Comparison.episode_b_id).where(
            Comparison.judge == PAIRWISE_JUDGE,
            Comparison.model == client.model,
            Comparison.prompt_version == spec.version,
        )
        done = {
            frozenset(pair)
            for chunk in _chunks(info)
            for pair in session.execute(query.where(Comparison.episode_a_id.in_(chunk)))
        }
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
                with store.session() as session:
                    session.add(
                        Comparison(
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
                    )
                done.add(frozenset((a, b)))
                summary._add(verdict.cost_usd, verdict.latency_s)
        if progress is not None:
            progress(n, len(pairs))
    return summary


def same_scenario_pairs(store, episodes: Iterable[Any] | None = None) -> list[tuple[int, int]]:
    """Every pair of episodes (of ``episodes``, else of the whole store) that two policies played in
    the same scenario, the lower policy id first: the pairs :func:`judge_pairs` takes."""
    query = select(Episode.scenario_id, Episode.policy_id, Episode.id).order_by(
        Episode.scenario_id, Episode.policy_id
    )
    if episodes is not None:
        query = query.where(Episode.id.in_([_id(e) for e in episodes]))
    by_scenario: dict[int, list[int]] = {}
    with store.session() as session:
        for scenario, _policy, episode in session.execute(query):
            by_scenario.setdefault(scenario, []).append(episode)
    return [pair for ids in by_scenario.values() for pair in combinations(ids, 2)]
