"""What a solid leaves in the background where it stood: nothing but table.

The scan saw each solid standing still, so the background splats around and under its footprint
learned its lower sides, its contact shadow and no table (the table under it was never seen, so
there may be no splat at all). Moved by a perturbation, the solid would leave a smudge or a hole
behind: a ghost a learned policy sees. :func:`clear_footprints` removes it: every background
splat over a solid's footprint grown by ``margin``, up to the solid's top, goes, and the footprint
is tiled again with copies of the table ring just outside it (off every footprint), each copy
keeping its own colour, size and height above the table, so the table's texture carries on.
Table splats around it darker than that ring, its cast shadow, take the colours of lit table
splats nearby, and splats under the table near it (seen by no camera above an opaque top, yet
showing through it as dark specks) go.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from twin.appearance import ObjectBox, around_zone, zone_local
from twin.splats.edits import splat_colours
from twin.splats.gaussians import Splats

FOOTPRINT_MARGIN = 0.015  # metres around a solid's box: its contact shadow and the splats of its sides
SHADOW_REACH = 1.5  # a cast shadow reaches this many times the solid's height past its footprint
SHADOW_DARKER = 0.8  # table splats darker than this share of the ring's median brightness are shadow
RING_GAP, RING_WIDTH = 0.005, 0.025  # metres: the table ring starts this far outside the grown footprint
TABLE_BAND = 0.015  # metres: thickness of the slab about the table surface the ring is taken from
MAX_FILL = 20_000  # splats one footprint may add


def over_footprint(means: np.ndarray, box: ObjectBox, margin: float) -> np.ndarray:
    """Which ``means`` lie over ``box``'s footprint grown by ``margin``, from just under the table
    surface up to the box's top (plus ``margin``)."""
    local = zone_local(means, box)
    half = np.asarray(box.half_extents, dtype=float)
    over = np.all(np.abs(local[:, :2]) <= half[:2] + margin, axis=1)
    return over & (local[:, 2] >= -TABLE_BAND / 2) & (local[:, 2] <= 2 * half[2] + margin)


def table_tiles(ring: Splats, box: ObjectBox, margin: float, seed: int) -> Splats:
    """Copies of the ``ring`` splats (the table around ``box``) spread evenly over ``box``'s
    footprint grown by ``margin``, as densely as the ring holds them, each at its own height above
    the table surface."""
    half = np.asarray(box.half_extents, dtype=float)[:2] + margin
    ring_local = zone_local(ring.means, box)
    outer = half + RING_GAP + RING_WIDTH
    ring_area = 4 * outer[0] * outer[1] - 4 * (half[0] + RING_GAP) * (half[1] + RING_GAP)
    count = int(min(MAX_FILL, np.ceil(len(ring) * 4 * half[0] * half[1] / ring_area)))
    rng = np.random.default_rng(seed)
    cells = max(1, int(np.ceil(np.sqrt(count))))
    u, v = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells)
    grid = (
        np.c_[u.ravel(), v.ravel()][:count] + rng.uniform(-0.5, 0.5, (min(count, cells * cells), 2)) / cells
    )
    xy = (grid * 2 - 1) * half
    picks = rng.integers(0, len(ring), len(xy))
    local = np.c_[xy, ring_local[picks, 2] - float(box.half_extents[2])]  # body frame: bottom at −hz
    pose = np.asarray(box.pose, dtype=float)
    tiles = ring.subset(picks)
    return Splats(
        means=local @ pose[:3, :3].T + pose[:3, 3],
        quats=tiles.quats,
        log_scales=tiles.log_scales,
        opacity_logits=tiles.opacity_logits,
        sh=tiles.sh,
        normals=tiles.normals,
    )


def clear_footprints(background: Splats, solids: list[ObjectBox], margin: float = FOOTPRINT_MARGIN) -> Splats:
    """``background`` with every solid's footprint turned to table (see the module docstring). A
    footprint whose ring holds no splat is only cleared."""
    means = np.asarray(background.means, dtype=float)
    if not solids or not len(means):
        return background
    anywhere = np.any([over_footprint(means, box, margin) for box in solids], axis=0)
    rings = [around_zone(means, _grown(box, margin), RING_GAP, RING_WIDTH, TABLE_BAND) for box in solids]
    brightness = splat_colours(background).mean(axis=1)
    shadow = _shadows(means, brightness, solids, rings, margin, anywhere)
    fills = []
    for box, ring in zip(solids, rings, strict=True):  # tiles copy the lit table around it, never its shadow
        table = ring & ~anywhere & ~shadow
        if table.any():
            seed = zlib.crc32(box.name.encode())
            fills.append(table_tiles(background.subset(np.flatnonzero(table)), box, margin, seed))
    under = _under_table(means, solids, margin)
    kept = background.subset(np.flatnonzero(~anywhere & ~shadow & ~under))
    lit = _relit(background, brightness, shadow, np.any(rings, axis=0) & ~anywhere)
    return Splats.concat([kept, lit, *fills])


def _under_table(means: np.ndarray, solids: list[ObjectBox], margin: float) -> np.ndarray:
    """Splats under the table surface near a solid (within its shadow's reach): no camera above
    an opaque table sees them, so they can only show through the table's splats as dark specks."""
    under = np.zeros(len(means), dtype=bool)
    for box in solids:
        reach = margin + SHADOW_REACH * 2 * float(box.half_extents[2])
        local = zone_local(means, box)
        near = np.all(np.abs(local[:, :2]) <= np.asarray(box.half_extents[:2]) + reach, axis=1)
        under |= near & (local[:, 2] < -TABLE_BAND / 2)
    return under


def _shadows(
    means: np.ndarray,
    brightness: np.ndarray,
    solids: list[ObjectBox],
    rings: list[np.ndarray],
    margin: float,
    cleared: np.ndarray,
) -> np.ndarray:
    """Table splats near a solid (within :data:`SHADOW_REACH` of its height past the footprint)
    that are darker than the ring around it: its cast shadow, baked in by the scan's light."""
    shadow = np.zeros(len(means), dtype=bool)
    for box, ring in zip(solids, rings, strict=True):
        ring = ring & ~cleared
        if not ring.any():
            continue
        reach = SHADOW_REACH * 2 * float(box.half_extents[2])
        near = around_zone(means, _grown(box, margin), -1.0, 1.0 + reach, TABLE_BAND) & ~cleared
        shadow |= near & (brightness < SHADOW_DARKER * np.median(brightness[ring]))
    return shadow


def _relit(background: Splats, brightness: np.ndarray, shadow: np.ndarray, rings: np.ndarray) -> Splats:
    """The ``shadow`` splats with the colours of lit splats of the table ``rings`` (sampled, seeded)."""
    dark = background.subset(np.flatnonzero(shadow))
    if not len(dark):
        return dark
    lit = rings & ~shadow
    lit &= brightness >= SHADOW_DARKER * np.median(brightness[lit]) if lit.any() else lit
    if not lit.any():
        return dark
    picks = np.flatnonzero(lit)[np.random.default_rng(len(dark)).integers(0, int(lit.sum()), len(dark))]
    return dataclasses.replace(dark, sh=background.sh[picks])


def _grown(box: ObjectBox, margin: float) -> ObjectBox:
    """``box`` with its footprint grown by ``margin`` (its bottom face where it was)."""
    half = np.asarray(box.half_extents, dtype=float)
    return ObjectBox(
        box.name, np.asarray(box.pose, dtype=float), np.array([half[0] + margin, half[1] + margin, half[2]])
    )
