"""Instruction paraphrases: tiers, distances, object phrases kept, determinism, fallbacks."""

from __future__ import annotations

import re

import numpy as np
import pytest

from benchmark.perturbations.language import (
    ParsedInstruction,
    instruction_distance,
    paraphrase,
    parse_instruction,
    tier_of,
)
from benchmark.scenes.registry import load_scene
from twin.roles import COLOUR_WORDS, family_from_instruction

SCENES = ("tray_pick", "cube_stack", "block_push", "kitchen_clutter")
TASKS = [(t.instruction, t.family) for name in SCENES for t in load_scene(name).tasks]
SEEDS = range(30)
LEVELS = (0.2, 0.5, 0.9)


def _colours(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", text.lower()) if w in COLOUR_WORDS]


def test_scene_instructions_parse_into_their_object_phrases():
    assert len(TASKS) >= 5
    parsed = parse_instruction("put the red cube in the blue tray")
    assert parsed == ParsedInstruction("put", "the red cube", "in", "the blue tray")
    stack = parse_instruction("Stack the red cube on top of the blue cube.")
    assert (stack.obj, stack.relation, stack.tgt) == ("the red cube", "on", "the blue cube")
    two_step = parse_instruction("pick up the green block and place it onto the yellow square")
    assert (two_step.obj, two_step.tgt) == ("the green block", "the yellow square")
    for instruction, _ in TASKS:
        assert parse_instruction(instruction) is not None, instruction


def test_level_zero_is_the_identity():
    for instruction, family in TASKS:
        assert paraphrase(instruction, family, 0.0, np.random.default_rng(0)) == instruction


def test_tiers_follow_the_level():
    assert [tier_of(x) for x in (0.0, 0.01, 1 / 3, 0.34, 2 / 3, 0.7, 1.0)] == [0, 1, 1, 2, 2, 3, 3]
    with pytest.raises(ValueError, match="level"):
        tier_of(1.5)


def test_object_phrases_and_family_survive_every_tier():
    for instruction, family in TASKS:
        parsed = parse_instruction(instruction)
        for level in LEVELS:
            for seed in SEEDS:
                out = paraphrase(instruction, family, level, np.random.default_rng(seed))
                assert parsed.obj.lower() in out.lower() and parsed.tgt.lower() in out.lower(), out
                assert out.lower().index(parsed.obj.lower()) != out.lower().index(parsed.tgt.lower())
                # no colour word lost or added (some templates name the target first)
                assert sorted(_colours(out)) == sorted(_colours(instruction)), out
                assert family_from_instruction(out) == family, out


def test_distance_grows_with_the_tier():
    for instruction, family in TASKS:
        means = []
        for level in LEVELS:
            d = [
                instruction_distance(
                    instruction, paraphrase(instruction, family, level, np.random.default_rng(s))
                )
                for s in SEEDS
            ]
            assert min(d) > 0.0  # every paraphrase changes something
            means.append(np.mean(d))
        assert means[0] < means[1] < means[2], (instruction, means)
        assert means[0] < 0.35 and means[2] > 0.55, (instruction, means)


def test_paraphrases_vary_and_are_deterministic():
    instruction, family = "put the red cube in the blue tray", "pick_place"
    for level in LEVELS:
        outs = [paraphrase(instruction, family, level, np.random.default_rng(s)) for s in SEEDS]
        assert len(set(outs)) >= 3
        again = [paraphrase(instruction, family, level, np.random.default_rng(s)) for s in SEEDS]
        assert outs == again
    rng = np.random.default_rng(7)
    first = [paraphrase(instruction, family, 0.9, rng) for _ in range(5)]
    rng = np.random.default_rng(7)
    assert first == [paraphrase(instruction, family, 0.9, rng) for _ in range(5)]


def test_unparsable_instructions_are_wrapped_never_failing():
    odd = "wave the red flag twice"
    assert parse_instruction(odd) is None
    distances = []
    for level in LEVELS:
        d = []
        for seed in SEEDS:
            out = paraphrase(odd, "pick_place", level, np.random.default_rng(seed))
            assert "wave the red flag twice" in out.lower()
            d.append(instruction_distance(odd, out))
        distances.append(np.mean(d))
    assert distances[0] < distances[1] < distances[2]
    assert paraphrase("", "push", 0.5, np.random.default_rng(0))  # even an empty instruction


def test_instruction_distance():
    assert instruction_distance("put the cube", "Put the cube.") == 0.0
    assert instruction_distance("a b c d", "a x c d") == 0.25
    assert instruction_distance("a b", "c d e f") == 1.0
    assert instruction_distance("", "") == 0.0 and instruction_distance("", "a") == 1.0
    assert instruction_distance("a b c", "a c") == pytest.approx(1 / 3)


def test_paraphrase_names_bad_arguments():
    with pytest.raises(ValueError, match="family"):
        paraphrase("put the red cube in the blue tray", "throw", 0.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="level"):
        paraphrase("put the red cube in the blue tray", "pick_place", -0.1, np.random.default_rng(0))
