"""Campaigns: sweeps, scenario and job keys (``campaign``), planning and running jobs into the
store (``evaluate``), and local or Ray executors (``executors``).

Public names load on first use, so importing the package loads no simulator.
"""

from twin.lazy import lazy_exports

_PUBLIC = {
    "campaign": ("CampaignSpec", "RunSettings", "Sweep", "parse_sweep"),
    "evaluate": ("plan_campaign", "run_campaign"),
    "executors": ("LocalExecutor", "RayExecutor", "make_executor"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _PUBLIC)
