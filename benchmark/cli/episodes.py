"""``twinarena episode`` and ``serve-policy``: one policy, one episode in a twin, or served over
the openpi websocket protocol."""

from __future__ import annotations

from pathlib import Path

import typer

from benchmark.cli.output import console, emit_json, parse_size, twin_path

ADAPTER_HELP = (
    "The convention the policy speaks: twinarena, droid, libero or aloha (openpi's layouts); "
    "default: what the submission or server declares."
)
POLICY_HELP = (
    "A built-in policy (vision-expert[?noise=S], random), a submission path (weights folder, "
    "TorchScript file, code folder or wheel), ws://HOST:PORT, or a registered name."
)


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
    adapter: str = typer.Option(None, "--adapter", help=ADAPTER_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output folder if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Run one episode of a policy in a twin and write its videos, trajectory and outcome."""
    from dataclasses import asdict

    from benchmark.episodes.episode import run_episode

    loaded, env = _policy_and_env(policy, twin, seed, perturb, image_size, render, backend, adapter)
    try:
        with console.status(f"episode of {policy} in {env.twin.name}"):
            outcome = run_episode(env, loaded, seed, out, step_timeout=step_timeout, overwrite=overwrite)
    finally:
        env.close()
        getattr(loaded, "close", lambda: None)()
    if as_json:
        emit_json({"episode": str(out), **asdict(outcome)})
        return
    colour = "green" if outcome.success else "yellow"
    detail = f" ({outcome.detail})" if outcome.detail else ""
    console.print(
        f"[{colour}]{outcome.termination}[/]{detail} after {outcome.steps} steps, "
        f"progress {outcome.progress:.2f}; wrote {out}"
    )


def _policy_and_env(spec, twin, seed, perturb, image_size, render, backend, adapter=None):
    """Load the policy named by ``spec`` and the env it runs in; the env takes the policy's
    action space, cameras, image size and control rate, or its convention's (built-ins: the
    defaults), unless the command line sets the image size."""
    from benchmark.campaigns.campaign import RunSettings, env_config
    from benchmark.episodes.env import TwinEnv
    from benchmark.policies.conventions import adapt
    from benchmark.policies.loaders import load_policy, parse_builtin
    from benchmark.policies.protocol import PolicyInfo

    path = twin_path(twin)
    settings = RunSettings(
        render=render, backend=backend, image_size=parse_size(image_size) if image_size else None
    )
    if parse_builtin(spec) is not None:
        env = TwinEnv(path, env_config(PolicyInfo(spec), settings, tuple(perturb or ())))
        return load_policy(spec, env=env, seed=seed)[0], env
    policy, info = load_policy(spec, seed=seed, adapter=adapter)
    env = TwinEnv(path, env_config(info, settings, tuple(perturb or ())))
    return adapt(policy, info, env), env


def serve_policy(
    spec: str = typer.Argument(..., help=POLICY_HELP),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="0 picks a free port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    twin: str = typer.Option(
        "tray_pick", "--twin", help="For built-in policies: the twin they are calibrated in."
    ),
    seed: int = typer.Option(0, "--seed"),
    open_loop_horizon: int = typer.Option(
        None,
        "--open-loop-horizon",
        min=1,
        help="Declared in the metadata: actions of each chunk a client plays before asking again.",
    ),
) -> None:
    """Serve a policy over the openpi websocket protocol (metadata first, then msgpack action
    chunks [H, A]; GET /healthz answers 200).

    Submitted code still runs in its own worker process; the server only relays."""
    from benchmark.policies.loaders import load_policy, parse_builtin
    from benchmark.policies.protocol import ACTION_SPACE_DIMS
    from benchmark.policies.remote import serve, server_metadata

    env = None
    if parse_builtin(spec) is not None:
        from benchmark.episodes.env import EnvConfig, TwinEnv

        env = TwinEnv(twin_path(twin), EnvConfig(render="mesh"))
    policy, info = load_policy(spec, env=env, seed=seed)
    chunk = info.extra.get("chunk")  # a registered submission's, from its validation probe
    metadata = server_metadata(
        info.to_dict(),
        ACTION_SPACE_DIMS[info.action_space],
        action_chunk=chunk if isinstance(chunk, int) and not isinstance(chunk, bool) else None,
        open_loop_horizon=open_loop_horizon,
    )

    def ready(bound: int) -> None:
        console.print(f"[green]serving {spec} on ws://{host}:{bound}[/] (Ctrl-C stops)", soft_wrap=True)

    try:
        serve(policy, metadata, host=host, port=port, ready=ready)
    finally:
        getattr(policy, "close", lambda: None)()
        if env is not None:
            env.close()
