"""A client of one OpenAI-compatible chat-completions endpoint (vLLM, Ollama, OpenAI, Gemini's
OpenAI-compatible API), configured from the environment.

Timeouts, connection errors, 408, 429 (after its ``Retry-After``, capped), 5xx and malformed
replies are retried with exponential backoff up to ``max_attempts`` per request; other HTTP errors
(400, 401, 404, …) are not. Giving up raises :class:`VlmError`, naming the endpoint and model,
never the key. Tokens, cost (from ``usage`` and the configured prices) and latency come back with
every answer.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar

from benchmark.errors import VlmError
from benchmark.judges.parsing import MalformedReply, _excerpt, reply_text

T = TypeVar("T")

OPENAI_BASE_URL = "https://api.openai.com/v1"
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
