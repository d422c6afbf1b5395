"""The files an MJCF document reaches: includes, meshes, textures, height fields, skins and models,
followed through includes and the compiler's asset folders, so a twin package can be checked to
reach nothing outside itself (anything it reaches outside is also outside its content hash)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

FILE_ATTRIBUTES = (
    "file", "fileright", "fileleft", "fileup", "filedown", "filefront", "fileback",
)  # fmt: skip
FOLDER_ATTRIBUTES = {"meshdir": ("mesh", "skin", "model"), "texturedir": ("texture", "hfield")}
MAX_INCLUDES = 64


class MJCFFileError(ValueError):
    """An MJCF document that cannot be read; the message names the file."""


def reached_files(scene: Path) -> list[Path]:
    """Every file ``scene`` names, resolved the way MuJoCo resolves it (not checked to exist)."""
    found: list[Path] = []
    _walk(Path(scene), Path(scene).parent, {}, found, set())
    return found


def outside(scene: Path, root: Path) -> list[str]:
    """One line for each file ``scene`` reaches that is not inside ``root`` (absolute paths, ``..``
    or links out included)."""
    root = root.resolve()
    return [
        f"{scene}: reaches {path}, outside the package"
        for path in reached_files(scene)
        if not path.resolve().is_relative_to(root)
    ]


def _walk(document: Path, base: Path, folders: dict[str, Path], found: list[Path], seen: set[Path]) -> None:
    if len(seen) >= MAX_INCLUDES:
        raise MJCFFileError(f"{document}: more than {MAX_INCLUDES} included files")
    seen.add(document.resolve())
    try:
        tree = ET.parse(document)
    except (OSError, ET.ParseError) as err:
        raise MJCFFileError(f"{document}: not readable MJCF ({err})") from None
    folders = dict(folders)
    for compiler in tree.iter("compiler"):
        for attribute in ("assetdir", *FOLDER_ATTRIBUTES):
            if attribute in compiler.attrib:
                folder = base / compiler.attrib[attribute]
                if attribute == "assetdir":
                    folders.update({"meshdir": folder, "texturedir": folder})
                else:
                    folders[attribute] = folder
                found.append(folder)
    for element in tree.iter():
        for attribute in FILE_ATTRIBUTES:
            name = element.attrib.get(attribute)
            if name is None:
                continue
            path = _folder_of(element.tag, folders, base) / name
            found.append(path)
            inside = path.resolve().is_relative_to(base.resolve())  # never read a file outside
            if element.tag == "include" and inside and path.resolve() not in seen and path.is_file():
                _walk(path, base, folders, found, seen)


def _folder_of(tag: str, folders: dict[str, Path], base: Path) -> Path:
    """Where a ``tag`` element's file name is relative to: its compiler folder, else the model's."""
    for key, tags in FOLDER_ATTRIBUTES.items():
        if tag in tags and key in folders:
            return folders[key]
    return base
