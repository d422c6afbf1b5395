"""PyBullet as a second physics engine behind the :class:`World` interface.

:class:`BulletWorld` keeps the compiled MuJoCo model and data for everything but dynamics
(kinematics, inverse kinematics, state reading, rendering) and runs the physics in PyBullet. The
PyBullet world is built from the *compiled MuJoCo model*, not from the scene YAML, so whatever
made the model (an authored scene, a twin package, an edited spec) is mirrored:

- every non-robot body with collision geoms becomes one multibody: boxes, spheres, cylinders,
  capsules, planes and meshes (their convex hull, as MuJoCo collides them), placed as in the
  body; mass and principal inertia from the model (the multibody's base frame is MuJoCo's
  inertial frame); static (mass 0) unless the body has a free joint;
- the robot is the same ``franka_panda/panda.urdf`` MuJoCo loads, fixed at the MuJoCo base
  pose, its joints driven by PyBullet position motors toward ``data.ctrl`` with gains that give
  the MuJoCo servos' lag, the fingers coupled like MuJoCo's joint equality.

Not mirrored: joints other than free ones (hinged or welded moving bodies raise), geom types
other than the ones above, ``contype``/``conaffinity`` bit masks (every collision geom collides
with every other), contact softness (solref/solimp) and the robot's self-collisions.

After every step PyBullet's state is written back into ``data`` (joint and free-joint positions
and velocities) and ``mj_forward`` runs, so whatever reads ``data`` reads the PyBullet state.

Friction: MuJoCo combines two geoms' sliding coefficients by taking the larger, Bullet
multiplies them. Each body gets ``sqrt(mu)`` in PyBullet, so a pair's friction is the geometric
mean ``sqrt(mu1 * mu2)``: MuJoCo's value when the two agree, somewhat below it otherwise.
MuJoCo's torsional and rolling coefficients are not carried over: Bullet's spinning friction is
far stronger than MuJoCo's for the same coefficient (a standing 80 g can with a combined 0.005
resists 0.1 N m about its axis in PyBullet, 0.03 N m in MuJoCo), and with it the closed-loop
push of ``kitchen_clutter/can_to_zone`` fails in most seeds; without it both engines agree.
"""

from __future__ import annotations

import hashlib
import tempfile
import weakref
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pybullet as p

from twin.scene.builder import ROBOT_PREFIX
from twin.scene.gl import import_mujoco
from twin.scene.robot import ARM_JOINTS, FINGER_JOINTS, PandaConfig, panda_urdf_path
from twin.scene.spec import SceneSpec
from twin.scene.world import World

mujoco = import_mujoco()


ROBOT_BASE_LINK = "panda_link0"
FINGER_COUPLING_FORCE = 1000.0  # N, the gear constraint holding the fingers symmetric
IDENTITY_QUAT = np.array([1.0, 0.0, 0.0, 0.0])


# -- pure conversions ------------------------------------------------------------------------
def xyzw_from_wxyz(quat) -> list[float]:
    """A MuJoCo quaternion (w, x, y, z) in PyBullet's order (x, y, z, w)."""
    w, x, y, z = (float(v) for v in quat)
    return [x, y, z, w]


def wxyz_from_xyzw(quat) -> np.ndarray:
    """A PyBullet quaternion (x, y, z, w) in MuJoCo's order (w, x, y, z)."""
    x, y, z, w = quat
    return np.array([w, x, y, z], dtype=float)


def quat_conjugate(quat) -> np.ndarray:
    w, x, y, z = quat
    return np.array([w, -x, -y, -z], dtype=float)


def quat_multiply(a, b) -> np.ndarray:
    """Hamilton product ``a ⊗ b`` of two (w, x, y, z) quaternions."""
    out = np.empty(4)
    mujoco.mju_mulQuat(out, np.asarray(a, float), np.asarray(b, float))
    return out


def quat_rotate(quat, vec) -> np.ndarray:
    """``vec`` rotated by the (w, x, y, z) quaternion ``quat``."""
    out = np.empty(3)
    mujoco.mju_rotVecQuat(out, np.asarray(vec, float), np.asarray(quat, float))
    return out


def compose(pos_a, quat_a, pos_b, quat_b) -> tuple[np.ndarray, np.ndarray]:
    """The pose ``a ∘ b``: frame ``b`` given in frame ``a``, expressed in ``a``'s parent."""
    return np.asarray(pos_a, float) + quat_rotate(quat_a, pos_b), quat_multiply(quat_a, quat_b)


