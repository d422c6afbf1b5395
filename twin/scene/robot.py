"""The Franka Panda arm with its gripper, as an ``MjSpec`` built from pybullet's packaged URDF.

pybullet's wheel ships ``pybullet_data/franka_panda`` (URDF and OBJ meshes), so no robot model is
downloaded. MuJoCo compiles the URDF once its ``package://`` mesh paths are resolved; the URDF
has no actuators, placeholder inertias (0.1 kg m² everywhere) and no gravity compensation, so
:func:`panda_spec` fixes those through ``MjSpec``.
"""

from __future__ import annotations

import functools
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin.scene.gl import import_mujoco

mujoco = import_mujoco()

ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("panda_finger_joint1", "panda_finger_joint2")
FINGER_OPEN = 0.04  # metres per finger, the URDF's upper limit
HOME_QPOS = np.array([0.0, -0.3, 0.0, -2.2, 0.0, 1.9, 0.785])
BASE_LINK = "panda_link0"  # the body the arm stands on: the robot's base frame
TCP_SITE = "tcp"  # between the fingertips; the end-effector point the controllers move
WRIST_CAMERA = "wrist"
# The wrist camera as on a DROID Franka: a ZED Mini (16:9, about 54° vertical field of view) on the
# hand, 7 cm off the flange axis, looking along the fingers and tilted 20° toward them, so the
# fingertips sit at the bottom of the picture. The robot-log recorder mounts the same camera.
WRIST_RESOLUTION = (1280, 720)  # its native (width, height): letterboxed views keep this aspect
WRIST_FOVY = 54.0
WRIST_MOUNT_POS = (0.07, 0.0, 0.0)  # in the panda_hand frame, metres
WRIST_MOUNT_QUAT = (0.1228, 0.6964, 0.6964, 0.1228)  # w x y z: image up = hand +x, looking down hand +z


@dataclass(frozen=True)
class PandaConfig:
    """Actuator and joint tuning. Gains are N m/rad (arm) and N/m (fingers)."""

    arm_kp: tuple[float, ...] = (4500.0, 4500.0, 3500.0, 3500.0, 2000.0, 2000.0, 2000.0)
    arm_damping_ratio: float = 0.12  # kv = ratio * kp, in N m s/rad
    arm_joint_damping: float = 2.0
    arm_armature: float = 0.1
    finger_kp: float = 400.0
    finger_force: float = 40.0  # N, the Panda hand's continuous grip force is 70 N
    finger_damping: float = 5.0
    colors: dict[str, tuple[float, float, float, float]] = field(
        default_factory=lambda: {
            "default": (0.93, 0.93, 0.92, 1.0),
            "panda_link7": (0.2, 0.2, 0.2, 1.0),
            "panda_hand": (0.93, 0.93, 0.92, 1.0),
            "panda_leftfinger": (0.15, 0.15, 0.15, 1.0),
            "panda_rightfinger": (0.15, 0.15, 0.15, 1.0),
        }
    )


def panda_urdf_path() -> Path:
    """The URDF inside the installed ``pybullet_data`` package."""
    try:
        import pybullet_data
    except ImportError as err:  # pragma: no cover - pybullet is a hard dependency
        raise RuntimeError("pybullet is required for the Panda model: pip install pybullet") from err
    path = Path(pybullet_data.getDataPath()) / "franka_panda" / "panda.urdf"
    if not path.is_file():
        raise FileNotFoundError(f"Panda URDF missing from pybullet_data: {path}")
    return path


def _urdf_for_mujoco(path: Path) -> str:
    """The URDF with ``package://`` stripped and a ``<mujoco><compiler>`` element added."""
    root = ET.parse(path).getroot()
    for mesh in root.iter("mesh"):
        mesh.set("filename", mesh.get("filename", "").removeprefix("package://"))
    extension = ET.SubElement(root, "mujoco")
    ET.SubElement(
        extension,
        "compiler",
        meshdir=str(path.parent),
        strippath="false",
        balanceinertia="true",
        discardvisual="false",
        fusestatic="false",
    )
    return ET.tostring(root, encoding="unicode")


