"""Instruction paraphrases graded by distance from the original, for language-robustness tests.

An instruction such as "put the red cube in the blue tray" is parsed into a verb, an object phrase,
a spatial relation and a target phrase; paraphrases are rebuilt from templates of three tiers:

* light (level in (0, 1/3]): synonyms for the verb and the preposition;
* restructured ((1/3, 2/3]): other sentence forms ("The red cube goes in the blue tray.");
* far ((2/3, 1]): indirect, conversational requests, sometimes with irrelevant context.

The object phrases are copied verbatim at every tier, so the task stays the same, and every
template keeps the words :func:`twin.roles.family_from_instruction` keys on ("push"/"slide" for
push, "stack"/"on top" for stack, neither for pick and place). Instructions that do not parse are
wrapped in a request instead ("Please do this: …"). Choices come from the numpy Generator passed
in, so the same instruction, level and generator state give the same paraphrase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

FAMILIES = ("pick_place", "push", "stack")

_VERBS = (
    "put", "place", "set", "move", "drop", "stack", "push", "slide", "shove", "bring", "transfer",
    "pick up and put", "pick up and place", "pick and place",
)  # fmt: skip
_PREPOSITIONS = {
    "on top of": "on", "onto": "on", "on": "on", "into": "in", "inside": "in", "in": "in",
    "to": "to", "towards": "to", "toward": "to", "over to": "to", "next to": "next",
}  # fmt: skip


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_FORMS = (
    # "put the red cube in the blue tray"
    re.compile(
        rf"^(?:please\s+)?(?P<verb>{_alternation(_VERBS)})\s+(?P<obj>.+?)\s+"
        rf"(?P<prep>{_alternation(_PREPOSITIONS)})\s+(?P<tgt>.+?)(?:,?\s+please)?[\s.!]*$",
        re.IGNORECASE,
    ),
    # "pick up the red cube and put it in the blue tray"
    re.compile(
        rf"^(?:please\s+)?(?:pick up|grab|take)\s+(?P<obj>.+?)\s+and\s+(?P<verb>{_alternation(_VERBS)})\s+"
        rf"it\s+(?P<prep>{_alternation(_PREPOSITIONS)})\s+(?P<tgt>.+?)(?:,?\s+please)?[\s.!]*$",
        re.IGNORECASE,
    ),
)


@dataclass(frozen=True)
class ParsedInstruction:
    """The parts of an instruction: ``obj`` and ``tgt`` as written (with their article), the
    ``relation`` ("in", "on", "to" or "next") and the ``verb``."""

    verb: str
    obj: str
    relation: str
    tgt: str


def parse_instruction(instruction: str) -> ParsedInstruction | None:
    """The verb, object phrase, relation and target phrase of an instruction, or None."""
    text = " ".join(instruction.split())
    for form in _FORMS:
        match = form.match(text)
        if match:
            obj, tgt = match["obj"], match["tgt"]
            if not obj.strip() or not tgt.strip():
                return None
            return ParsedInstruction(match["verb"].lower(), obj, _PREPOSITIONS[match["prep"].lower()], tgt)
    return None


# Prepositions by relation: "motion" follows a verb of moving, "state" describes where it ends up.
_MOTION = {
    "in": ("in", "into", "inside"),
    "on": ("on", "onto"),
    "to": ("to", "over to"),
    "next": ("next to",),
}
_STATE = {"in": ("in", "inside"), "on": ("on",), "to": ("at",), "next": ("next to",)}
_LIGHT_VERBS = {
    "pick_place": ("put", "place", "set", "move"),
    "stack": ("stack", "place", "put", "set"),
    "push": ("push", "slide", "gently push", "carefully slide"),
}

# {obj}/{tgt}: the phrases as written; {Obj}: capitalised; {motion}/{state}: prepositions;
# {verb}: a light-tier verb of the family.
_RESTRUCTURED = {
    "pick_place": (
        "{Obj} goes {state} {tgt}.",
        "Could you {verb} {obj} {motion} {tgt}?",
        "Pick up {obj} and {verb} it {motion} {tgt}.",
        "Take {obj} and {verb} it {motion} {tgt}.",
        "{Obj} belongs {state} {tgt}; {verb} it there.",
        "Grab {obj}, then {verb} it {motion} {tgt}.",
    ),
    "stack": (
        "{Obj} goes on top of {tgt}.",
        "Could you stack {obj} on {tgt}?",
        "Pick up {obj} and stack it on {tgt}.",
        "Take {obj} and set it on top of {tgt}.",
        "On top of {tgt}, stack {obj}.",
        "Grab {obj}, then place it on top of {tgt}.",
    ),
    "push": (
        "Could you push {obj} {motion} {tgt}?",
        "Slide {obj} along the table {motion} {tgt}.",
        "{Obj} should be pushed {motion} {tgt}.",
        "Without lifting it, push {obj} {motion} {tgt}.",
        "Push {obj} until it is {state} {tgt}.",
        "Keep {obj} on the table and slide it {motion} {tgt}.",
    ),
}
_FAR = {
    "pick_place": (
        "I'd like {obj} to end up {state} {tgt}, please.",
        "When you get a chance, {obj} needs to be {state} {tgt}. Can you take care of that?",
        "Hey robot, do you see {obj}? It belongs {state} {tgt}, so go ahead and move it there.",
        "Let's tidy up a little: could you get {obj} {motion} {tgt} for me?",
        "It would be great if {obj} were {state} {tgt} rather than where it is now.",
        "My goal is simple: {obj} should finish {state} {tgt}. Thanks!",
    ),
    "stack": (
        "I'd like {obj} to end up on top of {tgt}, please.",
        "Let's build a little tower: {obj} should be stacked on {tgt}.",
        "Do you see {tgt}? Put {obj} on top of it, so that the two form a stack.",
        "When you get a chance, could you stack {obj} on {tgt} for me?",
        "It would be great if {obj} sat on top of {tgt} instead of on the table.",
        "My goal is simple: {obj} should finish stacked on {tgt}. Thanks!",
    ),
    "push": (
        "I'd like {obj} to end up {state} {tgt}, please. Just push it there without lifting it.",
        "Could you give {obj} a push so that it ends up {state} {tgt}?",
        "{Obj} is in the wrong spot; slide it {motion} {tgt} when you get a chance.",
        "Let's tidy up a little: push {obj} across the table {motion} {tgt} for me.",
        "It would be great if {obj} were {state} {tgt}. Please slide it over, no need to pick it up.",
        "My goal is simple: push {obj} so it finishes {state} {tgt}. Thanks!",
    ),
}
_CONTEXT = (
    "We're setting up for a demo later.",
    "Don't worry about anything else on the table.",
    "Take your time, there's no rush.",
    "Thanks for helping out today.",
    "The lights in here are a bit dim, sorry about that.",
    "Someone will check on the results afterwards.",
)
_FALLBACK = (
    ("Please do this: {text}", "Your task: {text}", "Next, {text}"),
    ("Here is what you should do now. {Text}.", "Could you do the following? {Text}.",
     "The task is as follows: {text}."),
    ("Hello! When you have a moment, here is what I need: {text}. Thanks a lot!",
     "I've got a small job for you, if you don't mind: {text}. Take your time.",
     "We're setting up for a demo later, so could you help me out? {Text}, please."),
)  # fmt: skip


def tier_of(level: float) -> int:
    """0 for level 0, then 1 (light), 2 (restructured) or 3 (far) for level in (0, 1]."""
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"level must be in [0, 1], got {level!r}")
    if level == 0.0:
        return 0
    return 1 if level <= 1 / 3 else 2 if level <= 2 / 3 else 3


def _pick(options, rng: np.random.Generator):
    return options[int(rng.integers(len(options)))]


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _light(parsed: ParsedInstruction, family: str, rng: np.random.Generator, original: str) -> str:
    verbs = [v for v in _LIGHT_VERBS[family] if v != parsed.verb] or list(_LIGHT_VERBS[family])
    verb = _pick(verbs, rng)
    if family == "stack":
        preps = ("on top of", "onto", "on") if verb == "stack" else ("on top of",)
    else:
        preps = _MOTION[parsed.relation]
    text = f"{verb} {parsed.obj} {_pick(preps, rng)} {parsed.tgt}"
    if original[:1].isupper():
        text = _capitalise(text)
    return text + "." if original.rstrip().endswith(".") else text


def _fill(template: str, parsed: ParsedInstruction, family: str, rng: np.random.Generator) -> str:
    return template.format(
        obj=parsed.obj,
        Obj=_capitalise(parsed.obj),
        tgt=parsed.tgt,
        motion=_pick(_MOTION[parsed.relation], rng),
        state=_pick(_STATE[parsed.relation], rng),
        verb=_pick(_LIGHT_VERBS[family], rng),
    )


def paraphrase(instruction: str, family: str, level: float, rng: np.random.Generator) -> str:
    """A paraphrase of ``instruction`` (a task of ``family``) at distance ``level`` in [0, 1].

    Level 0 returns the instruction unchanged; otherwise the tier (light, restructured, far) follows
    from the level and the sentence is drawn from ``rng``. Object phrases are kept verbatim."""
    if family not in FAMILIES:
        raise ValueError(f"unknown task family {family!r}; expected one of {', '.join(FAMILIES)}")
    if not isinstance(instruction, str):
        raise TypeError(f"instruction must be a str, got {type(instruction).__name__}")
    tier = tier_of(level)
    if tier == 0:
        return instruction
    parsed = parse_instruction(instruction)
    if parsed is None:
        text = instruction.strip().rstrip(".!")
        return _pick(_FALLBACK[tier - 1], rng).format(text=text, Text=_capitalise(text))
    if tier == 1:
        return _light(parsed, family, rng, instruction)
    if tier == 2:
        return _fill(_pick(_RESTRUCTURED[family], rng), parsed, family, rng)
    sentence = _fill(_pick(_FAR[family], rng), parsed, family, rng)
    where = int(rng.integers(3))  # 0: no context, 1: before, 2: after
    if where == 0:
        return sentence
    context = _pick(_CONTEXT, rng)
    return f"{context} {sentence}" if where == 1 else f"{sentence} {context}"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def instruction_distance(a: str, b: str) -> float:
    """Word-level edit distance between two instructions (case and punctuation ignored), divided by
    the longer one's word count: 0 for the same words, 1 for nothing in common."""
    wa, wb = _words(a), _words(b)
    if not wa and not wb:
        return 0.0
    previous = list(range(len(wb) + 1))
    for i, x in enumerate(wa, start=1):
        current = [i]
        for j, y in enumerate(wb, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1] / max(len(wa), len(wb))
