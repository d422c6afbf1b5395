"""Does a twin make physical sense? Checks no pixel metric makes.

A twin can render at 34 dB and still be wrong: the table finder took the floor, table-leg marks
became 36 objects, the task's object is not among them. These checks read only the manifest
(``twin.json``'s robot, table and objects) and the task, so they hold in any world frame:

- the table top stands near the robot base's height (a robot stands on or beside its table);
- every object rests on the table top (its centre not below it) and over the table's footprint;
- the number of objects and their sizes fit a tabletop task;
- the task's object and target are among the objects.

:func:`plausibility_problems` is pure; ``twin build`` writes its list to ``fidelity.json``
(``"plausibility"``) and ``twin check`` shows it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twin.scene.spec import TableSpec

MOUNT_TOLERANCE = 0.3  # metres between the table top and the robot base's height
FOOTPRINT_MARGIN = 0.03  # metres an object's centre may overhang the table's edge
BELOW_TOLERANCE = 0.01  # metres an object's centre may sit below the table top
MAX_OBJECTS = 12  # more than this on one table is texture or marks taken for objects
HALF_EXTENT_RANGE = (0.004, 0.3)  # metres: a tabletop object's largest half extent


def plausibility_problems(manifest: dict[str, Any], task: dict[str, Any] | None = None) -> list[str]:
    """What is physically implausible in a twin's ``manifest`` (``twin.json`` as a dict) and
    ``task`` (``task.json``); an empty list when nothing is."""
    problems: list[str] = []
    table = manifest["table"]
    top = float(table["height"])
    base_z = float(np.asarray(manifest["robot"]["base_pose"], dtype=float)[2, 3])
    if abs(base_z - top) > MOUNT_TOLERANCE:
        problems.append(
            f"the table top (z = {top:.2f} m) is {abs(base_z - top):.2f} m from the robot base's height "
            f"(z = {base_z:.2f} m): a robot stands on or beside its table, so the plane found is likely "
            "another one (the floor?)"
        )
    objects = manifest.get("objects", [])
    if len(objects) > MAX_OBJECTS:
        problems.append(
            f"{len(objects)} objects: more than a tabletop task holds ({MAX_OBJECTS}); texture or marks "
            "may have been taken for objects"
        )
    footprint = TableSpec.from_manifest(table)
    for entry in objects:
        name = entry["name"]
        pos = np.asarray(entry["pos"], dtype=float)
        half = np.asarray(entry["half_extents"], dtype=float)
        if pos[2] < top - BELOW_TOLERANCE:
            problems.append(f"object {name!r}: its centre is {top - pos[2]:.3f} m below the table top")
        if not footprint.on_top(pos[:2], margin=-FOOTPRINT_MARGIN):
            problems.append(f"object {name!r} lies outside the table's footprint")
        low, high = HALF_EXTENT_RANGE
        if half.max() > high:
            problems.append(
                f"object {name!r} is {2 * half.max():.2f} m across: too large for a tabletop object"
            )
        elif half.max() < low:
            problems.append(
                f"object {name!r} is {2 * half.max() * 1000:.0f} mm across: too small to be an object"
            )
    names = {entry["name"] for entry in objects}
    for role in ("object", "target"):
        wanted = (task or {}).get(role)
        if task is not None and wanted not in names:
            problems.append(f"the task's {role} {wanted!r} is not among the twin's objects")
    return problems
