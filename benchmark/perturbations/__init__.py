"""Perturbation axes: what each axis means and how a level and seed become edits (``axes``), and
how a scenario's edits are applied, in one fixed order (``pipeline``, over ``scene``: scene spec,
MjSpec, lights, splats and cameras; ``sensing``: blur, noise, JPEG; ``language``: paraphrases).

Public names load on first use, so importing the package loads no simulator.
"""

from twin.lazy import lazy_exports

_PUBLIC = {
    "axes": ("Edits", "Perturbation", "axis_table", "parse_perturbation", "sample_edits"),
    "pipeline": ("Realised", "realise", "sensed"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _PUBLIC)
