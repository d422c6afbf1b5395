"""The VLM judges end to end against an OpenAI-compatible server on loopback: the HTTP is real, only
the server's answers are scripted. The server records each request (path, headers, body), so the
tests check what a real endpoint would get: the model, a user message of text and
``data:image/jpeg`` ``image_url`` parts, the bearer key. Then the pure parts: frame sampling, the
median curve, the episode score, reply parsing, Retry-After, the configuration from the environment.

The episodes are real: a tiny campaign (random and vision-expert on tray_pick, 3 s) runs once per
test session (under xdist one worker runs it, the others wait for it), and each test judges a
fresh copy of its store."""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from benchmark.errors import VlmError
from benchmark.judges.client import (
    NO_ENDPOINT_MESSAGE,
    VlmClient,
    VlmConfig,
    backoff_delay,
    retry_after_seconds,
    vlm_client_from_env,
    vlm_config_from_env,
)
from benchmark.judges.frames import episode_frames, sample_indices
from benchmark.judges.parsing import MalformedReply, parse_progress, parse_winner
from benchmark.judges.vlm import (
    episode_score,
    judge_episodes,
    judge_pairs,
    load_prompt,
    majority,
    median_curve,
    same_scenario_pairs,
    tail_length,
)
from benchmark.store import open_store
from benchmark.store.models import Comparison, Judgment

KEY = "sk-test-secret-123"
MODEL = "test-vlm"
INSTRUCTION = "put the red cube in the blue tray"


# -- real episodes -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Episodes:
    """A store holding two policies' episodes of one scenario (``ids``: random's, then the
    vision expert's) and how many frames the judge is shown of each."""

    db: Path
    artefacts: Path
    ids: tuple[int, int]
    frames: int


@pytest.fixture(scope="module")
def episodes(tmp_path_factory) -> Episodes:
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "vlm-judge-episodes"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / "vlm-judge-episodes.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / "ids.json"
        if not done.exists():
            from benchmark.campaigns.campaign import CampaignSpec, RunSettings
            from benchmark.campaigns.evaluate import run_campaign
            from benchmark.campaigns.executors import LocalExecutor

            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            spec = CampaignSpec(
                ("random", "vision-expert"),
                ("tray_pick",),
                seeds=1,
                settings=RunSettings(render="mesh", image_size=(160, 160), max_seconds=3),
            )
            with open_store(f"sqlite:///{root / 'store.db'}", root / "artefacts") as store:
                report = run_campaign(store, spec, LocalExecutor(1))
                assert report.errors == [] and report.stored == 2
                rows = {row.policy: row for row in store.episodes()}
                ids = [rows["random"].id, rows["vision-expert"].id]
                frames = {len(episode_frames(store.artefact_path(r.artefact)).images) for r in rows.values()}
                assert len(frames) == 1, frames
            done.write_text(json.dumps({"ids": ids, "frames": frames.pop()}))
    saved = json.loads(done.read_text())
    return Episodes(root / "store.db", root / "artefacts", tuple(saved["ids"]), saved["frames"])


@pytest.fixture
def store(episodes, tmp_path):
    """A fresh copy of the episodes' store (the artefacts are shared, read only)."""
    shutil.copy(episodes.db, tmp_path / "store.db")
    with open_store(f"sqlite:///{tmp_path / 'store.db'}", episodes.artefacts) as store:
        yield store


def judgments(store, judge: str = "vlm") -> list[Judgment]:
    with store.session() as session:
        return list(session.scalars(select(Judgment).where(Judgment.judge == judge).order_by(Judgment.id)))


def comparisons(store) -> list[Comparison]:
    with store.session() as session:
        return list(session.scalars(select(Comparison).order_by(Comparison.id)))


# -- the scripted endpoint -----------------------------------------------------------------------
@dataclass
class Say:
    """One scripted answer: a chat completion with ``content``, or ``status`` with ``body``; after
    ``delay`` seconds."""

    content: str | None = None
    status: int = 200
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: dict[str, int] | None = field(
        default_factory=lambda: {"prompt_tokens": 1000, "completion_tokens": 100}
    )


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