def invert(pos, quat) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of a rigid pose."""
    inverse = quat_conjugate(quat)
    return -quat_rotate(inverse, pos), inverse


def bullet_friction(mu: float) -> float:
    """The per-body PyBullet coefficient whose pairwise product reproduces MuJoCo's ``mu``."""
    return float(np.sqrt(max(mu, 0.0)))


def servo_position_gain(timestep: float, kp: float, kv: float, damping: float) -> float:
    """PyBullet ``positionGain`` that tracks like a MuJoCo position servo.

    A PyBullet position motor removes the fraction ``gain`` of the error each step: a first-order
    lag with time constant ``timestep / gain``. An overdamped servo (``kp``, ``kv``, joint
    ``damping``) lags with ``(kv + damping) / kp``; the gain matches the two.
    """
    if kp <= 0:
        raise ValueError(f"servo stiffness kp must be positive, got {kp}")
    tau = (kv + damping) / kp
    return float(np.clip(timestep / max(tau, 1e-9), 1e-4, 1.0))


def free_joint_qvel(com_velocity, angular_velocity, body_quat, origin_to_com) -> np.ndarray:
    """MuJoCo free-joint velocity from PyBullet's base velocity.

    PyBullet gives the centre of mass's linear velocity and the world-frame angular velocity;
    MuJoCo wants the body origin's linear velocity (world frame) and the angular velocity in the
    body frame. ``origin_to_com`` is the world-frame vector from the body origin to the COM.
    """
    omega = np.asarray(angular_velocity, float)
    origin_velocity = np.asarray(com_velocity, float) - np.cross(omega, origin_to_com)
    return np.concatenate([origin_velocity, quat_rotate(quat_conjugate(body_quat), omega)])


# -- the mirrored bodies -----------------------------------------------------------------------
@dataclass(frozen=True)
class ShapeSpec:
    """One collision geom as a PyBullet shape, posed in its multibody's base frame."""

    geom: int  # MuJoCo geom id
    kind: int  # p.GEOM_*
    pos: np.ndarray
    quat: np.ndarray  # w, x, y, z
    half_extents: tuple[float, float, float] = (0.0, 0.0, 0.0)
    radius: float = 0.0
    length: float = 0.0
    mesh_file: str = ""


@dataclass(frozen=True)
class BodySpec:
    """A non-robot MuJoCo body as a PyBullet multibody.

    The base frame is ``frame_pos``/``frame_quat`` in the MuJoCo body frame: the inertial frame
    for a moving body (so ``inertia`` is diagonal there), the body frame for a static one.
    """

    body: int  # MuJoCo body id
    name: str
    mass: float  # 0: static
    inertia: np.ndarray
    frame_pos: np.ndarray
    frame_quat: np.ndarray
    shapes: tuple[ShapeSpec, ...]
    friction: float  # MuJoCo sliding friction
    free_qpos: int | None  # qpos address of the free joint; None: static
    free_dof: int | None


def collision_geoms(model, body: int) -> list[int]:
    """Geoms of ``body`` that take part in collisions (``contype | conaffinity`` non-zero)."""
    start, count = model.body_geomadr[body], model.body_geomnum[body]
    return [g for g in range(start, start + count) if model.geom_contype[g] | model.geom_conaffinity[g]]


def body_friction(model, geoms: list[int]) -> float:
    """A body's MuJoCo sliding friction: the largest over its geoms (0 where all are frictionless,
    ``condim`` 1)."""
    if not geoms or model.geom_condim[geoms].max() <= 1:
        return 0.0
    return float(model.geom_friction[geoms, 0].max())


def _geom_label(model, geom: int) -> str:
    name = model.geom(geom).name
    return repr(name) if name else f"#{geom}"


