"""From a policy spec to a running policy.

A spec is one of:

- a built-in policy of :data:`benchmark.policies.builtin.BUILTINS` (``random``,
  ``vision-expert?noise=0.02``); trusted code, run in the evaluator's process;
- ``ws://HOST:PORT`` (or ``wss://``): a remote policy server speaking the openpi protocol;
- a path to a submission:
  - a folder with ``config.json`` and ``model.safetensors`` (or ``model.pt`` holding a state
    dict, read with ``torch.load(weights_only=True)``): weights of a built-in architecture;
  - a LeRobot pretrained-policy folder (``config.json`` with a policy ``type`` and its features,
    ``model.safetensors``, the processors): run by the real ``lerobot`` in its own venv
    (:mod:`benchmark.policies.lerobot_policy`);
  - a TorchScript file, or a folder whose ``policy.json`` names one (``"torchscript": FILE``);
  - a folder or wheel with Python code, whose ``policy.json`` names the entry point
    (``"entry": "module:factory"``), or ``PATH::module:factory``;
- the name of a policy registered in the store.

Everything submitted runs in a :class:`~benchmark.policies.worker.WorkerPolicy`; files are only ever
sniffed here, never unpickled. A pickle is refused outright: loading one runs code.

What a TorchScript policy's ``forward`` takes and returns is said where it is loaded, inside the
worker: :mod:`benchmark.policies.isolated`.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmark.errors import PolicyError, SubmissionError
from benchmark.policies.builtin import BUILTINS, RandomPolicy, builtin_policy, parse_builtin
from benchmark.policies.protocol import PolicyInfo

MANIFEST = "policy.json"
MAX_MANIFEST_BYTES = 1 << 20
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".dill")
# what a damaged zip raises while it is listed or read: bad CRCs and headers (BadZipFile), broken
# deflate streams (zlib.error), short data (EOFError), unknown methods, encryption (RuntimeError)
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)


@dataclass(frozen=True)
class PolicySource:
    """What a spec names: its kind and where it lives (``detail``: the worker's source dict)."""

    kind: str
    spec: str
    detail: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    registered: PolicyInfo | None = None  # the metadata a registered policy was submitted with
    manifest_path: str = ""  # where ``manifest`` was read, for messages

    @property
    def path(self) -> Path | None:
        where = self.detail.get("path") or self.detail.get("code")
        return Path(where) if where else None


def resolve(spec: str, store=None) -> PolicySource:
    """Find what ``spec`` names, reading files without running or unpickling any of them; names
    are looked up in ``store`` (default: the store :func:`~benchmark.store.open_store` opens)."""
    if parse_builtin(spec) is not None:
        return PolicySource("builtin", spec)
    if spec.startswith(("ws://", "wss://")):
        return PolicySource("remote", spec, {"uri": spec})
    text, _, entry = spec.partition("::")
    path = Path(text).expanduser()
    if not path.exists():
        return _registered(spec, store)
    if entry:
        return PolicySource(
            "entrypoint", spec, {"kind": "entrypoint", "entry": entry, "code": str(path.resolve())}
        )
    if path.is_dir():
        return _folder(path, spec)
    return _file(path, spec)


def _folder(path: Path, spec: str) -> PolicySource:
    manifest, where = read_manifest(path), str(path / MANIFEST)
    if (path / "config.json").exists():
        from benchmark.policies.lerobot_policy import sniff_config

        kind = "lerobot" if sniff_config(path) is not None else "weights"
        detail = {"kind": kind, "path": str(path.resolve())}
        return PolicySource(kind, spec, detail, manifest, manifest_path=where)
    if "entry" in manifest:
        detail = {"kind": "entrypoint", "entry": manifest["entry"], "code": str(path.resolve())}
        return PolicySource("entrypoint", spec, detail, manifest, manifest_path=where)
    if "torchscript" in manifest:
        file = _inside(path, manifest["torchscript"], where)
        if check_checkpoint(file) != "torchscript":
            raise SubmissionError(f"{file}: {MANIFEST} names it as TorchScript, but it is not")
        detail = {"kind": "torchscript", "path": str(file.resolve())}
        return PolicySource("torchscript", spec, detail, manifest, manifest_path=where)
    raise SubmissionError(
        f"{path}: not a policy folder: expected config.json + model.safetensors (weights), or a "
        f"{MANIFEST} naming an 'entry' (module:factory) or a 'torchscript' file"
    )


def _inside(folder: Path, rel: Any, where: str) -> Path:
    """The file ``rel`` names, refused unless it is a relative path inside ``folder`` (links followed)."""
    if not isinstance(rel, str) or not rel or "\0" in rel:
        raise SubmissionError(f"{where}: 'torchscript' must name a file in the folder, not {rel!r}")
    file = folder / rel
    if Path(rel).is_absolute() or not file.resolve().is_relative_to(folder.resolve()):
        raise SubmissionError(f"{where}: 'torchscript' {rel!r} points outside the policy folder")
    return file


def _file(path: Path, spec: str) -> PolicySource:
    if path.suffix == ".whl":
        manifest = _wheel_manifest(path)
        if "entry" not in manifest:
            raise SubmissionError(
                f"{path}: a wheel needs {MANIFEST} with an 'entry', or PATH::module:factory"
            )
        detail = {"kind": "entrypoint", "entry": manifest["entry"], "code": str(path.resolve())}
        return PolicySource("entrypoint", spec, detail, manifest, manifest_path=f"{path}!{MANIFEST}")
    kind = check_checkpoint(path)
    if kind == "torchscript":
        return PolicySource("torchscript", spec, {"kind": "torchscript", "path": str(path.resolve())})
    if kind == "safetensors":
        raise SubmissionError(f"{path}: safetensors weights need a folder with config.json beside them")
    raise SubmissionError(f"{path}: {kind}")


def check_checkpoint(path: Path) -> str:
    """``"torchscript"`` or ``"safetensors"`` for a file we can load, else why we won't (without
    unpickling: zip listings and leading bytes only)."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as err:
        raise SubmissionError(f"{path}: cannot read it ({err.strerror})") from None
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except ZIP_ERRORS as err:
            return f"a damaged zip file ({err})"
        if any("/code/" in n or n.endswith("constants.pkl") for n in names):
            return "torchscript"
        if any(n.endswith("data.pkl") for n in names):
            return (
                "a torch.save checkpoint, which is a pickle: give it as model.pt in a folder with "
                "config.json (a state dict of a built-in architecture), or export TorchScript"
            )
        return "a zip file that is neither TorchScript nor a wheel"
    if head[:1] == b"\x80" or path.suffix in PICKLE_SUFFIXES:
        return "a pickle, and pickles run code when they are loaded: they are never opened here"
    if len(head) >= 8 and int.from_bytes(head[:8], "little") < (100 << 20) and head[8:9] == b"{":
        return "safetensors"
    return "not a checkpoint format TwinArena reads (safetensors + config.json, TorchScript, code)"


def read_manifest(folder: Path) -> dict[str, Any]:
    """``policy.json`` of a policy folder (empty when there is none), checked to be a small JSON object."""
    file = folder / MANIFEST
    if not file.exists() and not file.is_symlink():
        return {}
    if not file.is_file() or not file.resolve().is_relative_to(folder.resolve()):
        raise SubmissionError(f"{file}: not a file inside the policy folder")
    size = file.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise SubmissionError(f"{file}: {size:,} bytes; a {MANIFEST} may be at most {MAX_MANIFEST_BYTES:,}")
    return _parse_manifest(file.read_bytes(), str(file))


def _wheel_manifest(path: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as wheel:
            names = [n for n in wheel.namelist() if n.rsplit("/", 1)[-1] == MANIFEST]
            if not names:
                return {}
            if wheel.getinfo(names[0]).file_size > MAX_MANIFEST_BYTES:
                raise SubmissionError(f"{path}!{names[0]}: over {MAX_MANIFEST_BYTES:,} bytes")
            return _parse_manifest(wheel.read(names[0]), f"{path}!{names[0]}")
    except ZIP_ERRORS as err:
        raise SubmissionError(f"{path}: not a valid wheel ({err})") from None


def _parse_manifest(data: bytes, where: str) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise SubmissionError(f"{where}: not valid JSON ({err})") from None
    if not isinstance(manifest, dict):
        raise SubmissionError(f"{where}: expected a JSON object")
    entry = manifest.get("entry")
    if entry is not None and (not isinstance(entry, str) or entry.count(":") != 1):
        raise SubmissionError(f"{where}: 'entry' must be 'module:factory', not {entry!r}")
    return manifest


def _registered(spec: str, store=None) -> PolicySource:
    from contextlib import nullcontext

    from benchmark.store import open_store

    try:
        with nullcontext(store) if store is not None else open_store() as opened:
            row = opened.get_policy(spec)
            stored = opened.artefact_path(row.artefact) if row is not None and row.artefact else None
    except Exception as err:
        raise SubmissionError(
            f"{spec!r} is not a built-in policy, a path or a URL, and the store could not be read "
            f"to look it up ({err})"
        ) from None
    if row is None:
        raise SubmissionError(
            f"{spec!r} is not a built-in policy ({', '.join(BUILTINS)}), an existing path, a ws:// URL "
            "or a registered policy (twinarena submit)"
        )
    if row.status == "failed":
        raise SubmissionError(f"policy {spec!r} failed validation when it was submitted: {row.reason}")
    return replace(resolve(stored_spec(row, stored)), spec=spec, registered=row.info())


def stored_spec(record, artefact: Path | None) -> str:
    """A spec that loads a registered policy (a :class:`~benchmark.store.PolicyRecord`) without the
    store: its built-in spec, its server's URL, or its stored artefact (``artefact``, absolute)."""
    if record.kind == "builtin":
        return str(record.extra.get("spec", record.name))
    if record.kind == "remote":
        return str(record.extra["uri"])
    if record.kind == "entrypoint":
        return f"{artefact}::{record.extra['entry']}"
    return str(artefact)


def policy_info(source: PolicySource, name: str | None = None) -> PolicyInfo:
    """The metadata a submission declares: what it was registered with, else its ``policy.json``
    (and, for weights, the action space, camera and image size of its ``config.json``)."""
    if source.registered is not None:
        return source.registered if name is None else replace(source.registered, name=name)
    values = {k: v for k, v in source.manifest.items() if k not in ("entry", "torchscript")}
    values["name"] = name or values.get("name") or source.spec
    values["kind"] = source.kind
    if source.kind == "weights":
        values.update(weights_info(Path(source.detail["path"])))
    if source.kind == "lerobot":
        from benchmark.policies.lerobot_policy import lerobot_info

        values.update(lerobot_info(Path(source.detail["path"]), source.manifest))
    return PolicyInfo.from_dict(values, where=source.manifest_path or f"{source.spec} metadata")


def weights_info(folder: Path) -> dict[str, Any]:
    """What a weights submission's ``config.json`` says the environment must give it."""
    from benchmark.policies.architectures import CONFIG_FILE, read_config

    config = read_config(folder / CONFIG_FILE)
    return {
        "action_space": config.action_space,
        "cameras": list(config.cameras),  # the second camera too (e.g. robot/wrist)
        "image_size": list(config.image_size),
        "control_hz": config.control_hz,
    }


def load_policy(
    spec: str,
    env=None,
    seed: int = 0,
    limits=None,
    name: str | None = None,
    store=None,
    adapter: str | None = None,
):
    """``(policy, info)`` for ``spec``. Built-ins are calibrated on ``env``; submissions start
    their worker lazily, at the first ``reset``, so a broken one fails an episode, not the caller.
    ``adapter`` overrides the convention the submission declares; given ``env``, a policy that
    speaks another convention comes wrapped in it (:func:`benchmark.policies.conventions.adapt`)."""
    from benchmark.policies.conventions import adapt
    from benchmark.policies.worker import WorkerPolicy

    source = resolve(spec, store)
    if source.kind == "builtin":
        base, params = parse_builtin(spec)
        if env is None:
            if base != "random":
                raise PolicyError(f"built-in policy {spec!r} needs the environment it will run in")
            return RandomPolicy(seed=seed), PolicyInfo(name=name or spec)
        config = env.config
        info = PolicyInfo(
            name=name or spec, action_space=config.action_space, image_size=tuple(config.image_size)
        )
        return builtin_policy(base, env, seed, **params), info
    if source.kind == "remote":
        from benchmark.policies.remote import RemotePolicy

        horizon = source.registered.open_loop_horizon if source.registered else None
        policy = RemotePolicy(source.detail["uri"], open_loop_horizon=horizon)
        info = source.registered or remote_info(policy.metadata, name or spec)
    else:
        info = policy_info(source, name)
        policy = WorkerPolicy(source.detail, limits, name=info.name, open_loop_horizon=info.open_loop_horizon)
    if adapter is not None:
        info = replace(info, adapter=adapter)
    return (policy if env is None else adapt(policy, info, env)), info


def remote_info(metadata: dict[str, Any], name: str) -> PolicyInfo:
    """What a policy server's metadata says, as :class:`PolicyInfo` (unknown fields kept in ``extra``)."""
    known = {
        "action_space",
        "cameras",
        "image_size",
        "control_hz",
        "licence",
        "owner",
        "adapter",
        "open_loop_horizon",
    }
    values = {k: metadata[k] for k in known if metadata.get(k) is not None}
    extra = {k: v for k, v in metadata.items() if k not in known and isinstance(v, (str, int, float, bool))}
    return PolicyInfo.from_dict(
        {"name": name, "kind": "remote", **values, "extra": extra}, f"{name} metadata"
    )
