"""Policies: the protocol (``protocol``), the built-in policies and their one name registry
(``builtin``, with the vision expert in ``perception``), specs to running policies (``loaders``),
isolated workers (``worker``, ``wire``, and ``isolated`` inside them), the openpi server and
client (``remote``), submissions (``submissions``), built-in architectures and behaviour cloning
(``architectures``, ``training``).

Public names load on first use, so importing the package loads no simulator.
"""

from twin.lazy import lazy_exports

_PUBLIC = {
    "protocol": ("Policy", "PolicyInfo"),
    "builtin": ("BUILTINS", "RandomPolicy", "builtin_policy", "parse_builtin"),
    "loaders": ("load_policy", "resolve"),
    "worker": ("WorkerLimits", "WorkerPolicy"),
    "remote": ("RemotePolicy", "serve"),
    "submissions": ("submit", "validate"),
    "training": ("train_baseline",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _PUBLIC)