class Endpoint:
    """An OpenAI-compatible chat-completions server on 127.0.0.1 answering from ``script`` in order
    (500 once it runs out) and recording every request in ``requests``."""

    def __init__(self):
        self.script: list[Say] = []
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with endpoint._lock:
                    endpoint.requests.append(
                        Seen(self.path, dict(self.headers), json.loads(raw), time.perf_counter())
                    )
                    say = (
                        endpoint.script.pop(0) if endpoint.script else Say(status=500, body="script ran out")
                    )
                time.sleep(say.delay)
                if say.status == 200 and say.body is None:
                    completion = {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "model": MODEL,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": say.content},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                    if say.usage is not None:
                        completion["usage"] = say.usage
                    payload = json.dumps(completion).encode()
                else:
                    payload = (say.body or "").encode()
                try:
                    self.send_response(say.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in say.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint(monkeypatch):
    for name in ("NO_PROXY", "no_proxy"):  # a proxy from the environment must not catch loopback
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    server = Endpoint()
    yield server
    server.close()


def client(endpoint: Endpoint, **settings) -> VlmClient:
    config = {
        "base_url": endpoint.url,
        "model": MODEL,
        "api_key": KEY,
        "price_in": 0.5,
        "price_out": 1.5,
        "timeout_s": 5.0,
        "max_attempts": 3,
        "backoff_s": 0.01,
        "max_backoff_s": 0.05,
        **settings,
    }
    return VlmClient(VlmConfig(**config))


def scores(values, reasoning: str = "the arm moves") -> str:
    return json.dumps({"scores": list(values), "reasoning": reasoning})


def image_parts(seen: Seen) -> list[str]:
    [message] = seen.body["messages"]
    return [p["image_url"]["url"] for p in message["content"] if p["type"] == "image_url"]


def texts(seen: Seen) -> str:
    return "\n".join(p["text"] for p in seen.body["messages"][0]["content"] if p["type"] == "text")


# -- the progress judge end to end -------------------------------------------------------------------
def test_the_progress_judge_scores_the_median_curve_of_three_repeats(store, episodes, endpoint):
    from PIL import Image

    n = episodes.frames
    curves = [[10 * i for i in range(n)], [10 * i + 30 for i in range(n)], [5 * i for i in range(n)]]
    endpoint.script = [Say(scores(c)) for c in curves] + [Say(scores([100] * n))] * 3
    seen = []
    summary = judge_episodes(
        store, client(endpoint), list(episodes.ids), progress=lambda done, total: seen.append((done, total))
    )
    assert (summary.judged, summary.cached, summary.failed) == (2, 0, [])
    assert seen == [(1, 2), (2, 2)] and len(endpoint.requests) == 6
    # what the endpoint got
    for request in endpoint.requests:
        assert request.path == "/v1/chat/completions"
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        assert request.headers["Content-Type"] == "application/json"
        assert (request.body["model"], request.body["temperature"], request.body["max_tokens"]) == (
            MODEL,
            0.5,
            1024,
        )
        assert request.body["messages"][0]["role"] == "user" and INSTRUCTION in texts(request)
        urls = image_parts(request)
        assert len(urls) == n and all(u.startswith("data:image/jpeg;base64,") for u in urls)
        image = Image.open(io.BytesIO(base64.b64decode(urls[-1].split(",", 1)[1])))
        assert (image.format, image.size) == ("JPEG", (160, 160))
    # what was written
    first, second = judgments(store)
    median = median_curve(curves)
    assert median == [10.0 * i for i in range(n)]  # frame by frame, not one repeat's curve
    assert (first.episode_id, first.model, first.prompt_version) == (episodes.ids[0], MODEL, "progress_v1")
    assert first.score == pytest.approx(episode_score(median)) and second.score == 100.0
    assert first.success is None
    assert first.cost_usd == pytest.approx(3 * (1000 / 1000 * 0.5 + 100 / 1000 * 1.5))
    assert first.latency_s > 0 and second.latency_s > 0
    detail = first.detail
    assert detail["curve"] == median and detail["curves"] == [[float(v) for v in c] for c in curves]
    assert detail["prompt_sha256"] == load_prompt("progress_v1").sha256 and detail["camera"] == "front"
    assert len(detail["frames"]) == n and detail["reasoning"] == ["the arm moves"] * 3
    assert summary.cost_usd == pytest.approx(2 * first.cost_usd)
    assert "2 judged" in summary.message and MODEL in summary.message


def test_a_judged_episode_is_not_asked_again(store, episodes, endpoint):
    n = episodes.frames
    endpoint.script = [Say(scores([50] * n))] * 3
    judge_episodes(store, client(endpoint), [episodes.ids[0]])
    assert len(endpoint.requests) == 3
    again = judge_episodes(store, client(endpoint), [episodes.ids[0]])
    assert (again.judged, again.cached) == (0, 1) and len(endpoint.requests) == 3  # no HTTP at all
    # another model is another judgment
    endpoint.script = [Say(scores([40] * n))]
    judge_episodes(store, client(endpoint, model="other-vlm"), [episodes.ids[0]], repeats=1)
    assert len(endpoint.requests) == 4
    assert sorted((j.model, j.score) for j in judgments(store)) == [("other-vlm", 40.0), (MODEL, 50.0)]


def test_malformed_replies_are_asked_again(store, episodes, endpoint):
    n = episodes.frames
    endpoint.script = [
        Say(f"Sure. Here are the scores: {scores([20] * (n - 1))}"),  # one score short
        Say('Looking at the frames:\n```json\n{"scores": [' + ", ".join(['"70"'] * n) + "],}\n```\nDone."),
    ]
    summary = judge_episodes(store, client(endpoint), [episodes.ids[1]], repeats=1)
    assert summary.judged == 1 and len(endpoint.requests) == 2
    [judged] = judgments(store)
    assert judged.score == 70.0 and judged.detail["attempts"] == 2
    assert judged.cost_usd == pytest.approx(2 * (0.5 + 0.15))  # both replies were billed


def test_always_garbage_raises_and_writes_nothing(store, episodes, endpoint):
    endpoint.script = [Say("I'm sorry, I can't judge robots.")] * 3
    with pytest.raises(VlmError, match="no usable answer after 3 attempts; last: malformed reply") as err:
        judge_episodes(store, client(endpoint), list(episodes.ids), repeats=1)
    assert f"episode {episodes.ids[0]}" in str(err.value) and endpoint.url in str(err.value)
    assert len(endpoint.requests) == 3 and judgments(store) == []
    assert len(judgments(store, "state")) == 2  # the state judge's are untouched


def test_a_timeout_is_retried(store, episodes, endpoint):
    endpoint.script = [Say(scores([30] * episodes.frames), delay=1.5), Say(scores([60] * episodes.frames))]
    summary = judge_episodes(store, client(endpoint, timeout_s=0.4), [episodes.ids[0]], repeats=1)
    assert summary.judged == 1 and len(endpoint.requests) == 2
    [judged] = judgments(store)
    assert judged.score == 60.0 and judged.latency_s >= 0.4


def test_429_is_retried_after_its_retry_after(store, episodes, endpoint):
    endpoint.script = [
        Say(status=429, body='{"error": "slow down"}', headers={"Retry-After": "1"}),
        Say(scores([80] * episodes.frames)),
    ]
    judge_episodes(store, client(endpoint), [episodes.ids[0]], repeats=1)
    first, second = endpoint.requests
    assert second.at - first.at >= 0.95  # the server's second, not the 10 ms backoff
    assert [j.score for j in judgments(store)] == [80.0]


def test_5xx_until_max_attempts_names_the_endpoint_and_not_the_key(store, episodes, endpoint):
    endpoint.script = [Say(status=503, body=f"overloaded (key {KEY})")] * 4
    with pytest.raises(VlmError) as err:
        judge_episodes(store, client(endpoint, max_attempts=4), [episodes.ids[0]], repeats=1)
    message = str(err.value)
    assert f"VLM endpoint {endpoint.url}/chat/completions (model {MODEL})" in message
    assert "after 4 attempts" in message and "HTTP 503 overloaded" in message
    assert KEY not in message and "***" in message
    assert len(endpoint.requests) == 4 and judgments(store) == []
    gaps = [b.at - a.at for a, b in zip(endpoint.requests, endpoint.requests[1:], strict=False)]
    assert gaps[-1] >= 0.04  # 10, 20, then 40 ms: exponential (capped at 50 ms)


def test_a_client_error_is_not_retried(store, episodes, endpoint):
    endpoint.script = [Say(status=401, body='{"error": {"message": "invalid api key"}}')]
    with pytest.raises(VlmError, match="HTTP 401"):
        judge_episodes(store, client(endpoint), [episodes.ids[0]])
    assert len(endpoint.requests) == 1


def test_without_a_key_or_usage_there_is_no_auth_header_and_no_cost(store, episodes, endpoint):
    endpoint.script = [Say(scores([25] * episodes.frames), usage=None)]
    summary = judge_episodes(store, client(endpoint, api_key=None), [episodes.ids[0]], repeats=1)
    assert "Authorization" not in endpoint.requests[0].headers
    [judged] = judgments(store)
    assert judged.cost_usd is None and judged.latency_s > 0
    assert summary.cost_usd is None and "cost unknown" in summary.message


def test_an_unreadable_episode_is_listed_and_the_rest_judged(store, episodes, endpoint):
    endpoint.script = [Say(scores([10] * episodes.frames))]
    summary = judge_episodes(store, client(endpoint), list(episodes.ids), repeats=1, camera="side")
    assert summary.judged == 0 and [why for _, why in summary.failed][0].endswith("(videos: front)")
    with pytest.raises(ValueError, match="no episode 999 in the store"):
        judge_episodes(store, client(endpoint), [999])
    assert endpoint.requests == []


# -- the pairwise judge --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "first, swapped, winner", [("A", "B", "a"), ("Episode B", "episode a", "b"), ("tie", "tie", "tie")]
)
def test_the_pairwise_judge_writes_comparisons(store, episodes, endpoint, first, swapped, winner):
    endpoint.script = [
        Say(json.dumps({"winner": first, "reason": "one gets closer to the tray"})),
        Say(json.dumps({"winner": swapped, "reason": "the same, seen the other way round"})),
    ]
    pairs = same_scenario_pairs(store)
    assert pairs == [episodes.ids]
    summary = judge_pairs(store, client(endpoint), pairs)
    assert summary.judged == 1 and summary.cost_usd == pytest.approx(2 * (0.5 + 0.15))
    first_ask, second_ask = endpoint.requests
    assert len(image_parts(first_ask)) == 2 * episodes.frames
    assert "Episode A:" in texts(first_ask) and "Episode B:" in texts(first_ask)
    assert INSTRUCTION in texts(first_ask)
    # the second ask shows the same two episodes with the sides exchanged
    half = episodes.frames
    assert image_parts(second_ask) == image_parts(first_ask)[half:] + image_parts(first_ask)[:half]
    [row] = comparisons(store)
    assert (row.judge, row.winner, row.model, row.annotator) == ("vlm-pairwise", winner, MODEL, "")
    assert (row.episode_a_id, row.episode_b_id) == episodes.ids
    assert (row.reason, row.prompt_version) == ("one gets closer to the tray", "pairwise_v1")
    assert row.latency_s > 0 and row.seconds_spent is None
    # cached, in either order
    again = judge_pairs(store, client(endpoint), [episodes.ids[::-1]])
    assert again.cached == 1 and len(endpoint.requests) == 2 and len(comparisons(store)) == 1


def test_a_judge_that_follows_the_position_gives_a_tie(store, episodes, endpoint):
    endpoint.script = [Say(json.dumps({"winner": "A", "reason": "the first one is better"}))] * 2
    summary = judge_pairs(store, client(endpoint), [episodes.ids])
    assert summary.judged == 1 and len(endpoint.requests) == 2
    [row] = comparisons(store)
    assert row.winner == "tie" and row.reason.startswith("no majority") and "(a, b)" in row.reason


def test_pairwise_replies_are_parsed_and_retried_like_progress(store, episodes, endpoint):
    endpoint.script = [
        Say("B looks better."),
        Say(status=500, body="oops"),
        Say('My verdict: {"winner": "b", "reason": "it grasps the cube",}'),
        Say('{"winner": "b", "reason": "x"}'),  # sides swapped: this is episode a
        Say('{"winner": "b", "reason": "y"}'),
    ]
    summary = judge_pairs(store, client(endpoint, max_attempts=3), [episodes.ids], repeats=3)
    assert summary.judged == 1 and len(endpoint.requests) == 5
    [row] = comparisons(store)
    assert (row.winner, row.reason) == ("b", "it grasps the cube")  # 2 of 3 votes: b, a, b


def test_pairs_must_be_two_policies_in_one_scenario(store, episodes, endpoint):
    with pytest.raises(ValueError, match="not two policies in one scenario"):
        judge_pairs(store, client(endpoint), [(episodes.ids[0], episodes.ids[0])])
    assert endpoint.requests == [] and comparisons(store) == []


# -- no endpoint -----------------------------------------------------------------------------------
def test_without_an_endpoint_the_state_judge_runs_alone(store, episodes):
    assert vlm_config_from_env({}) is None and vlm_client_from_env({"OPENAI_API_KEY": KEY}) is None
    summary = judge_episodes(store, vlm_client_from_env({}), list(episodes.ids))
    assert summary.message == NO_ENDPOINT_MESSAGE and "state judge alone" in summary.message
    assert judge_pairs(store, None, [episodes.ids]).message == NO_ENDPOINT_MESSAGE
    assert judgments(store) == [] and comparisons(store) == [] and len(judgments(store, "state")) == 2


def test_the_endpoint_comes_from_the_environment():
    config = vlm_config_from_env(
        {
            "TWINARENA_VLM_MODEL": "qwen2.5-vl",
            "TWINARENA_VLM_BASE_URL": "http://gpu-box:8000/v1/",
            "OPENAI_API_KEY": KEY,
            "TWINARENA_VLM_PRICE_IN": "0.25",
            "TWINARENA_VLM_TIMEOUT": "30",
        }
    )
    assert (config.model, config.url, config.api_key) == (
        "qwen2.5-vl",
        "http://gpu-box:8000/v1/chat/completions",
        KEY,
    )
    assert (config.price_in, config.price_out, config.timeout_s) == (0.25, None, 30.0)
    assert KEY not in repr(config) and KEY not in repr(VlmClient(config))
    openai = vlm_config_from_env({"TWINARENA_VLM_MODEL": "gpt-4o-mini", "TWINARENA_VLM_API_KEY": "k"})
    assert openai.url == "https://api.openai.com/v1/chat/completions" and openai.api_key == "k"
    ollama = vlm_config_from_env(
        {"TWINARENA_VLM_MODEL": "llava", "OPENAI_BASE_URL": "http://localhost:11434/v1"}
    )
    assert ollama.url == "http://localhost:11434/v1/chat/completions" and ollama.api_key is None
    with pytest.raises(VlmError, match="TWINARENA_VLM_MODEL is not set"):
        vlm_config_from_env({"TWINARENA_VLM_BASE_URL": "http://gpu-box:8000/v1"})
    with pytest.raises(VlmError, match="TWINARENA_VLM_PRICE_OUT='cheap'"):
        vlm_config_from_env({"TWINARENA_VLM_MODEL": "m", "TWINARENA_VLM_PRICE_OUT": "cheap"})


# -- the pure parts --------------------------------------------------------------------------------
def test_frames_are_sampled_once_a_second_first_and_last_included():
    assert sample_indices(31, 10.0) == [0, 10, 20, 30]  # 3 s at 10 Hz
    assert sample_indices(26, 10.0) == [0, 13, 25]  # 2.5 s: evenly spread, the end kept
    assert sample_indices(31, 10.0, per_second=2) == [0, 5, 10, 15, 20, 25, 30]
    assert sample_indices(601, 10.0) == list(range(0, 601, 40))  # 60 s, capped at 16
    assert len(sample_indices(601, 10.0, max_frames=5)) == 5
    assert sample_indices(3, 10.0) == [0, 2] and sample_indices(1, 10.0) == [0]
    assert sample_indices(10, 10.0, max_frames=1) == [9]
    with pytest.raises(ValueError):
        sample_indices(0, 10.0)


def test_the_median_curve_and_the_last_30_percent():
    assert median_curve([[0, 50, 100], [10, 20, 30], [5, 90, 60]]) == [5.0, 50.0, 60.0]
    assert median_curve([[0, 10], [20, 30]]) == [10.0, 20.0]
    with pytest.raises(ValueError, match="equal length"):
        median_curve([[1, 2], [1, 2, 3]])
    assert [tail_length(n) for n in (1, 3, 4, 10, 16)] == [1, 1, 2, 3, 5]  # 0.3 × 10 is 3, not 4
    assert episode_score(list(range(10))) == 8.0
    assert episode_score([0, 0, 40, 60]) == 50.0
    assert episode_score([0, 100], tail=1.0) == 50.0
    assert majority(["a", "b", "a"]) == "a" and majority(["a", "b"]) == "tie" and majority(["tie"]) == "tie"


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"scores": [0, 50, 100], "reasoning": "done"}', (0, 50, 100)),
        ('```json\n{"scores": [1, 2, 3,], "reasoning": "x",}\n```', (1, 2, 3)),
        ('Here: {"scores": ["10", "20%", " 30.5 "]} — as asked.', (10, 20, 30.5)),
        (
            'The frames [1-3] show: {"progress": [{"frame": 1, "score": 5}, {"score": 6}, {"score": "7"}]}',
            (5, 6, 7),
        ),
        ("[4, 5, 6]", (4, 5, 6)),
        ('{"scores": [-5, 50, 120]}', (0, 50, 100)),  # clamped
    ],
)
def test_progress_replies_are_read_leniently(text, expected):
    reply = parse_progress(text, 3)
    assert reply.scores == tuple(float(v) for v in expected)
    assert reply.clamped == (2 if "120" in text else 0)


