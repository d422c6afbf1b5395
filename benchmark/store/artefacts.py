"""Large files addressed by content: policy weights, videos, twin packages.

An artefact is a file or a folder, stored once under its SHA-256 (:func:`content_sha256`) as
``<sha[:2]>/<sha><suffix>`` (a file keeps its last suffix, for loaders that look at it) or
``<sha[:2]>/<sha>/`` (a folder). Copies are written into a temporary folder beside their address,
checked against the hash and renamed into place, so an address never holds partial or changed
content, and putting the same content again is a no-op.

:func:`twin.package.content_hash` is another hash on purpose: it leaves a twin's reports out and
covers its manifest, so two builds of the same input match; this one covers every byte.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from benchmark.errors import StoreError

FOLDER_DOMAIN = b"twinarena-folder/1\0"  # so no folder hashes like a file, even an empty one


def content_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, or of a folder: over its files in sorted relative-path order,
    each as ``relative/posix/path NUL sha256(bytes)``. Empty sub-folders do not count; symbolic
    links to files count as the files they point to."""
    path = Path(path)
    if path.is_file():
        return _file_digest(path).hex()
    if not path.is_dir():
        raise StoreError(f"{path}: no such file or folder")
    digest = hashlib.sha256(FOLDER_DOMAIN)
    for rel, file in folder_files(path):
        digest.update(rel.encode() + b"\0" + _file_digest(file))
    return digest.hexdigest()


def folder_files(folder: Path) -> list[tuple[str, Path]]:
    """Every file under ``folder`` as (relative POSIX path, path), sorted by the relative path;
    :class:`StoreError` for a symbolic link to a folder (not followed, so it would be lost)."""
    files = []
    for parent, dirs, names in os.walk(folder):
        for name in dirs:
            if os.path.islink(os.path.join(parent, name)):
                raise StoreError(f"{os.path.join(parent, name)}: a link to a folder; copy its content in")
        for name in names:
            file = Path(parent, name)
            if file.is_file():
                files.append((file.relative_to(folder).as_posix(), file))
    return sorted(files)


def _file_digest(path: Path) -> bytes:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").digest()


class ArtefactFolder:
    """A folder of content-addressed artefacts (created on the first put)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def put(self, path: str | Path) -> tuple[str, str]:
        """Store a file or folder; return its SHA-256 and its path relative to :attr:`root`."""
        source = Path(path)
        sha = content_sha256(source)
        rel = f"{sha[:2]}/{sha}{source.suffix if source.is_file() else ''}"
        target = self.root / rel
        if target.exists():
            return sha, rel
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{sha[:12]}.", dir=target.parent))
        try:
            copy = stage / "content"
            if source.is_file():
                shutil.copyfile(source, copy)
            else:
                for name, file in folder_files(source):
                    (copy / name).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(file, copy / name)
                copy.mkdir(exist_ok=True)  # an empty folder
            if content_sha256(copy) != sha:
                raise StoreError(f"{source}: changed while it was being stored; try again")
            try:
                os.replace(copy, target)
            except OSError:
                if not target.exists():  # else another process stored the same content first
                    raise
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        return sha, rel

    def path(self, relative: str) -> Path:
        """The absolute path of a stored artefact; :class:`StoreError` if it is missing or the path
        leads out of the folder."""
        rel = PurePosixPath(relative)
        if not rel.parts or rel.is_absolute() or ".." in rel.parts:
            raise StoreError(f"artefact path {relative!r} is not a path inside {self.root}")
        path = self.root / rel
        if not path.exists():
            raise StoreError(f"artefact {relative} is missing from {self.root}")
        return path
