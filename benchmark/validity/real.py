"""A twin against success rates measured on a real robot: ``twinarena validate --real RATES.csv``.

The CSV has a header and one row per policy: ``policy,successes,trials`` (other columns, such as
notes, are ignored). The twin runs every listed policy over the study's scenarios and seeds; the
comparison is SIMPLER's (Pearson r, MMRV, Kendall τ of the per-policy rates).

Both sides are samples, so the intervals resample both: each bootstrap round redraws every
policy's real successes from ``Binomial(trials, successes / trials)`` (resampling its real trials)
and resamples the twin's scenario columns. :func:`bootstrap_against_real` is the pure math;
:func:`read_real_rates` and :func:`run_real_study` are the I/O shells.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.validity import metrics
from benchmark.validity.reference import ValidityError

COLUMNS = ("policy", "successes", "trials")
MAX_CSV_BYTES = 1024**2


@dataclass(frozen=True)
class RealRate:
    """One policy's record on the real robot."""

    policy: str
    successes: int
    trials: int

    @property
    def rate(self) -> float:
        return self.successes / self.trials


def parse_real_rates(text: str, where: str = "real rates") -> list[RealRate]:
    """The rows of a real-rates CSV; raises :class:`ValidityError` naming the line and the fault."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ValidityError(
            f"{where}: the header needs columns {', '.join(COLUMNS)}; missing {', '.join(missing)}"
        )
    rows: list[RealRate] = []
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        if not any(row.values()):
            continue
        at = f"{where}, line {line}"
        try:
            successes, trials = int(row["successes"]), int(row["trials"])
        except (KeyError, ValueError):
            raise ValidityError(
                f"{at}: successes and trials must be whole numbers, got "
                f"{row.get('successes')!r} and {row.get('trials')!r}"
            ) from None
        if not row.get("policy"):
            raise ValidityError(f"{at}: no policy named")
        if trials < 1 or not 0 <= successes <= trials:
            raise ValidityError(f"{at}: need 0 ≤ successes ≤ trials and trials ≥ 1, got {successes}/{trials}")
        if any(r.policy == row["policy"] for r in rows):
            raise ValidityError(f"{at}: policy {row['policy']!r} is listed twice")
        rows.append(RealRate(row["policy"], successes, trials))
    if len(rows) < 2:
        raise ValidityError(f"{where}: a comparison needs at least two policies, got {len(rows)}")
    return rows


def read_real_rates(path: str | Path) -> tuple[list[RealRate], str]:
    """The rows of the CSV at ``path`` and its SHA-256."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise ValidityError(f"{path}: over {MAX_CSV_BYTES // 1024} KiB, not a table of success rates")
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError as err:
        raise ValidityError(f"{path}: cannot read it ({err.strerror})") from None
    except UnicodeDecodeError:
        raise ValidityError(f"{path}: not UTF-8 text") from None
    return parse_real_rates(text, str(path)), hashlib.sha256(raw).hexdigest()


def bootstrap_against_real(
    real: list[RealRate], twin, rng: np.random.Generator, rounds: int = 1000, level: float = 0.95
) -> dict[str, metrics.Estimate]:
    """Pearson, MMRV and Kendall τ of the real rates against a [policies, scenarios] 0/1 twin
    matrix (rows in ``real``'s order), each with a percentile interval from ``rounds`` rounds that
    redraw the real successes binomially and resample the twin's scenario columns."""
    tw = np.asarray(twin, dtype=float)
    if tw.ndim != 2 or tw.shape[0] != len(real) or tw.shape[1] < 1:
        raise ValueError(f"a [{len(real)}, scenarios] twin matrix expected, got shape {tw.shape}")
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    trials = np.array([r.trials for r in real])
    rates = np.array([r.rate for r in real])
    redrawn = rng.binomial(trials, rates, size=(rounds, len(real))) / trials
    columns = rng.integers(0, tw.shape[1], size=(rounds, tw.shape[1]))
    twin_rates = np.stack([tw[:, c].mean(axis=1) for c in columns])
    alpha = (1.0 - level) / 2
    out = {}
    for name, metric in metrics.METRICS.items():
        draws = np.array([metric(r, t) for r, t in zip(redrawn, twin_rates, strict=True)])
        low, high = np.quantile(draws, [alpha, 1.0 - alpha])
        out[name] = metrics.Estimate(metric(rates, tw.mean(axis=1)), float(low), float(high))
    return out


def run_real_study(
    store, rates_csv: str | Path, twin: str | Path, config, executor=None, hooks=None
) -> dict[str, Any]:
    """Run the CSV's policies in ``twin`` and compare them with their real rates; store and
    return the study (as :func:`benchmark.validity.study.run_study` does)."""
    from benchmark.campaigns.executors import LocalExecutor
    from benchmark.ranking.paired import wilson
    from benchmark.validity.study import MMRV_TARGET, PEARSON_TARGET, Hooks, outcome_matrices, run_world
    from twin.package import check_twin, read_twin

    hooks = hooks or Hooks()
    real, digest = read_real_rates(rates_csv)
    twin = Path(twin)
    problems = check_twin(twin)
    if problems:
        raise ValidityError(f"twin {twin} is not a sound package: {problems[0]}")
    policies = tuple(r.policy for r in real)
    name, report, twin_hash, out = run_world(
        store, twin, "twin", policies, config, executor or LocalExecutor(1), hooks
    )
    scenarios, tw, _ = outcome_matrices(policies, out, out)
    if not scenarios:
        raise ValidityError(
            f"no scenario has an episode of every policy in {twin}; see the campaign's errors"
        )
    estimates = bootstrap_against_real(real, tw, np.random.default_rng(config.seed), config.rounds)
    low, high = wilson(np.array([r.successes for r in real]), np.array([r.trials for r in real]), 1.96)
    per_policy = [
        {
            "policy": r.policy,
            "reference_success": r.rate,
            "twin_success": float(tw[i].mean()),
            "n": len(scenarios),
            "real_successes": r.successes,
            "real_trials": r.trials,
            "real_interval": [float(low[i]), float(high[i])],
        }
        for i, r in enumerate(real)
    ]
    result = {k: e.to_dict() for k, e in estimates.items()}
    spread = float(np.ptp([r.rate for r in real]))
    passed = (
        spread > 0 and result["pearson"]["value"] >= PEARSON_TARGET and result["mmrv"]["value"] <= MMRV_TARGET
    )
    detail = {
        "campaigns": {"twin": name},
        "errors": {"twin": len(report.errors)},
        "real": {"file": str(rates_csv), "sha256": digest, "rows": [asdict(r) for r in real]},
        "reference_spread": spread,
        "sweeps": [f"{s.axis}={','.join(f'{v:g}' for v in s.levels)}" for s in config.sweeps],
        "seeds": config.seeds,
        "targets": {"pearson": PEARSON_TARGET, "mmrv": MMRV_TARGET},
        "intervals": "both sides resampled: real successes redrawn binomially, twin scenarios bootstrapped",
        "honesty": [],
        "ablation": [],
        "twin_folder": str(twin),
    }
    stored = {
        "reference": f"real:{Path(rates_csv).stem}",
        "task": str(read_twin(twin).task.get("name", "?")),
        "n_policies": len(policies),
        "n_scenarios": len(scenarios),
        **result,
        "passed": passed,
        "per_policy": per_policy,
        "blame": None,
        "detail": json.loads(json.dumps(detail, default=str)),
    }
    row_id = store.add_validity(twin_hash, None, stored)
    return {"id": row_id, "twin_hash": twin_hash, "reference_hash": None, **stored}