@pytest.mark.parametrize(
    "text, why",
    [
        ('{"scores": [1, 2]}', "2 scores for 3 frames"),
        ("I cannot see the robot.", "no JSON list of scores"),
        ('{"score": 50}', "no JSON list of scores"),
        ('{"scores": [1, "two", 3]}', "'two' is not a number"),
        ('{"scores": [1, NaN, 3]}', "not a finite number"),
        ('{"scores": [1, true, 3]}', "True is not a number"),
    ],
)
def test_malformed_progress_replies_are_refused(text, why):
    with pytest.raises(MalformedReply, match=why):
        parse_progress(text, 3)


def test_pairwise_replies_are_read_leniently():
    def read(text):
        reply = parse_winner(text)
        return reply.winner, reply.reason

    assert read('{"winner": "A", "reason": "faster"}') == ("a", "faster")
    assert parse_winner('```\n{"winner": "Episode B", "reasoning": "cleaner",}\n```').winner == "b"
    assert read('I would say {"winner": "Draw"}') == ("tie", "")
    with pytest.raises(MalformedReply, match="'C' is not A, B or tie"):
        parse_winner('{"winner": "C"}')
    with pytest.raises(MalformedReply, match="no JSON object with a 'winner'"):
        parse_winner("A is better")


def test_retry_after_and_backoff():
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("2") == 2.0 and retry_after_seconds("1.5") == 1.5
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:07 GMT", now) == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert [backoff_delay(a, 1.0, 5.0) for a in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]


def test_prompts_are_versioned_files_of_the_package():
    progress, pairwise = load_prompt("progress_v1"), load_prompt("pairwise_v1")
    assert (progress.version, pairwise.version) == ("progress_v1", "pairwise_v1")
    assert len(progress.sha256) == 64 and progress.sha256 != pairwise.sha256
    assert "$instruction" in progress.text and "put $5" in progress.render(
        instruction="put $5", n_frames=2, times=""
    )
    with pytest.raises(ValueError, match="no prompt 'progress_v9'.*progress_v1"):
        load_prompt("progress_v9")
