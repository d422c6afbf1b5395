"""The ``twinarena`` command line: a thin shell over the library; each command's work lives elsewhere.

The commands live in one module per group (:mod:`benchmark.cli.scenes`, :mod:`~benchmark.cli.episodes`,
…), share :mod:`benchmark.cli.output`, and are registered here, in the order ``--help`` lists them."""

from __future__ import annotations

import typer
from rich.text import Text

from benchmark.cli import campaigns, demo, episodes, judging, plan, policies, report, scenes, twins, validate
from benchmark.cli.dashboard import dashboard_command
from benchmark.cli.output import UserError, console

__all__ = ["app", "main"]

app = typer.Typer(
    name="twinarena",
    help="Evaluate robot manipulation policies in digital twins of demonstration scenes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for command in (scenes.scenes, scenes.record, demo.demo, scenes.perturbations, episodes.episode):
    app.command()(command)
app.command("serve-policy")(episodes.serve_policy)
app.command("train-baseline")(policies.train_baseline_command)
for command in (
    policies.submit,
    policies.policies,
    campaigns.evaluate,
    campaigns.leaderboard,
    campaigns.episodes,
    judging.judge,
    judging.rank,
    campaigns.campaigns,
):
    app.command()(command)
app.add_typer(twins.twin_app, name="twin")
app.command("report")(report.report_command)
app.command("plan")(plan.plan_command)
app.command("dashboard")(dashboard_command)
app.command("validate")(validate.validate_command)


def main() -> None:
    """Console entry point: user errors print one line and exit 2, never a traceback."""
    from benchmark.errors import (
        CampaignError,
        ComparisonsError,
        PerturbationError,
        PolicyError,
        ScenarioError,
        StoreError,
        SubmissionError,
        TrainingDataError,
        VlmError,
    )
    from twin.demonstration import DemonstrationError
    from twin.errors import TwinBuildError
    from twin.lerobot import LeRobotFormatError
    from twin.package import TwinPackageError
    from twin.scene.gl import HeadlessGLError
    from twin.scene.spec import SceneSpecError

    user_errors = (
        CampaignError,
        ComparisonsError,
        ScenarioError,
        PerturbationError,
        SubmissionError,
        PolicyError,
        StoreError,
        TrainingDataError,
        VlmError,
        UserError,
        SceneSpecError,
        DemonstrationError,
        LeRobotFormatError,
        TwinBuildError,
        TwinPackageError,
        HeadlessGLError,
        FileExistsError,
    )
    try:
        app(standalone_mode=False)
    except user_errors as err:
        console.print(Text.assemble(("error:", "red"), f" {err}"), soft_wrap=True)
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        console.print("[yellow]aborted[/]")
        raise SystemExit(130) from None
    except Exception as err:
        # usage errors: click's exceptions, or typer's vendored copies of them (typer ≥ 0.25 ships
        # no click), both of which know how to show themselves
        if hasattr(err, "show") and isinstance(getattr(err, "exit_code", None), int):
            err.show()
            raise SystemExit(err.exit_code) from None
        raise


if __name__ == "__main__":
    main()
