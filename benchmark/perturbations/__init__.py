"""Perturbation axes: sampling (``axes``), and applying them to a scenario (``scene``: scene spec,
MjSpec, lights, splats and cameras; ``sensing``: blur, noise, JPEG; ``language``: paraphrases)."""
