"""``twinarena judge`` and ``rank``: VLM judges over stored episodes, and Bradley–Terry ratings."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from benchmark.cli.output import DB_HELP, UserError, console, emit_json, progress, show


def judge(
    vlm: bool = typer.Option(False, "--vlm", help="Score each episode's progress with the VLM judge."),
    pairwise: bool = typer.Option(
        False, "--pairwise", help="Compare two policies' episodes of each scenario with the VLM."
    ),
    campaign: str = typer.Option(None, "--campaign", help="Only this campaign's episodes."),
    policy: str = typer.Option(None, "--policy", help="Only this policy's episodes."),
    limit: int = typer.Option(None, "--limit", min=1, help="At most this many episodes, newest first."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Asks per episode; the median curve counts."),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Judge stored episodes with a vision-language model (any OpenAI-compatible endpoint:
    $TWINARENA_VLM_MODEL, $TWINARENA_VLM_BASE_URL, $TWINARENA_VLM_API_KEY). Episodes already judged
    by the same model and prompt are skipped. The state judge scores every episode as it is stored."""
    from benchmark.judges import (
        NO_ENDPOINT_MESSAGE,
        JudgeSummary,
        judge_episodes,
        judge_pairs,
        same_scenario_pairs,
        vlm_client_from_env,
    )
    from benchmark.store import open_store

    if not (vlm or pairwise):
        raise UserError("say which judge: --vlm (progress per episode) and/or --pairwise")
    client = vlm_client_from_env()
    if client is None:  # nothing to read or show progress for: say that the state judge stands alone
        summary = JudgeSummary("vlm", skipped=NO_ENDPOINT_MESSAGE)
        if as_json:
            emit_json([{**asdict(summary), "message": summary.message}])
        else:
            console.print(summary.message, soft_wrap=True)
        return
    summaries = []
    with open_store(db) as store, progress() as bar:
        rows = store.episodes(campaign, policy=policy, limit=limit or 2**31 - 1)

        def tick(task):
            return lambda done, total: bar.update(task, completed=done, total=total)

        if vlm:
            task = bar.add_task("VLM progress judge", total=len(rows))
            summaries.append(judge_episodes(store, client, rows, repeats, tick(task)))
        if pairwise:
            pairs = same_scenario_pairs(store, rows)
            task = bar.add_task("VLM pairwise judge", total=len(pairs))
            summaries.append(judge_pairs(store, client, pairs, progress=tick(task)))
    if as_json:
        emit_json([{**asdict(s), "message": s.message} for s in summaries])
        return
    for summary in summaries:
        console.print(summary.message, soft_wrap=True)


def rank(
    judge: str = typer.Option(
        None, "--judge", help="state, vlm, human or vlm-pairwise: rank from the store."
    ),
    comparisons_csv: Path = typer.Option(
        None, "--comparisons", help="Rank a CSV of policy_a,policy_b,winner (a, b or tie) instead."
    ),
    campaign: str = typer.Option(None, "--campaign", help="Only this campaign's episodes."),
    ci: str = typer.Option("bootstrap", "--ci", help="bootstrap or sandwich intervals."),
    rounds: int = typer.Option(100, "--rounds", min=10, help="Bootstrap rounds."),
    seed: int = typer.Option(0, "--seed"),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Bradley–Terry ratings with 95 % intervals and rank intervals, from one judge's comparisons in
    the store (written back as that judge's ratings) or from a CSV file (nothing stored).

    Episode judges (state, vlm) count as comparisons of every two policies in the same scenario."""
    from benchmark.judges.standings import fit_and_store, read_comparisons_csv
    from benchmark.ranking import FEW_COMPARISONS
    from benchmark.ranking import rank as fit

    if (judge is None) == (comparisons_csv is None):
        raise UserError("give either --judge (rank from the store) or --comparisons FILE.csv")
    try:
        if comparisons_csv is not None:
            source = str(comparisons_csv)
            table = read_comparisons_csv(comparisons_csv)
            ratings = fit(table, ci=ci, rounds=rounds, seed=seed)
            total = len(table)
        else:
            from benchmark.store import open_store

            source = f"{judge} judge" + (f", campaign {campaign}" if campaign else "")
            with open_store(db) as store:
                ratings = fit_and_store(store, judge, campaign, ci, rounds, seed)
            total = int(ratings.n.sum() // 2)
    except ValueError as err:
        raise UserError(str(err)) from None
    rows = ratings.rows()
    if as_json:
        emit_json({"source": source, "method": ratings.method, "comparisons": total, "ratings": rows})
        return
    table = Table(
        *("rank", "policy", "rating", "95% interval", "rank interval", "comparisons"),
        title=f"Bradley–Terry ratings: {source} ({total} comparisons, {ratings.method})",
    )
    for r in rows:
        table.add_row(
            str(r["rank"]),
            r["policy"],
            f"{r['rating']:.0f}",
            f"{r['ci_low']:.0f}–{r['ci_high']:.0f}",
            f"{r['rank_low']}–{r['rank_high']}",
            str(r["n"]),
        )
    few = [f"{r['policy']} ({r['n']})" for r in rows if r["n"] < FEW_COMPARISONS]
    if few:
        table.caption = (
            f"too few comparisons (under {FEW_COMPARISONS}) for a stable rating: {', '.join(few)}; "
            "their intervals are at least the model's (sandwich) ones"
        )
    show(table)
