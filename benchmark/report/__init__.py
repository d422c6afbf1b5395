"""Stress-test reports: a policy's results read from the store (``build``, ``stats``), laid out once
(``document``) and written as HTML, PDF and JSON (``html``, ``pdf``, ``write``), with plots
(``plots``), episode galleries (``gallery``) and their folders (``paths``).

Public names load on first use, so importing the package loads no plotting library.
"""

from twin.lazy import lazy_exports

_PUBLIC = {
    "build": ("Report", "ReportError", "build_report"),
    "write": ("write_report",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _PUBLIC)
