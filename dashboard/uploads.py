"""Checkpoint uploads: what the Submit page accepts, and turning an upload into a path that
:func:`benchmark.policies.submissions.submit` (the code path of ``twinarena submit``) validates in a worker.

Accepted: a TorchScript file (``.pt``, ``.ts``), a wheel with ``policy.json`` (``.whl``), or a
policy folder packed as ``.zip``, ``.tar.gz`` or ``.tgz`` (weights: ``config.json`` +
``model.safetensors``; code: ``policy.json`` naming the entry point; or a TorchScript file
named by ``policy.json``). Nothing is loaded here: archives are unpacked (no links, no paths
outside the folder, at most :data:`UNPACKED_FACTOR` times the upload limit), and the registry
sniffs files without unpickling them.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from benchmark.policies.loaders import ZIP_ERRORS

MAX_UPLOAD_ENV = "TWINARENA_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 200.0
UNPACKED_FACTOR = 4  # an archive may unpack to at most this many times the upload limit
MAX_MEMBERS = 10_000
ACCEPTED = {
    ".pt": "TorchScript file",
    ".ts": "TorchScript file",
    ".whl": "wheel with policy.json naming its entry point",
    ".zip": "policy folder (weights, code or TorchScript) as a zip",
    ".tar.gz": "policy folder as a gzipped tarball",
    ".tgz": "policy folder as a gzipped tarball",
}
MB = 1 << 20
TAR_OVERHEAD = 2 * 512 * MAX_MEMBERS + MB  # headers and padding a tarball adds to its files


class UploadError(ValueError):
    """An upload the dashboard refuses; the message names the file and what is wrong."""


def max_upload_bytes() -> int:
    """The upload limit: ``$TWINARENA_MAX_UPLOAD_MB`` (default 200) in bytes."""
    text = os.environ.get(MAX_UPLOAD_ENV, "").strip()
    try:
        mb = float(text) if text else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        raise ValueError(f"${MAX_UPLOAD_ENV} = {text!r}: expected a number of megabytes") from None
    if mb <= 0:
        raise ValueError(f"${MAX_UPLOAD_ENV} = {text!r}: must be positive")
    return int(mb * MB)


def suffix(name: str) -> str | None:
    """The accepted suffix ``name`` ends with (``.tar.gz`` counts as one), else None."""
    lower = name.lower()
    return next((s for s in sorted(ACCEPTED, key=len, reverse=True) if lower.endswith(s)), None)


def human(size: int) -> str:
    """``"1.5 MB"``, ``"12 KB"`` or ``"800 bytes"``."""
    if size >= MB:
        return f"{size / MB:.1f} MB"
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"


def check_upload(name: str, size: int, limit: int) -> None:
    """:class:`UploadError` for a file of the wrong type or over ``limit`` bytes."""
    if suffix(name) is None:
        accepted = ", ".join(f"{s} ({what})" for s, what in ACCEPTED.items())
        raise UploadError(f"{name}: this type of file is not accepted; upload one of {accepted}")
    if size > limit:
        raise UploadError(f"{name} is {human(size)}; uploads may be at most {human(limit)}")
    if size == 0:
        raise UploadError(f"{name} is empty")


def unpack(name: str, content: bytes, into: Path, limit: int) -> Path:
    """Write an upload under ``into`` and return what to submit: the file itself (TorchScript,
    wheel, a TorchScript zip) or the unpacked policy folder."""
    check_upload(name, len(content), limit)
    kind = suffix(name)
    into.mkdir(parents=True, exist_ok=True)
    safe = PurePosixPath(name.replace("\\", "/")).name
    if kind in (".pt", ".ts", ".whl") or (kind == ".zip" and _torchscript_zip(content)):
        path = into / (safe if kind != ".zip" else safe[: -len(".zip")] + ".pt")
        path.write_bytes(content)
        return path
    folder = into / "policy"
    folder.mkdir()
    budget = limit * UNPACKED_FACTOR
    try:
        if kind == ".zip":
            _unzip(name, content, folder, budget)
        else:
            _untar(name, content, folder, budget)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # nothing half-unpacked stays behind
        raise
    entries = [p for p in folder.iterdir() if not p.name.startswith("__MACOSX")]
    if not entries:
        raise UploadError(f"{name}: the archive is empty")
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else folder


def _torchscript_zip(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return any("/code/" in n or n.endswith("constants.pkl") for n in archive.namelist())
    except ZIP_ERRORS:
        return False


def _member_problem(member: str) -> str | None:
    path = PurePosixPath(member)
    if path.is_absolute() or ".." in path.parts or member.startswith(("/", "\\")) or ":" in member:
        return f"member {member!r} points outside the folder"
    if "\0" in member:
        return f"member {member!r} has a NUL in its name"
    return None


def _unzip(name: str, content: bytes, folder: Path, budget: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            _check_members(name, [(m.filename, m.file_size) for m in members], budget)
            for member in members:
                if (member.external_attr >> 16) & 0o170000 == 0o120000:
                    raise UploadError(
                        f"{name}: member {member.filename!r} is a symbolic link; links are refused"
                    )
            archive.extractall(folder)  # reads no more than each member's stated size
    except UploadError:
        raise
    except ZIP_ERRORS as err:
        raise UploadError(f"{name}: not a valid zip file ({err})") from None


class _Capped(io.RawIOBase):
    """A readable stream that raises :class:`UploadError` once more than ``cap`` bytes came out."""

    def __init__(self, stream, cap: int, name: str):
        self.stream, self.cap, self.name, self.count = stream, cap, name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        self.count += len(data)
        if self.count > self.cap:
            raise UploadError(f"{self.name}: unpacks to more than {human(self.cap)}; refused")
        buffer[: len(data)] = data
        return len(data)


def _untar(name: str, content: bytes, folder: Path, budget: int) -> None:
    """Unpack a gzipped tarball as a stream, member by member: each is checked (type, path, count,
    running size) as its header is read and written before the next header is read, and the
    decompressed stream itself is capped, so a hostile archive is refused at its first bad member,
    never parsed to the end first."""
    count = total = 0
    cap = budget + TAR_OVERHEAD
    try:
        with (
            gzip.GzipFile(fileobj=io.BytesIO(content)) as unzipped,
            tarfile.open(fileobj=_Capped(unzipped, cap, name), mode="r|") as archive,
        ):
            for member in archive:
                count += 1
                if count > MAX_MEMBERS:
                    raise UploadError(f"{name}: more than {MAX_MEMBERS} files; at most {MAX_MEMBERS}")
                if not (member.isfile() or member.isdir()):
                    raise UploadError(
                        f"{name}: member {member.name!r} is not a plain file or folder; refused"
                    )
                problem = _member_problem(member.name)
                if problem:
                    raise UploadError(f"{name}: {problem}")
                total += member.size
                if total > budget:
                    raise UploadError(f"{name}: unpacks to at least {human(total)}; at most {human(budget)}")
                archive.extract(member, folder, filter="data")
    except UploadError:
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as err:
        raise UploadError(f"{name}: not a valid gzipped tarball ({err})") from None


def _check_members(name: str, members: list[tuple[str, int]], budget: int) -> None:
    if len(members) > MAX_MEMBERS:
        raise UploadError(f"{name}: {len(members)} files; at most {MAX_MEMBERS}")
    total = 0
    for member, size in members:
        problem = _member_problem(member)
        if problem:
            raise UploadError(f"{name}: {problem}")
        total += size
    if total > budget:
        raise UploadError(f"{name}: unpacks to {human(total)}; at most {human(budget)}")
