"""A user's MuJoCo (MJCF) or URDF world as a reference scene spec, for ``twinarena validate``.

MuJoCo compiles the file (includes, meshes and assets found relative to it, URDF too), and the
world at its initial pose becomes a :class:`~twin.scene.spec.SceneSpec`:

- **robot stripped**: every top-level body tree that holds a hinge, slide or ball joint is a
  robot (or other articulated thing) and is left out; the robot's root is where our Panda stands;
- **objects**: each body with a free joint, named by its body. One upright primitive geom (box,
  cylinder, sphere) keeps its shape; a five-box open container is a ``tray``; anything else (a
  mesh, a capsule, several geoms) becomes a ``mesh`` object whose surface is written as an OBJ file
  into ``assets`` and collides as its convex hull;
- **table**: the static, upright box geom that the most objects rest on;
- **zones**: static geoms that never collide (``contype`` and ``conaffinity`` 0), thin and lying on
  the table top; a site may be a zone too when the task names it as its target;
- **fixtures**: other static bodies standing on the table, welded there; geoms off the table (the
  floor, walls, other furniture) are dropped, since the room is the twin's own;
- **cameras and lights**: the fixed cameras (the first is ``front``; one is made when there is
  none) and the lights; **physics**: the timestep and gravity.

What was assumed (a tilted object set upright, a merged compound, textures not carried, what was
dropped) comes back as :attr:`ImportedWorld.notes`. A world this cannot read raises
:class:`MjcfWorldError`, one line naming the file and what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin.scene.geoms import BOX, CYLINDER, HFIELD, PLANE, SPHERE, GeomError, geom_surface, subtree_bodies
from twin.scene.spec import TASK_FAMILIES, SceneSpec, SceneSpecError, scene_from_dict
from twin.transforms import mat_yaw, rotate_xy

FREE, BALL, SLIDE, HINGE = 0, 1, 2, 3  # mjtJoint
UPRIGHT = 0.999  # cosine between a geom's axis and z for it to count as upright
REST_BELOW, REST_ABOVE = 0.02, 0.05  # metres: how far an object's bottom may sit from a top it rests on
MARK_THICKNESS = 0.012  # metres: the thickest a zone mark may be
MOUNT_INSET = 0.1  # metres in from the table's back edge, where the robot stands when the world has none
INSTRUCTIONS = {
    "pick_place": "put the {object} in the {target}",
    "push": "push the {object} onto the {target}",
    "stack": "stack the {object} on the {target}",
}


class MjcfWorldError(SceneSpecError):
    """A world file that cannot become a reference scene; the message names the file and why."""


@dataclass(frozen=True)
class ImportedWorld:
    """The scene spec read from a world file, and what reading it assumed."""

    scene: SceneSpec
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Solid:
    """Some geoms of the world, in world coordinates."""

    name: str
    geoms: tuple[int, ...]


def import_world(path: str | Path, task: str, assets: str | Path) -> ImportedWorld:
    """The world at ``path`` with ``task`` (``FAMILY:OBJECT:TARGET``), its meshes written to ``assets``."""
    import mujoco

    path = Path(path)
    if not path.is_file():
        raise MjcfWorldError(f"{path}: no such world file")
    try:
        model = mujoco.MjModel.from_xml_path(str(path))
    except (ValueError, OSError) as err:
        reason = " ".join(str(err).split())[:300]
        raise MjcfWorldError(f"{path}: MuJoCo cannot read it: {reason}") from None
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    reader = _Reader(model, data, path, Path(assets))
    return reader.scene(task)


class _Reader:
    """One compiled world, read into a scene spec (:func:`import_world`)."""

    def __init__(self, model, data, path: Path, assets: Path):
        self.m, self.d, self.path, self.assets = model, data, path, assets
        self.notes: list[str] = []
        self._surfaces: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        roots = [b for b in range(1, model.nbody) if model.body_parentid[b] == 0]
        self.robots: list[int] = []  # roots of articulated trees
        self.objects: list[int] = []  # free bodies with geoms
        self.statics: list[int] = [0]  # the world body and every body of a tree without joints
        for root in roots:
            tree = self._subtree(root)
            kinds = {int(model.jnt_type[j]) for b in tree for j in self._joints(b)}
            if kinds & {HINGE, SLIDE, BALL}:
                self.robots.append(root)
            elif FREE in kinds:
                if self._geoms(tree):
                    self.objects.append(root)
                else:
                    self.notes.append(
                        f"{self._name(1, root, str(root))}: a free body without geoms, left out"
                    )
            elif model.body_mocapid[root] < 0:
                self.statics += tree

    # -- geometry ------------------------------------------------------------------------------
    def _subtree(self, root: int) -> list[int]:
        return subtree_bodies(self.m, root)

    def _joints(self, body: int) -> range:
        start = self.m.body_jntadr[body]
        return range(start, start + self.m.body_jntnum[body]) if start >= 0 else range(0)

    def _geoms(self, bodies) -> list[int]:
        bodies = set(bodies)
        return [g for g in range(self.m.ngeom) if self.m.geom_bodyid[g] in bodies]

    def _collides(self, g: int) -> bool:
        return bool(self.m.geom_contype[g] or self.m.geom_conaffinity[g])

    def _name(self, kind, index: int, fallback: str) -> str:
        import mujoco

        return mujoco.mj_id2name(self.m, kind, index) or fallback

    def _rgba(self, g: int) -> list[float]:
        mat = self.m.geom_matid[g]
        rgba = self.m.mat_rgba[mat] if mat >= 0 else self.m.geom_rgba[g]
        if mat >= 0 and self.m.mat_texid[mat].max() >= 0:
            self.notes.append(f"geom {self._name(5, g, str(g))}: its texture is not carried, only its colour")
        return [round(float(v), 4) for v in rgba]

    def _vertices(self, g: int) -> tuple[np.ndarray, np.ndarray]:
        """Geom ``g``'s surface in world coordinates: vertices and triangles (each geom's read once)."""
        if g in self._surfaces:
            return self._surfaces[g]
        try:
            self._surfaces[g] = geom_surface(self.m, self.d, g)
            return self._surfaces[g]
        except GeomError:
            name = self._name(5, g, str(g))
            raise MjcfWorldError(
                f"{self.path}: geom {name} is a plane or height field inside a body"
            ) from None

    # -- the table -----------------------------------------------------------------------------
    def _table(self) -> int:
        candidates = [
            g
            for g in self._geoms(self.statics)
            if self.m.geom_type[g] == BOX and self._collides(g) and self._upright(g)
        ]
        centres = [self._centre(self._geoms(self._subtree(b))) for b in self.objects]

        def supports(g: int) -> int:
            top = self.d.geom_xpos[g][2] + self.m.geom_size[g][2]
            return sum(
                self._over(g, c[:2]) and top - REST_BELOW <= bottom <= top + REST_ABOVE
                for c, bottom in centres
            )

        if not candidates or not self.objects:
            raise MjcfWorldError(
                f"{self.path}: no table: the world needs free bodies resting on a static, upright box geom"
            )
        best = max(candidates, key=lambda g: (supports(g), self.m.geom_size[g][0] * self.m.geom_size[g][1]))
        if supports(best) == 0:
            raise MjcfWorldError(
                f"{self.path}: no table: none of the {len(self.objects)} free bodies rests on a static "
                "box geom"
            )
        return best

    def _upright(self, g: int) -> bool:
        return abs(self.d.geom_xmat[g].reshape(3, 3)[2, 2]) >= UPRIGHT

    def _over(self, table: int, xy) -> bool:
        R = self.d.geom_xmat[table].reshape(3, 3)
        local = R[:2, :2].T @ (np.asarray(xy) - self.d.geom_xpos[table][:2])
        return bool(np.all(np.abs(local) <= self.m.geom_size[table][:2]))

    def _centre(self, geoms) -> tuple[np.ndarray, float]:
        points = np.concatenate([self._vertices(g)[0] for g in geoms])
        return (points.min(axis=0) + points.max(axis=0)) / 2, float(points[:, 2].min())

    # -- objects -------------------------------------------------------------------------------
    def _object(self, solid: _Solid, yaw: float, fixed: bool, mass: float, friction: float) -> dict:
        """The object spec of ``solid``: its shape, size, centre and yaw (it rests on the table top)."""
        shape_geoms = [g for g in solid.geoms if self._collides(g)] or list(solid.geoms)
        visible = [g for g in solid.geoms if self.m.geom_rgba[g][3] > 0 and self.m.geom_group[g] < 3]
        rgba = self._rgba((visible or shape_geoms)[0])
        common = {
            "name": solid.name,
            "rgba": rgba,
            "mass": max(mass, 1e-3),
            "friction": friction,
            "fixed": fixed,
        }
        if len(shape_geoms) == 1 and self._upright(shape_geoms[0]):
            g = shape_geoms[0]
            kind, size = int(self.m.geom_type[g]), self.m.geom_size[g]
            geom_yaw = mat_yaw(self.d.geom_xmat[g])
            xy = [float(v) for v in self.d.geom_xpos[g][:2]]
            primitive = {
                BOX: ("box", size[:3]),
                CYLINDER: ("cylinder", size[:2]),
                SPHERE: ("sphere", size[:1]),
            }
            if kind in primitive:
                shape, dims = primitive[kind]
                return {
                    **common,
                    "shape": shape,
                    "size": _round(dims),
                    "xy": _round(xy),
                    "yaw": round(geom_yaw, 5),
                }
        points = np.concatenate([self._vertices(g)[0] for g in shape_geoms])
        local = rotate_xy(points[:, :2], -yaw)
        low, high = local.min(axis=0), local.max(axis=0)
        centre_xy = rotate_xy(((low + high) / 2)[None], yaw)[0]
        z_low, z_high = points[:, 2].min(), points[:, 2].max()
        half = [*((high - low) / 2), (z_high - z_low) / 2]
        placed = {**common, "xy": _round(centre_xy), "yaw": round(yaw, 5)}
        tray = self._tray(shape_geoms, yaw, centre_xy, half)
        if tray is not None:
            return {**placed, "shape": "tray", "size": _round(tray)}
        centre = np.array([*centre_xy, (z_low + z_high) / 2])
        surfaces = [self._vertices(g) for g in shape_geoms]
        self.assets.mkdir(parents=True, exist_ok=True)
        obj_file = self.assets / f"{solid.name}.obj"
        _write_obj(obj_file, surfaces, centre, yaw)
        if len(shape_geoms) > 1:
            self.notes.append(
                f"{solid.name}: {len(shape_geoms)} geoms merged into one mesh that collides as its "
                "convex hull"
            )
        return {**placed, "shape": "mesh", "size": _round(half), "mesh": str(obj_file.resolve())}

    def _tray(self, geoms, yaw: float, centre_xy, half) -> list[float] | None:
        """(hx, hy, hz, wall) when ``geoms`` are five boxes making an open tray, else None."""
        if len(geoms) != 5 or any(self.m.geom_type[g] != BOX or not self._upright(g) for g in geoms):
            return None
        boxes = []
        for g in geoms:
            vertices = self._vertices(g)[0]
            points = rotate_xy(vertices[:, :2] - centre_xy, -yaw)
            z = vertices[:, 2]
            boxes.append((points.min(axis=0), points.max(axis=0), z.min(), z.max()))
        z_low = min(b[2] for b in boxes)
        floors = [
            b for b in boxes if b[2] - z_low < 1e-3 and np.all(b[1] - b[0] >= 1.8 * np.array(half[:2]) * 0.9)
        ]
        if len(floors) != 1:
            return None
        wall = floors[0][3] - floors[0][2]
        walls = [b for b in boxes if b is not floors[0]]
        tall = all(b[3] - z_low >= 2 * half[2] * 0.95 for b in walls)
        thin = sorted(min(b[1] - b[0]) for b in walls)
        if not tall or thin[-1] > 0.35 * min(half[:2]) * 2:
            return None
        return [*half, float(max(wall, np.median(thin)))]

    # -- the scene -----------------------------------------------------------------------------
    def scene(self, task: str) -> ImportedWorld:
        family, object_name, target_name = _parse_task(self.path, task)
        table = self._table()
        hx, hy, hz = (float(v) for v in self.m.geom_size[table][:3])
        top_z = float(self.d.geom_xpos[table][2]) + hz
        table_yaw = mat_yaw(self.d.geom_xmat[table])
        objects, names = [], set()
        for root in self.objects:
            tree = self._subtree(root)
            name = self._name(1, root, f"object_{root}")
            R = self.d.xmat[root].reshape(3, 3)
            if R[2, 2] < np.cos(np.radians(10)):
                self.notes.append(
                    f"{name}: tilted {np.degrees(np.arccos(np.clip(R[2, 2], -1, 1))):.0f}°, set upright"
                )
            geoms = self._geoms(tree)
            friction = float(self.m.geom_friction[geoms[0]][0])
            objects.append(
                self._object(
                    _Solid(name, tuple(geoms)),
                    mat_yaw(R),
                    False,
                    float(self.m.body_subtreemass[root]),
                    friction,
                )
            )
            names.add(name)
        dropped = 0
        for g in self._geoms(self.statics):
            if g == table:
                continue
            kind = int(self.m.geom_type[g])
            if kind in (PLANE, HFIELD):
                dropped += 1
                continue
            body = int(self.m.geom_bodyid[g])
            centre, bottom = self._centre([g])
            top = float(self._vertices(g)[0][:, 2].max())
            on_table = self._over(table, centre[:2]) and top_z - REST_BELOW <= bottom <= top_z + REST_ABOVE
            duplicate = self._duplicate(g)
            if not on_table or duplicate:
                dropped += int(not duplicate)
                continue
            name = self._name(5, g, "") or (self._name(1, body, "") if body else "") or f"fixture_{g}"
            if name in names:
                name = f"{name}_{g}"
            if not self._collides(g):
                if top - bottom > MARK_THICKNESS:
                    dropped += 1
                    continue
                objects.append(self._mark(g, name))
            else:
                objects.append(
                    self._object(
                        _Solid(name, (g,)),
                        mat_yaw(self.d.geom_xmat[g]),
                        True,
                        1.0,
                        float(self.m.geom_friction[g][0]),
                    )
                )
            names.add(name)
        if target_name not in names:
            site = self._site(target_name, table, top_z)
            if site is not None:
                objects.append(site)
                names.add(target_name)
        if dropped:
            self.notes.append(
                f"{dropped} static geom(s) off the table or too tall for a mark dropped: the room is "
                "the twin's own"
            )
        for role, name in (("object", object_name), ("target", target_name)):
            if name not in names:
                raise MjcfWorldError(
                    f"{self.path}: the task's {role} {name!r} is not a free body, fixture or mark on "
                    "the table; "
                    f"found: {', '.join(sorted(names)) or 'none'}"
                )
        spec = {
            "name": _scene_name(self.path),
            "description": f"imported from {self.path.name}",
            "table": {
                "half_extents": [hx, hy, hz],
                "top_z": top_z,
                "rgba": self._rgba(table),
                "friction": float(self.m.geom_friction[table][0]),
                "centre": _round(self.d.geom_xpos[table][:2]),
                "yaw": round(table_yaw, 5),
            },
            "objects": objects,
            "tasks": [
                {
                    "name": family,
                    "family": family,
                    "object": object_name,
                    "target": target_name,
                    "instruction": INSTRUCTIONS[family].format(
                        object=object_name.replace("_", " "), target=target_name.replace("_", " ")
                    ),
                }
            ],
            "cameras": self._cameras(top_z, table),
            "lights": self._lights(),
            "physics": {"timestep": float(self.m.opt.timestep), "gravity": _round(self.m.opt.gravity)},
            "robot_base": self._robot_base(table, top_z, (hx, hy), table_yaw),
        }
        try:
            scene = scene_from_dict(json.loads(json.dumps(spec, default=float)), str(self.path))
        except SceneSpecError as err:
            raise MjcfWorldError(str(err)) from None
        return ImportedWorld(scene, tuple(dict.fromkeys(self.notes)))

    def _mount(self, root: int) -> int:
        """The body an articulated tree's first moving joint hangs from: the robot's base link."""
        frontier = [root]
        while frontier:
            b = frontier.pop(0)
            if len(self._joints(b)):
                return max(int(self.m.body_parentid[b]), root) if b != root else root
            frontier += [c for c in range(1, self.m.nbody) if self.m.body_parentid[c] == b and c != b]
        return root

    def _duplicate(self, g: int) -> bool:
        """A visual-only geom standing where a colliding geom of the same shape stands."""
        if self._collides(g):
            return False
        return any(
            self._collides(h)
            and self.m.geom_type[h] == self.m.geom_type[g]
            and np.allclose(self.d.geom_xpos[h], self.d.geom_xpos[g], atol=1e-3)
            and np.allclose(self.m.geom_size[h], self.m.geom_size[g], atol=1e-3)
            for h in range(self.m.ngeom)
        )

    def _mark(self, g: int, name: str) -> dict:
        kind, size = int(self.m.geom_type[g]), self.m.geom_size[g]
        common = {"name": name, "rgba": self._rgba(g), "fixed": True, "visual_only": True}
        xy, yaw = _round(self.d.geom_xpos[g][:2]), round(mat_yaw(self.d.geom_xmat[g]), 5)
        if kind == CYLINDER:
            return {**common, "shape": "cylinder", "size": _round(size[:2]), "xy": xy}
        if kind == BOX:
            return {**common, "shape": "box", "size": _round(size[:3]), "xy": xy, "yaw": yaw}
        return self._object(_Solid(name, (g,)), yaw, True, 1.0, 1.0) | {"visual_only": True}

    def _site(self, name: str, table: int, top_z: float) -> dict | None:
        import mujoco

        s = mujoco.mj_name2id(self.m, mujoco.mjtObj.mjOBJ_SITE, name)
        if s < 0 or not self._over(table, self.d.site_xpos[s][:2]):
            return None
        kind, size = int(self.m.site_type[s]), self.m.site_size[s]
        xy = _round(self.d.site_xpos[s][:2])
        rgba = [round(float(v), 4) for v in self.m.site_rgba[s]]
        rgba[3] = 1.0
        self.notes.append(f"{name}: a site, made a visible zone mark on the table")
        common = {"name": name, "rgba": rgba, "fixed": True, "visual_only": True, "xy": xy}
        thin = MARK_THICKNESS / 4
        if kind == BOX:
            return {
                **common,
                "shape": "box",
                "size": _round([size[0], size[1], thin]),
                "yaw": round(mat_yaw(self.d.site_xmat[s]), 5),
            }
        return {**common, "shape": "cylinder", "size": _round([size[0], thin])}

    def _cameras(self, top_z: float, table: int) -> list[dict]:
        fixed = [c for c in range(self.m.ncam) if self.m.cam_bodyid[c] in self.statics]
        cameras = []
        for c in fixed:
            pos = self.d.cam_xpos[c]
            forward = -self.d.cam_xmat[c].reshape(3, 3)[:, 2]
            reach = (top_z - pos[2]) / forward[2] if forward[2] < -0.05 else 1.0
            name = "front" if not cameras else self._name(7, c, f"camera_{c}")
            cameras.append(
                {
                    "name": name,
                    "pos": _round(pos),
                    "lookat": _round(pos + reach * forward),
                    "fovy": float(self.m.cam_fovy[c]),
                }
            )
        if not cameras:
            centre = self.d.geom_xpos[table]
            ahead = rotate_xy(np.array([[1.0, 0.0]]), mat_yaw(self.d.geom_xmat[table]))[0]
            pos = [*(centre[:2] + 0.9 * ahead), top_z + 0.75]
            cameras.append({"name": "front", "pos": _round(pos), "lookat": _round([*centre[:2], top_z])})
            self.notes.append(
                "the world has no fixed camera: a front camera looks at the table across from the robot"
            )
        elif self._name(7, fixed[0], "") != "front":
            self.notes.append(
                f"camera {self._name(7, fixed[0], str(fixed[0]))!r} is the front camera policies see"
            )
        return cameras

    def _lights(self) -> list[dict]:
        import mujoco

        lights = []
        for i in range(self.m.nlight):
            lights.append(
                {
                    "pos": _round(self.d.light_xpos[i]),
                    "dir": _round(self.d.light_xdir[i]),
                    "diffuse": _round(self.m.light_diffuse[i]),
                    "ambient": _round(self.m.light_ambient[i]),
                    "directional": bool(self.m.light_type[i] == mujoco.mjtLightType.mjLIGHT_DIRECTIONAL),
                    "castshadow": bool(self.m.light_castshadow[i]),
                }
            )
        return lights or [{}]

    def _robot_base(self, table: int, top_z: float, half_xy, yaw: float) -> list[float]:
        if self.robots:
            root = max(self.robots, key=lambda b: len(self._subtree(b)))
            if len(self.robots) > 1:
                stripped = ", ".join(self._name(1, b, str(b)) for b in self.robots)
                self.notes.append(
                    f"articulated trees stripped: {stripped}; the robot stands where "
                    f"{self._name(1, root, str(root))} is mounted"
                )
            mount = self._mount(root)
            if abs(mat_yaw(self.d.xmat[mount])) > np.radians(5):
                self.notes.append(
                    "the world's robot faced away from +x; the twin's robot faces +x from the same spot"
                )
            return _round(self.d.xpos[mount])
        back = rotate_xy(np.array([[-(half_xy[0] - MOUNT_INSET), 0.0]]), yaw)[0] + self.d.geom_xpos[table][:2]
        self.notes.append("the world has no robot: ours stands on the table's back edge, facing +x")
        return _round([*back, top_z])


# -- pure helpers ----------------------------------------------------------------------------------
def _parse_task(path: Path, task: str) -> tuple[str, str, str]:
    parts = task.split(":")
    if len(parts) != 3 or not all(parts):
        raise MjcfWorldError(
            f"{path}: --task must be FAMILY:OBJECT:TARGET (e.g. push:box:zone), got {task!r}"
        )
    if parts[0] not in TASK_FAMILIES:
        raise MjcfWorldError(f"{path}: task family {parts[0]!r} is not one of {', '.join(TASK_FAMILIES)}")
    return parts[0], parts[1], parts[2]


def _scene_name(path: Path) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in path.stem)
    return f"imported_{stem}"


def _round(values, digits: int = 5) -> list[float]:
    return [round(float(v), digits) for v in np.asarray(values).ravel()]


def _write_obj(path: Path, surfaces, centre: np.ndarray, yaw: float) -> None:
    """Surfaces (world vertices, triangles) as one OBJ about ``centre``, turned by −``yaw`` (z up)."""
    lines, offset = [], 0
    for vertices, faces in surfaces:
        local = vertices - centre
        local[:, :2] = rotate_xy(local[:, :2], -yaw)
        lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in local]
        lines += [f"f {a + 1 + offset} {b + 1 + offset} {c + 1 + offset}" for a, b, c in faces]
        offset += len(local)
    path.write_text("\n".join(lines) + "\n")
