"""The ``twinarena`` command line: a thin shell over the library; each command's work lives elsewhere."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

app = typer.Typer(
    name="twinarena",
    help="Evaluate robot manipulation policies in digital twins of demonstration scenes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
DB_HELP = "Store URL (default: $TWINARENA_DB or a local SQLite file)."


class UserError(Exception):
    """An error caused by the user's input: printed as one clear line, exit code 2."""


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _emit_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=1) + "\n")


@app.command()
def scenes(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the reference scenes and their tasks."""
    from benchmark.scenes.registry import load_scene, scene_names

    rows = []
    for name in scene_names():
        scene = load_scene(name)
        rows.append(
            {
                "name": scene.name,
                "description": scene.description,
                "objects": [o.name for o in scene.objects],
                "cameras": [c.name for c in scene.cameras],
                "tasks": [
                    {
                        "name": t.name,
                        "family": t.family,
                        "object": t.object,
                        "target": t.target,
                        "instruction": t.instruction,
                    }
                    for t in scene.tasks
                ],
            }
        )
    if as_json:
        _emit_json(rows)
        return
    table = Table(title="Reference scenes")
    for column in ("scene", "task", "family", "instruction"):
        table.add_column(column)
    for row in rows:
        for task in row["tasks"]:
            table.add_row(row["name"], task["name"], task["family"], task["instruction"])
    Console().print(table)


@app.command()
def record(
    scene: str = typer.Option(..., "--scene", help="A reference scene name, or a scene spec file."),
    episodes: int = typer.Option(1, "--episodes", min=1, help="Number of demonstrations."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first episode; episode i uses seed+i."),
    out: Path = typer.Option(..., "-o", "--out", help="New output folder (must not exist)."),
    task: str = typer.Option(None, "--task", help="Task name within the scene (default: the first)."),
    scan_frames: int = typer.Option(30, "--scan-frames", min=2, help="Frames in the opening camera sweep."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Record scripted-expert demonstrations in the demonstration folder format."""
    from dataclasses import asdict

    from benchmark.scenes.recording import RecordConfig
    from benchmark.scenes.recording import record as run_record
    from benchmark.scenes.registry import load_scene

    spec = load_scene(scene)
    if out.exists():
        raise UserError(f"output folder {out} already exists; choose a new one or remove it")
    with _progress() as bar:
        job = bar.add_task(f"record {spec.name}", total=episodes)
        summaries = run_record(
            spec,
            out,
            episodes,
            seed,
            task,
            RecordConfig(scan_frames=scan_frames),
            on_episode=lambda s: bar.advance(job),
        )
    if as_json:
        _emit_json([asdict(s) for s in summaries])
        return
    ok = sum(s.success for s in summaries)
    console.print(
        f"[green]wrote {len(summaries)} demonstrations to {out}[/]; expert success {ok}/{len(summaries)}"
    )


@app.command()
def demo(
    out: Path = typer.Option(Path("twinarena-demo"), "-o", "--out", help="Output folder."),
    episodes: int = typer.Option(2, "--episodes", min=1, help="Demonstrations per reference scene."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output folder if it exists."),
    splat_steps: int = typer.Option(300, "--splat-steps", min=1, help="Splat steps per twin build."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Run every stage that exists so far on the embedded defaults."""
    from benchmark.demo import run_demo

    result = run_demo(
        out, episodes=episodes, overwrite=overwrite, progress_factory=_progress, splat_steps=splat_steps
    )
    if as_json:
        _emit_json(result)
        return
    table = Table(title="Scripted expert on the reference scenes")
    for column in ("scene", "task", "success", "mean progress"):
        table.add_column(column)
    for row in result["scenes"]:
        table.add_row(
            row["scene"], row["task"], f"{row['successes']}/{row['episodes']}", f"{row['mean_progress']:.2f}"
        )
    Console().print(table)
    twins = Table(title="Twins of the first demonstrations")
    for column in ("scene", "task", "objects", "position err", "size err", "PSNR", "expert in twin"):
        twins.add_column(column)
    for row in result["twins"]:
        twins.add_row(
            row["scene"],
            row["task"],
            row["objects_found"],
            f"{row['max_position_error_m'] * 100:.2f} cm",
            f"{row['max_size_error']:.1%}",
            f"{row['psnr_db']:.1f} dB",
            "success" if row["expert_success_in_twin"] else "failure",
        )
    Console().print(twins)
    board = [SimpleNamespace(**row) for row in result["evaluation"]["leaderboard"]]
    Console().print(_leaderboard_table(board, "Leaderboard in the first twin (state judge)"))
    for key, value in result["artifacts"].items():
        console.print(f"{key}: {value}")


def _twin_path(text: str) -> Path:
    """A twin package folder, or ``SCENE`` / ``SCENE/TASK`` naming a packaged reference scene."""
    from benchmark.campaigns.evaluate import twin_folder

    return twin_folder(text)


def _size(text: str) -> tuple[int, int]:
    size = text.lower().split("x")
    try:
        return int(size[0]), int(size[-1])
    except ValueError:
        raise UserError(f"--image-size {text!r}: expected WIDTHxHEIGHT, e.g. 224x224") from None


@app.command()
def perturbations(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the perturbation axes: unit, group and what level 1 means."""
    from benchmark.perturbations.axes import axis_table

    rows = axis_table()
    if as_json:
        _emit_json(rows)
        return
    table = Table(title=f"{len(rows)} perturbation axes (level 0 = unperturbed, 1 = strongest)")
    for column in ("axis", "group", "unit", "at level 1", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["axis"], row["group"], row["unit"], row["at_level_1"], row["description"])
    Console().print(table)


POLICY_HELP = (
    "A built-in policy (vision-expert[?noise=S], random), a submission path (weights folder, "
    "TorchScript file, code folder or wheel), ws://HOST:PORT, or a registered name."
)


@app.command()
def episode(
    twin: str = typer.Argument(..., help="A twin package folder, or a reference SCENE or SCENE/TASK."),
    out: Path = typer.Option(..., "-o", "--out", help="New episode folder."),
    policy: str = typer.Option("vision-expert", "--policy", help=POLICY_HELP),
    seed: int = typer.Option(0, "--seed"),
    perturb: list[str] = typer.Option(None, "--perturb", "-p", help="AXIS=LEVEL; repeat to compose."),
    image_size: str = typer.Option(None, "--image-size", help="WIDTHxHEIGHT (default: the policy's)."),
    render: str = typer.Option("auto", "--render", help="auto, splat or mesh."),
    backend: str = typer.Option("mujoco", "--backend", help="Physics: mujoco or pybullet."),
    step_timeout: float = typer.Option(30.0, "--step-timeout", min=0.01, help="Seconds per action."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output folder if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Run one episode of a policy in a twin and write its videos, trajectory and outcome."""
    from dataclasses import asdict

    from benchmark.episodes.episode import run_episode

    loaded, env = _policy_and_env(policy, twin, seed, perturb, image_size, render, backend)
    try:
        with console.status(f"episode of {policy} in {env.twin.name}"):
            outcome = run_episode(env, loaded, seed, out, step_timeout=step_timeout, overwrite=overwrite)
    finally:
        env.close()
        getattr(loaded, "close", lambda: None)()
    if as_json:
        _emit_json({"episode": str(out), **asdict(outcome)})
        return
    colour = "green" if outcome.success else "yellow"
    detail = f" ({outcome.detail})" if outcome.detail else ""
    console.print(
        f"[{colour}]{outcome.termination}[/]{detail} after {outcome.steps} steps, "
        f"progress {outcome.progress:.2f}; wrote {out}"
    )


def _policy_and_env(spec, twin, seed, perturb, image_size, render, backend):
    """Load the policy named by ``spec`` and the env it runs in; the env takes the policy's
    action space, cameras, image size and control rate (built-ins: the defaults), unless the
    command line sets the image size."""
    from benchmark.campaigns.campaign import RunSettings, env_config
    from benchmark.episodes.env import TwinEnv
    from benchmark.policies.loaders import load_policy, parse_builtin
    from benchmark.policies.protocol import PolicyInfo

    path = _twin_path(twin)
    settings = RunSettings(
        render=render, backend=backend, image_size=_size(image_size) if image_size else None
    )
    if parse_builtin(spec) is not None:
        env = TwinEnv(path, env_config(PolicyInfo(spec), settings, tuple(perturb or ())))
        return load_policy(spec, env=env, seed=seed)[0], env
    policy, info = load_policy(spec, seed=seed)
    return policy, TwinEnv(path, env_config(info, settings, tuple(perturb or ())))


@app.command("serve-policy")
def serve_policy(
    spec: str = typer.Argument(..., help=POLICY_HELP),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="0 picks a free port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    twin: str = typer.Option(
        "tray_pick", "--twin", help="For built-in policies: the twin they are calibrated in."
    ),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Serve a policy over the openpi websocket protocol (metadata first, then msgpack actions).

    Submitted code still runs in its own worker process; the server only relays."""
    from benchmark.policies.loaders import load_policy, parse_builtin
    from benchmark.policies.protocol import ACTION_SPACE_DIMS
    from benchmark.policies.remote import serve

    env = None
    if parse_builtin(spec) is not None:
        from benchmark.episodes.env import EnvConfig, TwinEnv

        env = TwinEnv(_twin_path(twin), EnvConfig(render="mesh"))
    policy, info = load_policy(spec, env=env, seed=seed)
    metadata = {**info.to_dict(), "action_dim": ACTION_SPACE_DIMS[info.action_space]}
    metadata.pop("extra")

    def ready(bound: int) -> None:
        console.print(f"[green]serving {spec} on ws://{host}:{bound}[/] (Ctrl-C stops)", soft_wrap=True)

    try:
        serve(policy, metadata, host=host, port=port, ready=ready)
    finally:
        getattr(policy, "close", lambda: None)()
        if env is not None:
            env.close()


@app.command("train-baseline")
def train_baseline_command(
    episodes: list[Path] = typer.Argument(
        None, help="Episode folders, or folders of them (default: collect with --collect)."
    ),
    architecture: str = typer.Option("state_mlp", "--arch", help="state_mlp or image_cnn."),
    out: Path = typer.Option(..., "-o", "--out", help="Weights folder to write (safetensors + config.json)."),
    collect: str = typer.Option(
        None,
        "--collect",
        help="A twin folder or reference SCENE/TASK: record vision-expert demonstrations there first.",
    ),
    demos: int = typer.Option(60, "--demos", min=1, help="Demonstrations to collect."),
    epochs: int = typer.Option(
        None, "--epochs", min=1, help="Training epochs (default: the architecture's)."
    ),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Behaviour-clone a baseline (MLP on the state, or a small CNN on one camera) on the CPU."""
    from benchmark.policies.training import (
        DEFAULT_EPOCHS,
        collect_demonstrations,
        episode_folders,
        train_baseline,
    )

    if architecture not in DEFAULT_EPOCHS:
        raise UserError(f"--arch {architecture!r}: expected one of {', '.join(DEFAULT_EPOCHS)}")

    if out.exists():
        raise UserError(f"output folder {out} already exists; choose a new one or remove it")
    roots = list(episodes or [])
    if collect:
        root = out.with_name(out.name + "-demonstrations")
        with _progress() as bar:
            job = bar.add_task(f"demonstrations in {collect}", total=demos)
            collect_demonstrations(
                _twin_path(collect), root, demos, seed=1000 + seed, progress=lambda *_: bar.advance(job)
            )
        roots.append(root)
    if not roots:
        raise UserError("give episode folders, or --collect TWIN to record demonstrations first")
    folders = [f for r in roots for f in ([r] if (r / "episode.json").exists() else episode_folders(r))]
    if not folders:
        raise UserError(f"no successful episodes under {', '.join(map(str, roots))}")
    with _progress() as bar:
        job = bar.add_task(f"train {architecture}", total=epochs or DEFAULT_EPOCHS[architecture])
        summary = train_baseline(
            folders, architecture, out, epochs=epochs, seed=seed, progress=lambda *_: bar.advance(job)
        )
    if as_json:
        _emit_json(summary)
        return
    console.print(f"[green]wrote {out}[/]: {architecture} on {len(folders)} episodes")


@app.command()
def submit(
    path: str = typer.Argument(
        ..., help="Weights folder, TorchScript file, code folder or wheel, or ws://HOST:PORT."
    ),
    name: str = typer.Option(..., "--name", help="The name it will have on the leaderboard."),
    owner: str = typer.Option(None, "--owner"),
    licence: str = typer.Option(None, "--licence"),
    action_space: str = typer.Option(None, "--action-space", help="ee_delta or joint_position."),
    cameras: str = typer.Option(None, "--cameras", help="Comma-separated camera names it reads."),
    image_size: str = typer.Option(None, "--image-size", help="WIDTHxHEIGHT it expects."),
    control_hz: float = typer.Option(None, "--control-hz", help="Its control rate."),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Validate a policy submission in a worker, hash it and register it in the store.

    The metadata comes from the submission's policy.json or config.json; options override it."""
    from benchmark.policies.submissions import submit as register
    from benchmark.store import open_store

    overrides = {
        "owner": owner,
        "licence": licence,
        "action_space": action_space,
        "cameras": [c.strip() for c in cameras.split(",") if c.strip()] if cameras else None,
        "image_size": _size(image_size) if image_size else None,
        "control_hz": control_hz,
    }
    with open_store(db) as store, console.status(f"validating {path} in a worker"):
        record, probe = register(path, name, store, overrides)
    if as_json:
        _emit_json({**_record_json(record), "probe": probe.__dict__})
        return
    console.print(
        f"[green]registered {record.name}[/] ({record.kind}, sha256 {(record.sha256 or '-')[:12]}): "
        f"action {probe.action_shape} in {probe.first_answer_ms:.1f} ms"
    )


@app.command()
def policies(
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List the registered policies."""
    from benchmark.store import open_store

    with open_store(db) as store:
        records = store.list_policies()
    if as_json:
        _emit_json([_record_json(r) for r in records])
        return
    table = Table(title=f"{len(records)} registered policies")
    for column in ("name", "kind", "status", "action space", "image", "owner", "sha256"):
        table.add_column(column)
    for r in records:
        status = r.status if not r.reason else f"{r.status}: {r.reason[:80]}"
        size = "{}x{}".format(*r.image_size)
        table.add_row(r.name, r.kind, status, r.action_space, size, r.owner, (r.sha256 or "")[:12])
    Console().print(table)


@app.command()
def evaluate(
    policy: list[str] = typer.Option(
        ..., "--policy", help="A registered policy or a built-in (vision-expert, random); repeat for more."
    ),
    twin: list[str] = typer.Option(
        ..., "--twin", help="A twin folder, or a reference SCENE or SCENE/TASK; repeat."
    ),
    perturb: list[str] = typer.Option(
        None, "--perturb", help="AXIS=LEVEL[,LEVEL…], swept one axis at a time; repeat for more axes."
    ),
    seeds: int = typer.Option(10, "--seeds", min=1, help="Episodes per policy and scenario cell."),
    interactions: bool = typer.Option(
        False, "--interactions", help="Also every two swept axes composed (cells named a+b)."
    ),
    name: str = typer.Option(None, "--name", help="Campaign name (default: campaign-<key>)."),
    executor: str = typer.Option("local", "--executor", help="local (worker processes) or ray."),
    workers: int = typer.Option(
        None,
        "--workers",
        min=1,
        help="Local worker processes (1: in-process), or a local Ray's CPUs; default one per CPU, at most 8.",
    ),
    ray_address: str = typer.Option(
        None, "--ray-address", help="A running Ray cluster (with --executor ray)."
    ),
    image_size: str = typer.Option(None, "--image-size", help="WIDTHxHEIGHT for every policy."),
    render: str = typer.Option("auto", "--render", help="auto, splat or mesh."),
    backend: str = typer.Option("mujoco", "--backend", help="mujoco or pybullet."),
    step_timeout: float = typer.Option(30.0, "--step-timeout", min=0.01, help="Seconds per policy answer."),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Run a campaign: every policy in every twin, unperturbed and under each perturbation level,
    over seeds. Episodes already in the store are kept; running it again runs only what is missing."""
    from benchmark.campaigns.campaign import CampaignSpec, RunSettings, parse_sweep
    from benchmark.campaigns.evaluate import run_campaign
    from benchmark.campaigns.executors import default_workers, make_executor
    from benchmark.store import open_store

    settings = RunSettings(
        render=render,
        backend=backend,
        step_timeout=step_timeout,
        image_size=_size(image_size) if image_size else None,
    )
    sweeps = tuple(parse_sweep(p) for p in perturb or ())
    spec = CampaignSpec(tuple(policy), tuple(twin), sweeps, seeds, settings, interactions)
    run = make_executor(executor, workers or default_workers(), ray_address)
    with open_store(db) as store, _progress() as bar:
        handle = {}

        def on_plan(plan):
            done = len(plan.jobs) - len(plan.missing)
            console.print(
                f"campaign [bold]{plan.campaign.name}[/]: {len(plan.jobs)} episodes, {done} already in the "
                f"store, {len(plan.missing)} to run ({run.describe()})"
            )
            handle["task"] = bar.add_task("evaluate", total=len(plan.missing))

        def on_result(job, result, error):
            bar.advance(handle["task"])
            if error is not None:
                console.print(
                    Text.assemble(("job failed:", "red"), f" {job.label()}: {error}"), soft_wrap=True
                )

        report = run_campaign(store, spec, run, name, on_plan, on_result)
        rows = store.leaderboard("state", report.campaign)
    if as_json:
        _emit_json({**report.to_dict(), "leaderboard": [r.__dict__ for r in rows]})
    else:
        Console().print(_leaderboard_table(rows, f"campaign {report.campaign}: state judge"))
        console.print(
            f"stored {report.stored} episodes in {report.seconds:.0f} s; {report.already_done} were already "
            f"there; {len(report.errors)} failed to run"
        )
    if report.errors:
        raise SystemExit(1)


@app.command()
def leaderboard(
    judge: str = typer.Option("state", "--judge", help="state, vlm, human or vlm-pairwise."),
    campaign: str = typer.Option(None, "--campaign", help="Only this campaign's episodes."),
    axes: bool = typer.Option(False, "--axes", help="Per-axis robustness table instead."),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The leaderboard under one judge, or the per-axis robustness table (--axes)."""
    from benchmark.store import open_store
    from benchmark.store.queries import JUDGES

    if judge not in JUDGES:
        raise UserError(f"--judge {judge!r}: expected one of {', '.join(JUDGES)}")
    with open_store(db) as store:
        rows = store.robustness(campaign) if axes else store.leaderboard(judge, campaign)
    if as_json:
        _emit_json([r.__dict__ for r in rows])
        return
    if not axes:
        Console().print(
            _leaderboard_table(rows, f"{judge} judge" + (f", campaign {campaign}" if campaign else ""))
        )
        return
    table = Table(title="Success per perturbation axis and level")
    for column in ("policy", "twin", "axis", "level", "episodes", "success", "progress"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.policy,
            r.twin,
            r.axis,
            f"{r.level:g}",
            str(r.episodes),
            f"{r.success_rate:.2f}",
            f"{r.mean_progress:.2f}",
        )
    Console().print(table)


def _leaderboard_table(rows, title: str) -> Table:
    table = Table(title=title)
    for column in ("rank", "policy", "score", "95% interval", "n", "mean progress"):
        table.add_column(column)
    for r in rows:
        progress = "" if r.mean_progress is None else f"{r.mean_progress:.1f}"
        table.add_row(
            str(r.rank),
            r.policy,
            f"{r.score:.3f}",
            f"{r.ci_low:.3f}–{r.ci_high:.3f}",
            f"{r.n} {r.unit}",
            progress,
        )
    return table


@app.command()
def episodes(
    campaign: str = typer.Option(None, "--campaign"),
    policy: str = typer.Option(None, "--policy"),
    twin: str = typer.Option(None, "--twin", help="Twin name."),
    axis: str = typer.Option(None, "--axis", help="Perturbation axis (none: unperturbed)."),
    termination: str = typer.Option(None, "--termination", help="e.g. success, timeout, policy_error."),
    limit: int = typer.Option(20, "--limit", min=1),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Stored episodes, newest first, with the folder holding each one's videos and trajectory."""
    from benchmark.store import open_store

    with open_store(db) as store:
        rows = store.episodes(
            campaign, policy=policy, twin=twin, axis=axis, termination=termination, limit=limit
        )
        root = store.artefacts.root
    if as_json:
        _emit_json(
            [
                {**r.__dict__, "path": str(root / r.artefact), "created_at": r.created_at.isoformat()}
                for r in rows
            ]
        )
        return
    table = Table(title=f"{len(rows)} episodes")
    for column in ("id", "policy", "twin", "axis", "level", "seed", "termination", "progress", "folder"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r.id),
            r.policy,
            r.twin,
            r.axis,
            f"{r.level:g}",
            str(r.seed),
            r.termination,
            f"{r.progress:.2f}",
            str(root / r.artefact),
        )
    Console().print(table)


@app.command()
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
            _emit_json([{**asdict(summary), "message": summary.message}])
        else:
            console.print(summary.message, soft_wrap=True)
        return
    summaries = []
    with open_store(db) as store, _progress() as bar:
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
        _emit_json([{**asdict(s), "message": s.message} for s in summaries])
        return
    for summary in summaries:
        console.print(summary.message, soft_wrap=True)


@app.command()
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
        _emit_json({"source": source, "method": ratings.method, "comparisons": total, "ratings": rows})
        return
    table = Table(title=f"Bradley–Terry ratings: {source} ({total} comparisons, {ratings.method})")
    for column in ("rank", "policy", "rating", "95% interval", "rank interval", "comparisons"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["rank"]),
            r["policy"],
            f"{r['rating']:.0f}",
            f"{r['ci_low']:.0f}–{r['ci_high']:.0f}",
            f"{r['rank_low']}–{r['rank_high']}",
            str(r["n"]),
        )
    Console().print(table)


@app.command()
def campaigns(
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The campaigns in the store and how much of each is done."""
    from benchmark.store import open_store

    with open_store(db) as store:
        rows = store.campaigns()
    if as_json:
        _emit_json([{**r.__dict__, "created_at": r.created_at.isoformat()} for r in rows])
        return
    table = Table(title=f"{len(rows)} campaigns")
    for column in ("name", "episodes", "done", "created"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.name, str(r.jobs), str(r.done), r.created_at.strftime("%Y-%m-%d %H:%M"))
    Console().print(table)


def _record_json(record) -> dict:
    from dataclasses import asdict

    data = asdict(record)
    data["created_at"] = record.created_at.isoformat()
    return data


twin_app = typer.Typer(help="Build, inspect and check twin packages.", no_args_is_help=True)
app.add_typer(twin_app, name="twin")


@twin_app.command("build")
def twin_build(
    demo: Path = typer.Argument(..., help="A demonstration folder, or a LeRobotDataset root."),
    out: Path = typer.Option(..., "-o", "--out", help="New twin package folder."),
    episode: int = typer.Option(None, "--episode", help="Episode index, for a LeRobotDataset."),
    splat_steps: int = typer.Option(800, "--splat-steps", min=1, help="Splat optimisation steps."),
    scan_frames: int = typer.Option(40, "--scan-frames", min=2, help="Most scan frames to use."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output folder if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Reconstruct a demonstration into a twin package (splats, meshes, scene.xml, task, fidelity)."""
    from benchmark.scenes.twins import build_and_evaluate
    from twin.appearance import AppearanceConfig
    from twin.build import STAGES, BuildConfig

    config = BuildConfig(max_scan_frames=scan_frames, appearance=AppearanceConfig(steps=splat_steps))

    with _progress() as bar:
        job = bar.add_task("twin build", total=len(STAGES))

        def on_stage(name: str) -> None:
            bar.update(job, completed=STAGES.index(name), description=f"twin build: {name}")

        result = build_and_evaluate(
            demo, out, episode=episode, overwrite=overwrite, on_stage=on_stage, config=config
        )
        bar.update(job, completed=len(STAGES), description="twin build: done")
    if as_json:
        _emit_json(result)
        return
    fid = result["fidelity"]
    console.print(
        f"[green]twin written to {out}[/]: {len(result['objects'])} objects, task {result['task']['family']} "
        f"({result['task']['object']} → {result['task']['target']}), held-out PSNR {fid['psnr_db']:.1f} dB, "
        f"SSIM {fid['ssim']:.3f}, {sum(result['seconds'].values()):.0f} s"
    )
    truth = fid.get("ground_truth")
    if truth:
        console.print(
            f"against ground truth: {truth['matched']}/{truth['truth_objects']} objects found, "
            f"position error ≤ {truth['max_position_error_m'] * 100:.2f} cm, "
            f"size error ≤ {truth['max_size_error']:.1%}"
        )


@twin_app.command("package-scene")
def twin_package_scene(
    scene: str = typer.Argument(..., help="A reference scene name, or a scene spec file."),
    out: Path = typer.Option(..., "-o", "--out", help="New twin package folder."),
    task: str = typer.Option(None, "--task", help="Task name within the scene (default: the first)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output folder if it exists."),
) -> None:
    """Package a hand-authored scene as a twin, so it runs through the same harness."""
    from benchmark.scenes.authored import package_scene
    from benchmark.scenes.registry import load_scene

    path = package_scene(load_scene(scene), out, task=task, overwrite=overwrite)
    console.print(f"[green]twin package written to {path}[/]")


@twin_app.command("show")
def twin_show(
    twin: Path = typer.Argument(..., help="A twin package folder."),
    out: Path = typer.Option(None, "-o", "--out", help="Picture to write (default: the twin's preview.png)."),
) -> None:
    """Write a side-by-side picture: real frame | twin render | difference."""
    from twin.show import show_twin

    console.print(f"wrote {show_twin(twin, out)}")


@twin_app.command("check")
def twin_check(
    twin: Path = typer.Argument(..., help="A twin package folder."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Validate a twin package: manifest, files, hash, splats and scene.xml."""
    from benchmark.scenes.twins import check_package

    problems = check_package(twin)
    if as_json:
        _emit_json({"twin": str(twin), "ok": not problems, "problems": problems})
    elif problems:
        for problem in problems:
            console.print(Text.assemble(("problem:", "red"), f" {problem}"), soft_wrap=True)
    else:
        console.print(f"[green]{twin}: a sound twin package[/]")
    if problems:
        raise SystemExit(1)


from benchmark.report.command import report_command  # noqa: E402

app.command("report")(report_command)

from dashboard.command import dashboard_command  # noqa: E402

app.command("dashboard")(dashboard_command)

from benchmark.validity.command import validate_command  # noqa: E402

app.command("validate")(validate_command)


def main() -> None:
    """Console entry point: user errors print one line and exit 2, never a traceback."""
    from benchmark.errors import (
        CampaignError,
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
