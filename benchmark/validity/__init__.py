"""Validity studies: does a twin rank policies the way its source world does?

``metrics`` (Pearson r, SIMPLER's MMRV, Kendall τ, bootstrap intervals), ``reference`` (the
proxy-real reference world and its honesty checks), ``study`` (both worlds' campaigns and the
comparison), ``population`` (the policy populations a study ranks: the scripted baselines or the
learned checkpoints), ``ablation`` (which twin stage is to blame), ``tables`` (the results as
tables; ``twinarena validate`` is :mod:`benchmark.cli.validate`).

Public names load on first use, so importing the package loads no simulator.
"""

from twin.lazy import lazy_exports

_PUBLIC = {
    "metrics": ("Estimate", "bootstrap", "kendall_tau", "mmrv", "pearson"),
    "reference": ("ValidityError", "honesty_checks", "record_reference"),
    "study": ("StudyConfig", "run_study"),
    "population": ("POPULATIONS", "learned_population"),
    "ablation": ("hybrid_package",),
    "tables": ("policy_table", "summary_table"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _PUBLIC)
