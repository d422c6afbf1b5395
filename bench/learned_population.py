"""Train the learned population: ``image_cnn`` policies behaviour-cloned on the CPU from vision
expert demonstrations in the reference twins, saved at graded training budgets as weights
submissions under ``assets/policies/learned/SCENE/`` (what ``twinarena validate --population
learned`` ranks, and what ``bench/baseline_spread.py`` scores). Prints JSON.

Per task: ``--demos`` expert episodes on seeds 1000 onwards (never an evaluation seed), with DART
noise injection (``--noise`` m per step on the executed translation of most episodes, the clean
action as the label), 96×96 images of the front and wrist cameras and the object poses (a
training-only target); then one training run of ``--epochs`` epochs, snapshotted after each epoch
of ``--budgets`` (the last budget is the full run), and the ``--small`` runs on the first few
demonstrations only (the weakest members). Demonstrations and trained runs are cached under
``--cache``, so a second run only reassembles the population. Training is one thread; on the
shared 2-core machine (December 2026) collecting 100 episodes took 1,009 s (block_push) and
1,125 s (tray_pick), and the 15-epoch runs 496 s (3,465 samples) and 787 s (5,526 samples).

    python bench/learned_population.py [--scenes tray_pick/cube_in_tray block_push/block_to_square]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import torch

from benchmark.policies.training import (
    WRIST,
    CollectSettings,
    TrainSettings,
    demonstration_files,
    record_demonstrations,
    train_baseline,
)
from benchmark.scenes.authored import cache_root, reference_twin
from benchmark.validity.population import LEARNED_ROOT

TASKS = ("tray_pick/cube_in_tray", "block_push/block_to_square")
SETTINGS = TrainSettings(
    hidden=(256, 256),
    channels=(16, 32, 32),
    colour=0.15,
    pixel_noise=3.0,
    command_input=True,  # the policy's own integrated command: the expert's labels depend on it
    second_camera=WRIST,  # the wrist camera beside the front one
    objects=1.0,  # the auxiliary object-pose loss (training only)
    switch_weight=10.0,  # the steps where the gripper command switches, which decide a grasp
    threads=1,
)


def demonstrations(scene: str, task: str, args, cache: Path) -> Path:
    """The folder of ``demo_*.npz`` files for the task, collected unless cached."""
    collect = CollectSettings(episodes=args.demos, seed=args.train_seed, noise=args.noise, wrist=True)
    folder = cache / f"{scene}-{task}-d{collect.episodes}-s{collect.seed}-n{collect.noise:g}-wrist"
    if not (folder / "collection.json").is_file():
        scratch = folder.with_name(f".{folder.name}.partial")
        shutil.rmtree(scratch, ignore_errors=True)
        summary = record_demonstrations(reference_twin(scene, task), scratch, collect, progress=_dot)
        print(f"\n{scene}: {summary['successes']}/{summary['episodes']} demonstrations", file=sys.stderr)
        os.replace(scratch, folder)
    return folder


def member_name(epochs: int, demos: int | None = None) -> str:
    """``cnn-e015`` (every demonstration, 15 epochs) or ``cnn-d008-e008`` (the first 8)."""
    return f"cnn-e{epochs:03d}" if demos is None else f"cnn-d{demos:03d}-e{epochs:03d}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenes", nargs="+", default=list(TASKS), help="SCENE/TASK pairs")
    parser.add_argument("--demos", type=int, default=100, help="expert episodes collected per task")
    parser.add_argument("--use", type=int, default=None, help="successful demonstrations trained on (all)")
    parser.add_argument("--noise", type=float, default=0.01, help="DART noise, m per step")
    parser.add_argument("--train-seed", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--budgets", type=int, nargs="+", default=[1, 2, 3, 5, 10], help="snapshot epochs")
    parser.add_argument(
        "--small",
        nargs="*",
        default=["2:4", "8:8"],
        help="DEMOS:EPOCHS runs on the first few demonstrations only (the weakest members)",
    )
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--cache", type=Path, default=cache_root().parent / "learned-demos")
    parser.add_argument("--dest", type=Path, default=LEARNED_ROOT, help="where the population goes")
    args = parser.parse_args()
    torch.set_num_threads(1)
    record = []
    for pair in args.scenes:
        scene, task = pair.split("/")
        folder = demonstrations(scene, task, args, args.cache)
        files = demonstration_files(folder, limit=args.use)
        runs = [(len(files), args.epochs, sorted({*args.budgets, args.epochs}))]
        runs += [(int(d), int(e), [int(e)]) for d, e in (item.split(":") for item in args.small)]
        members, seconds = {}, {}
        for demos, epochs, budgets in runs:
            run = args.cache / f"{folder.name}-runs" / f"d{demos}-e{epochs}-s{args.seed}"
            name = member_name(epochs, None if demos == len(files) else demos)
            wanted = {e: run / member_name(e, None if demos == len(files) else demos) for e in budgets}
            if not all((p / "training.json").is_file() for p in wanted.values()):
                summary = train_baseline(
                    files[:demos],
                    "image_cnn",
                    wanted[epochs],
                    epochs=epochs,
                    seed=args.seed,
                    settings=SETTINGS,
                    snapshots={e: p for e, p in wanted.items() if e < epochs},
                    progress=_dot,
                )
                print(
                    f"\n{pair} {name}: {summary['samples']} samples, {summary['seconds']:.0f} s",
                    file=sys.stderr,
                )
            members.update({p.name: p for p in wanted.values()})
            seconds[name] = json.loads((wanted[epochs] / "training.json").read_text())["seconds"]
        dest = args.dest / scene
        scratch = args.dest / f".{scene}.partial"
        shutil.rmtree(scratch, ignore_errors=True)
        for name, source in members.items():
            shutil.copytree(source, scratch / name)
            path = (
                scratch / name / "training.json"
            )  # the cache folder is this machine's, not the repository's
            data = json.loads(path.read_text())
            data.update(out=name, demonstration_roots=[folder.name], scene=pair)
            path.write_text(json.dumps(data, indent=1) + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(scratch, dest)
        record.append(
            {
                "task": pair,
                "demonstrations": json.loads((folder / "collection.json").read_text()),
                "runs": [{"demonstrations": d, "epochs": e, "snapshots": b} for d, e, b in runs],
                "training_seconds": seconds,
                "threads": SETTINGS.threads,
                "members": sorted(members),
            }
        )
    print(json.dumps(record, indent=1))


def _dot(_: dict) -> None:
    print(".", end="", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
