"""Tables of validity studies' results, for ``twinarena validate`` and ``bench/validity_study.py``."""

from __future__ import annotations


def policy_table(result: dict):
    """Each policy's success in the reference world and in the twin."""
    from rich.table import Table

    table = Table(
        *("policy", "reference", "twin", "episodes"),
        title=f"{result['reference']}/{result['task']}: success per policy",
    )
    for row in result["per_policy"]:
        table.add_row(
            row["policy"], f"{row['reference_success']:.2f}", f"{row['twin_success']:.2f}", str(row["n"])
        )
    return table


def summary_table(results: list[dict]):
    """One row per study: the twin's recording style (blank against a real robot), Pearson r, MMRV
    and Kendall τ with their intervals, the verdict, the blame."""
    from rich.table import Table

    from benchmark.validity.study import MMRV_TARGET, PEARSON_TARGET

    columns = ("scene", "task", "twin from", "policies", "scenarios", "Pearson r", "MMRV", "Kendall τ")
    columns += ("meets", "blame")
    table = Table(
        *columns, title=f"Twin validity (targets: Pearson ≥ {PEARSON_TARGET}, MMRV ≤ {MMRV_TARGET})"
    )
    for r in results:
        table.add_row(
            r["reference"],
            r["task"],
            r.get("style") or "",
            str(r["n_policies"]),
            str(r["n_scenarios"]),
            *(
                f"{r[m]['value']:.3f} [{r[m]['low']:.2f}, {r[m]['high']:.2f}]"
                for m in ("pearson", "mmrv", "kendall")
            ),
            "yes" if r["passed"] else "no",
            r["blame"] or "",
        )
    return table
