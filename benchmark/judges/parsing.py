"""Reading a VLM's replies leniently: JSON in a code fence or in prose, trailing commas, scores
as strings (``"45"``, ``"45%"``) or as ``{"score": …}`` objects. A reply without usable JSON, with
the wrong number of scores or a non-finite score raises :class:`MalformedReply` (the client asks
again); scores outside 0–100 are clamped and counted. Pure functions of the reply's text."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any


class MalformedReply(ValueError):
    """A reply that does not hold the answer asked for (asked again)."""


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