def shape_spec(model, geom: int, frame_pos, frame_quat, mesh_file) -> ShapeSpec:
    """The PyBullet shape of MuJoCo ``geom``, posed relative to the base frame
    (``frame_pos``, ``frame_quat``) given in the geom's body frame. ``mesh_file(mesh_id)`` is
    the path of an OBJ file holding that mesh."""
    pos, quat = compose(*invert(frame_pos, frame_quat), model.geom_pos[geom], model.geom_quat[geom])
    size = model.geom_size[geom]
    kind = model.geom_type[geom]
    types = mujoco.mjtGeom
    if kind == types.mjGEOM_BOX:
        return ShapeSpec(geom, p.GEOM_BOX, pos, quat, half_extents=tuple(float(s) for s in size))
    if kind == types.mjGEOM_SPHERE:
        return ShapeSpec(geom, p.GEOM_SPHERE, pos, quat, radius=float(size[0]))
    if kind == types.mjGEOM_CYLINDER:
        return ShapeSpec(geom, p.GEOM_CYLINDER, pos, quat, radius=float(size[0]), length=2 * float(size[1]))
    if kind == types.mjGEOM_CAPSULE:
        return ShapeSpec(geom, p.GEOM_CAPSULE, pos, quat, radius=float(size[0]), length=2 * float(size[1]))
    if kind == types.mjGEOM_PLANE:
        return ShapeSpec(geom, p.GEOM_PLANE, pos, quat)
    if kind == types.mjGEOM_MESH:
        return ShapeSpec(geom, p.GEOM_MESH, pos, quat, mesh_file=mesh_file(int(model.geom_dataid[geom])))
    raise NotImplementedError(
        f"geom {_geom_label(model, geom)} of body {model.body(model.geom_bodyid[geom]).name!r}: "
        f"MuJoCo geom type {types(kind).name} has no PyBullet counterpart here"
    )


def _free_joint(model, body: int) -> int | None:
    """The body's free joint, None for a static body; anything else is not supported."""
    name = model.body(body).name or f"#{body}"
    count = model.body_jntnum[body]
    if count == 0:
        if model.body_weldid[body] != 0:
            raise NotImplementedError(f"body {name!r} is welded to a moving body; only free bodies move")
        return None
    joint = model.body_jntadr[body]
    if count > 1 or model.jnt_type[joint] != mujoco.mjtJoint.mjJNT_FREE:
        raise NotImplementedError(f"body {name!r}: only free joints are mirrored into PyBullet")
    return int(joint)


def body_specs(model, mesh_file) -> list[BodySpec]:
    """Every non-robot body with collision geoms, as :class:`BodySpec`, in body id order."""
    specs = []
    for body in range(model.nbody):
        name = model.body(body).name
        geoms = collision_geoms(model, body)
        if name.startswith(ROBOT_PREFIX) or not geoms:
            continue
        joint = _free_joint(model, body)
        if joint is None:
            frame_pos, frame_quat = np.zeros(3), IDENTITY_QUAT
        else:
            frame_pos, frame_quat = model.body_ipos[body].copy(), model.body_iquat[body].copy()
        specs.append(
            BodySpec(
                body=body,
                name=name or f"#{body}",
                mass=0.0 if joint is None else float(model.body_mass[body]),
                inertia=model.body_inertia[body].copy(),
                frame_pos=frame_pos,
                frame_quat=frame_quat,
                shapes=tuple(shape_spec(model, g, frame_pos, frame_quat, mesh_file) for g in geoms),
                friction=body_friction(model, geoms),
                free_qpos=None if joint is None else int(model.jnt_qposadr[joint]),
                free_dof=None if joint is None else int(model.jnt_dofadr[joint]),
            )
        )
    return specs


def write_collision_urdf(folder: Path) -> Path:
    """A copy of the Panda URDF without its visual elements (PyBullet here only simulates; the
    visual meshes take four fifths of the load time) and with absolute mesh paths."""
    source = panda_urdf_path()
    root = ET.parse(source).getroot()
    for link in root.iter("link"):
        for visual in link.findall("visual"):
            link.remove(visual)
    for mesh in root.iter("mesh"):
        mesh.set("filename", str(source.parent / mesh.get("filename", "").removeprefix("package://")))
    path = folder / "panda_collision.urdf"
    ET.ElementTree(root).write(path)
    return path


def write_mesh_obj(model, mesh: int, folder: Path) -> str:
    """Write MuJoCo mesh ``mesh`` (vertices and faces) as an OBJ file in ``folder``; the name
    carries a digest of the geometry, so an edited mesh never reuses a stale file."""
    start, count = model.mesh_vertadr[mesh], model.mesh_vertnum[mesh]
    vertices = model.mesh_vert[start : start + count]
    fstart, fcount = model.mesh_faceadr[mesh], model.mesh_facenum[mesh]
    faces = model.mesh_face[fstart : fstart + fcount]
    digest = hashlib.sha1(vertices.tobytes() + faces.tobytes()).hexdigest()[:12]
    path = folder / f"mesh{mesh}_{digest}.obj"
    if not path.exists():
        lines = [f"v {x:.9g} {y:.9g} {z:.9g}" for x, y, z in vertices]
        lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in faces]
        path.write_text("\n".join(lines) + "\n")
    return str(path)


