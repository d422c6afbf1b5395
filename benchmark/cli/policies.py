"""``twinarena train-baseline``, ``submit`` and ``policies``: policies trained, submitted and
registered."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from benchmark.cli.output import (
    DB_HELP,
    UserError,
    console,
    emit_json,
    parse_size,
    progress,
    record_json,
    show,
    twin_path,
)


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
        with progress() as bar:
            job = bar.add_task(f"demonstrations in {collect}", total=demos)
            collect_demonstrations(
                twin_path(collect), root, demos, seed=1000 + seed, progress=lambda *_: bar.advance(job)
            )
        roots.append(root)
    if not roots:
        raise UserError("give episode folders, or --collect TWIN to record demonstrations first")
    folders = [f for r in roots for f in ([r] if (r / "episode.json").exists() else episode_folders(r))]
    if not folders:
        raise UserError(f"no successful episodes under {', '.join(map(str, roots))}")
    with progress() as bar:
        job = bar.add_task(f"train {architecture}", total=epochs or DEFAULT_EPOCHS[architecture])
        summary = train_baseline(
            folders, architecture, out, epochs=epochs, seed=seed, progress=lambda *_: bar.advance(job)
        )
    if as_json:
        emit_json(summary)
        return
    console.print(f"[green]wrote {out}[/]: {architecture} on {len(folders)} episodes")


def submit(
    path: str = typer.Argument(
        ..., help="Weights folder, TorchScript file, code folder or wheel, or ws://HOST:PORT."
    ),
    name: str = typer.Option(..., "--name", help="The name it will have on the leaderboard."),
    owner: str = typer.Option(None, "--owner"),
    licence: str = typer.Option(None, "--licence"),
    action_space: str = typer.Option(
        None, "--action-space", help="ee_delta, joint_position or joint_velocity."
    ),
    cameras: str = typer.Option(
        None, "--cameras", help="Comma-separated camera names it reads (wrist: the wrist camera)."
    ),
    image_size: str = typer.Option(None, "--image-size", help="WIDTHxHEIGHT it expects."),
    control_hz: float = typer.Option(None, "--control-hz", help="Its control rate."),
    adapter: str = typer.Option(
        None, "--adapter", help="Its convention: twinarena, droid, libero or aloha (openpi's layouts)."
    ),
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
        "image_size": parse_size(image_size) if image_size else None,
        "control_hz": control_hz,
        "adapter": adapter,
    }
    with open_store(db) as store, console.status(f"validating {escape(str(path))} in a worker"):
        record, probe = register(path, name, store, overrides)
    if as_json:
        emit_json({**record_json(record), "probe": probe.__dict__})
        return
    console.print(
        f"[green]registered {escape(record.name)}[/] ({record.kind}, sha256 {(record.sha256 or '-')[:12]}): "
        f"action {probe.action_shape} in {probe.first_answer_ms:.1f} ms"
    )


def policies(
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List the registered policies."""
    from benchmark.store import open_store

    with open_store(db) as store:
        records = store.list_policies()
    if as_json:
        emit_json([record_json(r) for r in records])
        return
    table = Table(
        *("name", "kind", "status", "action space", "image", "owner", "sha256"),
        title=f"{len(records)} registered policies",
    )
    for r in records:
        status = r.status if not r.reason else f"{r.status}: {r.reason[:80]}"
        size = "{}x{}".format(*r.image_size)
        table.add_row(r.name, r.kind, status, r.action_space, size, r.owner, (r.sha256 or "")[:12])
    show(table)
