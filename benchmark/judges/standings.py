"""From the store's judgments to its ratings: the comparisons each judge stands for, fitted with
:mod:`benchmark.ranking` and written to the ``ratings`` table (which pairwise leaderboards read).

- ``human``: the valid votes of qualified annotators (:func:`benchmark.judges.preferences.human_comparisons`);
- ``vlm-pairwise``: the VLM's A/B/tie verdicts;
- ``state`` and ``vlm``: episode judges, turned into comparisons of every two policies that
  played the same scenario (the better score wins; the state judge ranks success first, then
  progress), so every judge is ranked the same way and their rankings can be compared.

The comparisons are counted in SQL (:mod:`benchmark.store.standings`); the rows never pass
through Python one by one.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from benchmark.errors import ComparisonsError
from benchmark.ranking import A_WINS, B_WINS, TIE, Comparisons, Ratings, comparisons, rank
from benchmark.store.queries import JUDGES
from benchmark.store.standings import judge_counts, replace_ratings

CSV_COLUMNS = ("policy_a", "policy_b", "winner")


def table_from_counts(counts: list[tuple[str, str, str, int]]) -> Comparisons:
    """The comparisons table of ``(policy_a, policy_b, winner, count)`` rows."""
    counts = [row for row in counts if row[3] > 0]
    if not counts:
        raise ValueError("no comparisons to rank")
    names = tuple(sorted({p for row in counts for p in row[:2]}))
    index = {name: k for k, name in enumerate(names)}
    code = {"a": A_WINS, "b": B_WINS, "tie": TIE}
    repeats = np.array([row[3] for row in counts], np.int64)
    return Comparisons(
        names,
        np.repeat([index[row[0]] for row in counts], repeats),
        np.repeat([index[row[1]] for row in counts], repeats),
        np.repeat([code[row[2]] for row in counts], repeats).astype(np.int8),
    )


def judge_table(store, judge: str, campaign: str | None = None, model: str | None = None) -> Comparisons:
    """The comparisons ``judge`` stands for in the store (or in one campaign)."""
    if judge not in JUDGES:
        raise ValueError(f"unknown judge {judge!r}; judges: {', '.join(JUDGES)}")
    if judge == "human":
        from benchmark.judges.preferences import human_comparisons

        if campaign is not None:
            raise ValueError("human votes are ranked over the whole store, not per campaign")
        rows = [tuple(row) for row in human_comparisons(store)]
        if not rows:
            raise ValueError(f"no valid human votes in {store.url}")
        return comparisons(rows)
    counts = judge_counts(store, (judge,), campaign, model)[judge]
    if not counts:
        where = f" in campaign {campaign!r}" if campaign else ""
        raise ValueError(f"no {judge} judgments to compare{where} in {store.url}")
    return table_from_counts(counts)


def fit_and_store(
    store,
    judge: str,
    campaign: str | None = None,
    ci: str = "bootstrap",
    rounds: int = 100,
    seed: int = 0,
    model: str | None = None,
) -> Ratings:
    """Fit Bradley–Terry ratings with intervals for ``judge`` and replace its stored ratings (scope:
    the campaign's name, or empty for the whole store)."""
    ratings = rank(judge_table(store, judge, campaign, model), ci=ci, rounds=rounds, seed=seed)
    replace_ratings(store, judge, campaign or "", ratings.method, ratings.rows())
    return ratings


def read_comparisons_csv(path: str | Path) -> Comparisons:
    """A table from a CSV file with the columns ``policy_a``, ``policy_b`` and ``winner`` (``a``,
    ``b`` or ``tie``): comparisons exported from elsewhere, ranked without the store. Anything
    else raises :class:`ComparisonsError` naming the file and the line."""
    path = Path(path)
    rows, lines = [], []
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            reader = csv.reader(stream)
            header = next(reader, [])
            missing = [c for c in CSV_COLUMNS if c not in header]
            if missing:
                raise ComparisonsError(
                    f"{path}: missing column(s) {', '.join(missing)}; expected a header with "
                    f"{', '.join(CSV_COLUMNS)}"
                )
            columns = [header.index(c) for c in CSV_COLUMNS]
            for row in reader:
                if not row:
                    continue  # a blank line
                if len(row) != len(header):
                    raise ComparisonsError(
                        f"{path}: line {reader.line_num} has {len(row)} fields; the header has "
                        f"{len(header)} ({', '.join(header)})"
                    )
                a, b, winner = (row[k].strip() for k in columns)
                rows.append((a, b, winner.lower()))
                lines.append(reader.line_num)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ComparisonsError(f"{path}: cannot read it as CSV ({err})") from None
    try:
        return comparisons(rows)
    except ValueError as err:  # name the line a person can find
        text = str(err)
        if text.startswith("row "):
            number, _, rest = text[4:].partition(" ")
            if number.isdigit():
                text = f"line {lines[int(number)]} {rest}"
        raise ComparisonsError(f"{path}: {text}") from None