def _load_urdf_spec():
    return mujoco.MjSpec.from_string(_urdf_for_mujoco(panda_urdf_path()))


def compile_spec(spec):
    """Compile ``spec``, silencing the OBJ decoder's note on the Panda meshes' texture coordinates."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*texture coordinate.*")
        return spec.compile()


@functools.lru_cache(maxsize=1)
def _geometric_inertias() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per-body (ipos, iquat, inertia per kg) computed from the collision meshes."""
    spec = _load_urdf_spec()
    for geom in spec.geoms:
        geom.group = 3 if geom.contype else 1
    spec.compiler.inertiafromgeom = mujoco.mjtInertiaFromGeom.mjINERTIAFROMGEOM_TRUE
    spec.compiler.inertiagrouprange = [3, 3]
    model = compile_spec(spec)
    out = {}
    for i in range(1, model.nbody):
        mass = model.body_mass[i]
        if mass > 0:
            out[model.body(i).name] = (
                model.body_ipos[i].copy(),
                model.body_iquat[i].copy(),
                model.body_inertia[i] / mass,
            )
    return out


def panda_spec(config: PandaConfig | None = None):
    """An ``MjSpec`` of the Panda: base at the origin, actuated, a TCP site and a wrist camera.

    Actuators, in order: seven arm position servos (radians) and one gripper servo whose
    control is the opening of each finger in metres (0 closed, 0.04 open).
    """
    config = config or PandaConfig()
    spec = _load_urdf_spec()
    spec.modelname = "panda"
    inertias = _geometric_inertias()
    for body in spec.bodies[1:]:
        if body.name in inertias and body.mass > 0:
            ipos, iquat, unit = inertias[body.name]
            body.explicitinertial = True
            body.ipos, body.iquat, body.inertia = ipos, iquat, unit * body.mass
            body.fullinertia = [np.nan] * 6
        body.gravcomp = 1.0
    for geom in spec.geoms:
        if geom.contype:  # collision geometry: hidden from cameras (group 3)
            geom.group = 3
            if "finger" in geom.parent.name:
                geom.condim = 4
                geom.friction = [1.5, 0.01, 0.001]
        else:
            geom.rgba = config.colors.get(geom.parent.name, config.colors["default"])
    for name, kp in zip(ARM_JOINTS, config.arm_kp, strict=True):
        joint = spec.joint(name)
        joint.damping = [config.arm_joint_damping, 0.0, 0.0]
        joint.armature = config.arm_armature
        actuator = spec.add_actuator(name=f"act_{name}", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        actuator.set_to_position(kp=kp, kv=config.arm_damping_ratio * kp)
        actuator.ctrlrange = joint.range
        actuator.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    for name in FINGER_JOINTS:
        spec.joint(name).damping = [config.finger_damping, 0.0, 0.0]
        spec.joint(name).armature = 0.01
    gripper = spec.add_actuator(
        name="act_gripper", target=FINGER_JOINTS[0], trntype=mujoco.mjtTrn.mjTRN_JOINT
    )
    gripper.set_to_position(kp=config.finger_kp)
    gripper.ctrlrange = [0.0, FINGER_OPEN]
    gripper.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    gripper.forcerange = [-config.finger_force, config.finger_force]
    gripper.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    spec.add_equality(
        type=mujoco.mjtEq.mjEQ_JOINT,
        name1=FINGER_JOINTS[1],
        name2=FINGER_JOINTS[0],
        data=[0, 1] + [0] * 10,
    )
    hand = spec.body("panda_hand")
    hand.add_site(name=TCP_SITE, pos=[0, 0, 0.1034], size=[0.005, 0, 0], group=4)
    # Wrist camera on the hand, looking along the fingers (MuJoCo cameras look down -z).
    hand.add_camera(
        name=WRIST_CAMERA, pos=list(WRIST_MOUNT_POS), quat=list(WRIST_MOUNT_QUAT), fovy=WRIST_FOVY
    )
    for a, b in (("panda_hand", "panda_link6"), ("panda_link7", "panda_link5")):
        spec.add_exclude(bodyname1=a, bodyname2=b)
    return spec
