"""Run the scripted expert once, without recording: the loop the tests and benchmarks share."""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.sim.control import EEDeltaController
from benchmark.sim.expert import ScriptedExpert
from benchmark.sim.tasks import is_success, progress, state_from_world
from twin.scene.spec import TaskSpec


@dataclass(frozen=True)
class ExpertOutcome:
    success: bool
    progress: float
    steps: int


def run_expert_episode(
    world, task: TaskSpec, seed: int, hold_steps: int = 5, before_step=None
) -> ExpertOutcome:
    """Reset ``world`` to ``seed``, run the expert until its plan ends (or time runs out), judge.

    ``before_step(action, controller)`` runs after each action is applied and before the world
    steps, so a recorder sees the frame the action was chosen on.
    """
    world.reset(seed)
    controller = EEDeltaController(world)
    expert = ScriptedExpert(world, task, seed=seed)
    expert.reset(task.instruction)
    objects = {o.name: o for o in world.scene.objects}
    initial = state_from_world(world)
    max_steps = int(task.max_seconds * world.scene.physics.control_hz)
    steps = 0

    def advance():
        action = expert.act()
        controller.apply(action)
        if before_step is not None:
            before_step(action, controller)
        world.step()

    while steps < max_steps and not expert.done:
        advance()
        steps += 1
    for _ in range(hold_steps):
        advance()
    final = state_from_world(world)
    return ExpertOutcome(is_success(task, objects, final), progress(task, objects, final, initial), steps)
