"""Campaigns: sweeps, scenario and job keys (``campaign``), planning and running jobs into the
store (``evaluate``), and local or Ray executors (``executors``)."""