def _disconnect(client: int) -> None:
    if p.isConnected(physicsClientId=client):
        p.disconnect(physicsClientId=client)


# -- the world -------------------------------------------------------------------------------
class BulletWorld(World):
    """A :class:`World` whose physics runs in PyBullet (its own DIRECT client).

    The PyBullet simulation is rebuilt from ``self.model`` at every :meth:`reset`, so edits to
    the model's masses, inertias, sizes or friction made between episodes take effect.
    """

    def __init__(self, scene: SceneSpec, robot: PandaConfig | None = None, spec=None):
        super().__init__(scene, robot, spec)
        self.client = p.connect(p.DIRECT)
        if self.client < 0:
            raise RuntimeError("PyBullet: cannot open a DIRECT physics client")
        self._finalizer = weakref.finalize(self, _disconnect, self.client)
        self._files = tempfile.TemporaryDirectory(prefix="twinarena-bullet-")
        self._robot_urdf = write_collision_urdf(Path(self._files.name))
        self._rebuild_on_settle = False
        self.bodies: dict[str, BodySpec] = {}
        self.bullet_ids: dict[str, int] = {}
        self.robot_id = -1
        self._arm_joints: list[int] = []
        self._finger_joints: list[int] = []
        self._motor_forces: list[float] = []
        self._finger_dof = np.array([self.model.joint(ROBOT_PREFIX + j).dofadr[0] for j in FINGER_JOINTS])
        self._arm_gains, self._gripper_gain = self._servo_gains()
        self._rebuild()
        self._pull_state()

    # -- building ----------------------------------------------------------------------------
    def _servo_gains(self) -> tuple[np.ndarray, float]:
        """PyBullet position gains for the arm joints and the fingers, from the MuJoCo servos."""
        m, dt = self.model, self.model.opt.timestep

        def gain(actuator: int, dof: int) -> float:
            kp, kv = -m.actuator_biasprm[actuator, 1], -m.actuator_biasprm[actuator, 2]
            return servo_position_gain(dt, kp, kv, m.dof_damping[dof])

        arm = np.array([gain(a, d) for a, d in zip(self.arm_ctrl, self.arm_dof, strict=True)])
        return arm, gain(self.gripper_ctrl, self._finger_dof[0])

    def _configure_engine(self) -> None:
        m = self.model
        p.setGravity(*(float(g) for g in m.opt.gravity), physicsClientId=self.client)
        p.setPhysicsEngineParameter(
            fixedTimeStep=float(m.opt.timestep),
            numSubSteps=0,
            deterministicOverlappingPairs=1,
            physicsClientId=self.client,
        )

    def _mesh_file(self, mesh: int) -> str:
        return write_mesh_obj(self.model, mesh, Path(self._files.name))

    def _create_shape(self, shapes: tuple[ShapeSpec, ...]) -> int:
        """One (compound) PyBullet collision shape of ``shapes``."""
        shape = p.createCollisionShapeArray(
            shapeTypes=[s.kind for s in shapes],
            radii=[s.radius for s in shapes],
            halfExtents=[list(s.half_extents) for s in shapes],
            lengths=[s.length for s in shapes],
            fileNames=[s.mesh_file for s in shapes],
            meshScales=[[1.0, 1.0, 1.0]] * len(shapes),
            planeNormals=[[0.0, 0.0, 1.0]] * len(shapes),
            collisionFramePositions=[list(s.pos) for s in shapes],
            collisionFrameOrientations=[xyzw_from_wxyz(s.quat) for s in shapes],
            physicsClientId=self.client,
        )
        if shape < 0:
            raise RuntimeError(f"PyBullet refused the collision shapes of geoms {[s.geom for s in shapes]}")
        return shape

    def _set_friction(self, body_id: int, link: int, friction: float) -> None:
        """MuJoCo sliding ``friction`` on a PyBullet link; no spinning or rolling friction."""
        p.changeDynamics(
            body_id,
            link,
            lateralFriction=bullet_friction(friction),
            spinningFriction=0.0,
            rollingFriction=0.0,
            physicsClientId=self.client,
        )

    def _create_body(self, spec: BodySpec) -> int:
        """The multibody of ``spec`` at its current pose in ``self.data``."""
        pos, quat = compose(
            self.data.xpos[spec.body], self.data.xquat[spec.body], spec.frame_pos, spec.frame_quat
        )
        body_id = p.createMultiBody(
            baseMass=spec.mass,
            baseCollisionShapeIndex=self._create_shape(spec.shapes),
            basePosition=list(pos),
            baseOrientation=xyzw_from_wxyz(quat),
            physicsClientId=self.client,
        )
        if body_id < 0:
            raise RuntimeError(f"PyBullet refused body {spec.name!r}")
        self._set_friction(body_id, -1, spec.friction)
        p.changeDynamics(body_id, -1, restitution=0.0, collisionMargin=0.0, physicsClientId=self.client)
        if spec.mass > 0:
            p.changeDynamics(
                body_id,
                -1,
                localInertiaDiagonal=list(spec.inertia),
                linearDamping=0.0,
                angularDamping=0.0,
                physicsClientId=self.client,
            )
        return body_id

    def _load_robot(self) -> int:
        """The Panda URDF at the MuJoCo base pose, joints mapped by name, friction mirrored."""
        base = self.model.body(ROBOT_PREFIX + ROBOT_BASE_LINK).id
        robot = p.loadURDF(
            str(self._robot_urdf),
            basePosition=list(self.data.xpos[base]),
            baseOrientation=xyzw_from_wxyz(self.data.xquat[base]),
            useFixedBase=True,
            physicsClientId=self.client,
        )
        joints, links = {}, {-1: ROBOT_BASE_LINK}
        for j in range(p.getNumJoints(robot, physicsClientId=self.client)):
            info = p.getJointInfo(robot, j, physicsClientId=self.client)
            joints[info[1].decode()] = j
            links[j] = info[12].decode()
        missing = [j for j in (*ARM_JOINTS, *FINGER_JOINTS) if j not in joints]
        if missing:
            raise RuntimeError(f"{panda_urdf_path()}: joints {missing} missing from the URDF")
        self._arm_joints = [joints[j] for j in ARM_JOINTS]
        self._finger_joints = [joints[j] for j in FINGER_JOINTS]
        efforts = [p.getJointInfo(robot, j, physicsClientId=self.client)[10] for j in self._arm_joints]
        self._motor_forces = [
            *(self._motor_force(a, effort) for a, effort in zip(self.arm_ctrl, efforts, strict=True)),
            *[self._motor_force(self.gripper_ctrl, 0.0)] * len(self._finger_joints),
        ]
        for link, name in links.items():
            mj_body = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, ROBOT_PREFIX + name)
            geoms = collision_geoms(self.model, mj_body) if mj_body >= 0 else []
            if geoms:
                self._set_friction(robot, link, body_friction(self.model, geoms))
        self._couple_fingers(robot)
        return robot

    def _motor_force(self, actuator: int, effort: float) -> float:
        """A motor's force limit: the MuJoCo actuator's where it has one (the gripper's 40 N), else
        the URDF ``effort`` (the real Panda's torque limits: the MuJoCo arm servos are unlimited)."""
        m = self.model
        if m.actuator_forcelimited[actuator]:
            return float(np.abs(m.actuator_forcerange[actuator]).max())
        if effort <= 0:
            raise ValueError(f"actuator {m.actuator(actuator).name!r} has no force limit, nor its URDF joint")
        return float(effort)

    def _couple_fingers(self, robot: int) -> None:
        """Make the second finger mirror the first, as MuJoCo's joint equality does. Without it the
        two force-limited finger motors balance each other on a held object, and the object slides
        between the fingers along the closing axis whenever the hand accelerates."""
        gear = p.createConstraint(
            robot,
            self._finger_joints[0],
            robot,
            self._finger_joints[1],
            jointType=p.JOINT_GEAR,
            jointAxis=[1, 0, 0],
            parentFramePosition=[0, 0, 0],
            childFramePosition=[0, 0, 0],
            physicsClientId=self.client,
        )
        p.changeConstraint(
            gear, gearRatio=-1, erp=0.2, maxForce=FINGER_COUPLING_FORCE, physicsClientId=self.client
        )

    def _rebuild(self) -> None:
        """A fresh PyBullet simulation mirroring ``self.model`` in the state ``self.data`` holds."""
        p.resetSimulation(physicsClientId=self.client)
        self._configure_engine()
        mujoco.mj_kinematics(self.model, self.data)
        self.bodies = {s.name: s for s in body_specs(self.model, self._mesh_file)}
        self.bullet_ids = {name: self._create_body(spec) for name, spec in self.bodies.items()}
        self.robot_id = self._load_robot()
        qpos = self.data.qpos
        for j, q in zip(self._arm_joints, qpos[self.arm_qpos], strict=True):
            p.resetJointState(self.robot_id, j, float(q), 0.0, physicsClientId=self.client)
        for j, q in zip(self._finger_joints, qpos[self.finger_qpos], strict=True):
            p.resetJointState(self.robot_id, j, float(q), 0.0, physicsClientId=self.client)

    # -- stepping ----------------------------------------------------------------------------
    def _drive_robot(self) -> None:
        """Point the position motors at ``data.ctrl`` (clipped to the actuators' ranges)."""
        m, ctrl = self.model, self.data.ctrl
        arm = np.clip(ctrl[self.arm_ctrl], *m.actuator_ctrlrange[self.arm_ctrl].T)
        opening = float(np.clip(ctrl[self.gripper_ctrl], *m.actuator_ctrlrange[self.gripper_ctrl]))
        fingers = len(self._finger_joints)
        p.setJointMotorControlArray(
            self.robot_id,
            self._arm_joints + self._finger_joints,
            p.POSITION_CONTROL,
            targetPositions=[*arm, *[opening] * fingers],
            forces=self._motor_forces,
            positionGains=[*self._arm_gains, *[self._gripper_gain] * fingers],
            velocityGains=[1.0] * len(self._motor_forces),
            physicsClientId=self.client,
        )

    def _simulate(self, nstep: int) -> None:
        """``nstep`` PyBullet steps with the current controls (constant over the call, as
        ``data.ctrl`` cannot change inside it), then the state copied into ``data``."""
        self._drive_robot()
        for _ in range(nstep):
            p.stepSimulation(physicsClientId=self.client)
        self.data.time += nstep * self.model.opt.timestep
        self._pull_state()

    def _pull_state(self) -> None:
        """Copy PyBullet's robot joints and free bodies into ``data``, then ``mj_forward``."""
        data, client = self.data, self.client
        for joints, qpos, dofs in (
            (self._arm_joints, self.arm_qpos, self.arm_dof),
            (self._finger_joints, self.finger_qpos, self._finger_dof),
        ):
            states = p.getJointStates(self.robot_id, joints, physicsClientId=client)
            data.qpos[qpos] = [s[0] for s in states]
            data.qvel[dofs] = [s[1] for s in states]
        for name, spec in self.bodies.items():
            if spec.free_qpos is None:
                continue
            com, orientation = p.getBasePositionAndOrientation(self.bullet_ids[name], physicsClientId=client)
            pos, quat = compose(com, wxyz_from_xyzw(orientation), *invert(spec.frame_pos, spec.frame_quat))
            linear, angular = p.getBaseVelocity(self.bullet_ids[name], physicsClientId=client)
            data.qpos[spec.free_qpos : spec.free_qpos + 7] = [*pos, *quat]
            data.qvel[spec.free_dof : spec.free_dof + 6] = free_joint_qvel(
                linear, angular, quat, np.asarray(com) - pos
            )
        mujoco.mj_forward(self.model, data)

    # -- the World interface -----------------------------------------------------------------
    def reset(self, seed: int, arm_qpos: np.ndarray | None = None) -> None:
        """:meth:`World.reset` with the physics in PyBullet: MuJoCo's reset places the objects
        and the robot in ``data``; its settle (``self.settle``) first rebuilds the PyBullet world
        from that placement, so the same seed gives the same initial state in both engines."""
        self._rebuild_on_settle = True
        super().reset(seed, arm_qpos)
        if self._rebuild_on_settle:  # World.reset did not settle: mirror the placement anyway
            self._rebuild_on_settle = False
            self._rebuild()
            self._pull_state()
            self.initial_poses = self.object_poses()

    def settle(self, seconds: float) -> None:
        """Step PyBullet with the current controls for ``seconds``."""
        if self._rebuild_on_settle:
            self._rebuild_on_settle = False
            self._rebuild()
        self._simulate(int(round(seconds / self.model.opt.timestep)))

    def step(self) -> None:
        """Advance one control period (``substeps`` PyBullet steps) with ``data.ctrl``."""
        self._simulate(self.substeps)

    def close(self) -> None:
        """Disconnect the PyBullet client, drop the mesh files, close the renderers."""
        self._finalizer()
        self._files.cleanup()
        super().close()


BACKENDS: dict[str, type[World]] = {"mujoco": World, "pybullet": BulletWorld}


def make_world(
    scene: SceneSpec, robot: PandaConfig | None = None, spec=None, backend: str = "mujoco"
) -> World:
    """A :class:`World` over ``scene`` whose physics runs in ``backend`` (see :data:`BACKENDS`)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown physics backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    return BACKENDS[backend](scene, robot, spec)
