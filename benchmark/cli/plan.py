"""``twinarena plan``: how many scenarios per policy a campaign needs to detect a success gap (the
arithmetic is :func:`benchmark.ranking.power.plan`)."""

from __future__ import annotations

import typer

from benchmark.cli.output import UserError, emit_json


def plan_command(
    detect: float = typer.Option(..., "--detect", help="The success-rate gap to detect, e.g. 0.1."),
    base: float = typer.Option(0.5, "--base", help="The reference policy's success rate."),
    paired: bool = typer.Option(
        True, "--paired/--unpaired", help="Both policies on the same scenarios (default), or each on its own."
    ),
    power: float = typer.Option(0.95, "--power", help="The wanted chance of detecting the gap."),
    alpha: float = typer.Option(0.05, "--alpha", help="The test's level (two-sided)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Scenarios per policy for a comparison that detects a success gap of DETECT around BASE
    (both directions) with the given power, from the exact power of the test the reports use:
    McNemar's exact test paired (`twinarena report --vs`), Newcombe's interval unpaired."""
    from benchmark.ranking.power import plan

    try:
        result = plan(detect, base, paired, power, alpha)
    except ValueError as err:
        raise UserError(str(err)) from None
    if as_json:
        emit_json(result.as_dict())
        return
    design = (
        "paired: both policies on the same scenarios"
        if paired
        else "unpaired: each policy on scenarios of its own"
    )
    gaps = ", ".join(f"gap {gap}: {value:.3f}" for gap, value in result.powers.items())
    typer.echo(f"scenarios per policy: {result.scenarios} ({design})")
    typer.echo(
        f"detects a success gap of {detect:g} around {base:g} with power {result.achieved:.3f} "
        f"(asked {power:g}; {gaps}) at two-sided alpha {alpha:g}"
    )
    typer.echo(f"test: {result.test}")
    typer.echo(f"assumes: {result.assumption}")
    typer.echo(
        "a campaign's scenarios per policy are twins × perturbation cells × seeds "
        "(`twinarena evaluate --seeds`); count only the cells you will compare over"
    )
