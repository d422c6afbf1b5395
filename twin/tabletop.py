"""The table and what stands on it, from world-frame surface points with colours (z up, metres).

:func:`find_table` fits the top with RANSAC and takes its extent from the largest connected patch
of inlier cells; :func:`height_map` rasterises heights above it; :func:`detect_objects` finds
solids (raised connected regions) and zones (flat patches whose colour stands out from the table).

Pass points that cameras measured (:func:`twin.tsdf.fused_surface`): a scan from one side never
sees the far side of an object, so footprints are completed by mirroring what was seen through
the centre of the object's top into cells nothing observed (most objects are point-symmetric).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError, cKDTree

from twin.plane import Plane, fit_plane_ransac
from twin.transforms import rotate_xy as _rotate

EIGHT = np.ones((3, 3), bool)  # 8-connectivity for ndimage.label


class TabletopError(ValueError):
    """The points do not show a table (or not enough of it) to work with."""


@dataclass(frozen=True)
class TabletopConfig:
    """Thresholds for table and object finding (metres, m², colours in 0..1).

    ``exclude_xy``: discs ``(x, y, radius)`` whose points are ignored (the robot base, say).
    ``mount_z``: the robot's mount height, when the demonstration gives its base pose.
    ``max_gap``: a cell's column of points is cut at the first vertical gap larger than this,
    so things hovering over the table (a robot hand) do not count as standing on it.
    Zones are flat cells whose brightness or chroma (max − min channel) exceeds the table's median
    by ``zone_sigmas`` robust deviations and by ``zone_min_delta``.
    """

    cell: float = 0.0025
    plane_threshold: float = 0.004
    max_tilt_deg: float = 10.0
    ransac_iterations: int = 200
    ransac_points: int = 30000
    table_cell: float = 0.01
    min_table_area: float = 0.04
    max_height: float = 0.4
    max_gap: float = 0.08
    top_band: float = 0.003
    min_height: float = 0.0055
    min_area: float = 3e-4
    top_percentile: float = 95.0
    footprint_fraction: float = 0.5  # of min_height: side points above this outline the footprint
    symmetric_completion: bool = True  # mirror seen points into the unseen far side of objects
    exclude_xy: tuple[tuple[float, float, float], ...] = ()
    mount_z: float | None = None  # the robot's mount height, when known: the table top is near it
    mount_tolerance: float = 0.25  # metres between the mount and a table top it stands on or beside
    max_planes: int = 3  # horizontal planes considered for the table (floor, table, a shelf)
    table_fraction: float = 0.1  # without a mount: the highest patch at least this share of the largest
    zone_sigmas: float = 5.0
    zone_min_delta: float = 0.12
    zone_min_area: float = 0.002
    zone_min_solidity: float = 0.8
    zone_solid_margin: float = 0.01
    zone_half_height: float = 0.0008


@dataclass(frozen=True)
class Table:
    """The table top: a rectangle at ``height`` (its centre's z), ``yaw`` of its first axis."""

    height: float
    center_xy: np.ndarray
    half_extents_xy: np.ndarray
    yaw: float
    normal: tuple[float, float, float] = (0.0, 0.0, 1.0)

    def height_above(self, points: np.ndarray) -> np.ndarray:
        """Signed distance of points from the table plane (metres, up positive)."""
        centre = np.array([*self.center_xy, self.height])
        return (np.asarray(points, float) - centre) @ np.asarray(self.normal, float)

    def to_local_xy(self, xy: np.ndarray) -> np.ndarray:
        """World ``xy`` in the table rectangle's frame."""
        return _rotate(np.asarray(xy, float) - self.center_xy, -self.yaw)

    def corners_xy(self) -> np.ndarray:
        """The rectangle's four corners [4, 2] in world xy."""
        signs = np.array([[sx, sy] for sx in (-1, 1) for sy in (-1, 1)])
        return _rotate(signs * self.half_extents_xy, self.yaw) + self.center_xy

    def contains_xy(self, xy: np.ndarray) -> np.ndarray:
        return np.all(np.abs(self.to_local_xy(xy)) <= self.half_extents_xy, axis=-1)


@dataclass
class HeightMap:
    """World-aligned grid over the table: cell ``(i, j)`` spans ``origin_xy + [i, i+1) × [j, j+1) · cell``.

    ``height`` metres above the table top (NaN: unobserved), ``color`` of the top, ``count`` points."""

    origin_xy: np.ndarray
    cell: float
    height: np.ndarray
    color: np.ndarray
    count: np.ndarray

    def cell_of(self, xy: np.ndarray) -> np.ndarray:
        return np.floor((np.asarray(xy)[..., :2] - self.origin_xy) / self.cell).astype(np.int64)

    def centres(self) -> np.ndarray:
        nx, ny = self.height.shape
        ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        return self.origin_xy + (np.stack([ii, jj], axis=-1) + 0.5) * self.cell


@dataclass
class DetectedObject:
    """An oriented box on the table. ``heights`` is the object's height map in its body frame
    (cell ``(i, j)`` at ``heights_origin_xy + (i, j) · cell``, heights above the table, NaN empty);
    ``points`` are its surface points in the body frame (origin at ``center``)."""

    kind: str  # "solid" or "zone"
    center: np.ndarray
    yaw: float
    half_extents: np.ndarray
    color: np.ndarray
    heights: np.ndarray | None = None
    heights_origin_xy: np.ndarray | None = None
    cell: float = 0.0
    points: np.ndarray | None = None


def inside_hull(points: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Which ``query`` points [M, 2] lie inside the convex hull of 2-D ``points`` [N, 2]."""
    hull = ConvexHull(points)
    return np.all(query @ hull.equations[:, :2].T + hull.equations[:, 2] <= 1e-9, axis=1)


def min_area_rectangle(xy) -> tuple[np.ndarray, np.ndarray, float]:
    """Minimum-area enclosing rectangle of 2-D points (rotating calipers over the convex hull).

    Returns ``(center, half_extents, yaw)``, ``yaw`` of the first axis in (-π/4, π/4]."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    if len(xy) == 0:
        raise ValueError("min_area_rectangle needs at least one point")
    try:
        hull = xy[ConvexHull(xy).vertices]
    except (QhullError, ValueError):
        hull = xy  # fewer than 3 points or collinear: every point is on the hull
    edges = np.diff(np.vstack([hull, hull[:1]]), axis=0)
    angles = np.arctan2(edges[:, 1], edges[:, 0]) % (np.pi / 2)
    angles = np.unique(np.concatenate([angles, [0.0]]))
    best = None
    for angle in angles:
        local = _rotate(hull, -angle)
        lo, hi = local.min(axis=0), local.max(axis=0)
        area = np.prod(hi - lo)
        if best is None or area < best[0] - 1e-15:
            best = (area, angle, lo, hi)
    _, angle, lo, hi = best
    half = (hi - lo) / 2
    center = _rotate((lo + hi) / 2, angle)
    if angle > np.pi / 4:  # use the other axis so the yaw stays nearest to zero
        angle, half = angle - np.pi / 2, half[::-1]
    return center, half, float(angle)


def _keep_xy(points: np.ndarray, exclude_xy) -> np.ndarray:
    keep = np.ones(len(points), bool)
    for x, y, r in exclude_xy:
        keep &= (points[:, 0] - x) ** 2 + (points[:, 1] - y) ** 2 > r * r
    return keep


def find_table(points, colors, config: TabletopConfig = TabletopConfig(), rng=None) -> Table:  # noqa: B008
    """The table top among the scan's horizontal planes (:func:`horizontal_patches`): the one
    whose height is nearest the robot's mount (``config.mount_z``, within ``mount_tolerance``);
    without a mount, the highest patch at least ``table_fraction`` of the largest, so a floor
    seen around the table's legs is never taken for it. Raises :class:`TabletopError` when there is none."""
    rng = np.random.default_rng(0) if rng is None else rng
    points = np.asarray(points, float).reshape(-1, 3)
    points = points[_keep_xy(points, config.exclude_xy)]
    min_points = int(config.min_table_area / config.table_cell**2)
    if len(points) < min_points:
        raise TabletopError(f"only {len(points)} points, too few for a table top: is the table out of view?")
    patches = horizontal_patches(points, config, rng)
    if not patches:
        raise TabletopError("no horizontal plane with support found: is the table out of view?")
    largest = max(area for _, _, area in patches)
    if largest < config.min_table_area:
        raise TabletopError(
            f"the largest horizontal patch covers {largest:.3f} m² < {config.min_table_area} m²: "
            "is the table out of view?"
        )
    plane, patch = choose_table(patches, config)
    center, half, yaw = min_area_rectangle(patch[:, :2])
    height = -(plane.normal[:2] @ center + plane.offset) / plane.normal[2]
    return Table(float(height), center, half, yaw, tuple(float(v) for v in plane.normal))


def patch_height(plane: Plane, patch: np.ndarray) -> float:
    """The plane's height at the patch's centre."""
    centre = patch[:, :2].mean(axis=0)
    return float(-(plane.normal[:2] @ centre + plane.offset) / plane.normal[2])


def choose_table(patches, config: TabletopConfig) -> tuple[Plane, np.ndarray]:
    """Which of the (plane, patch, area) candidates is the table top (see :func:`find_table`)."""
    big = [p for p in patches if p[2] >= config.min_table_area]
    if config.mount_z is not None:
        near = [p for p in big if abs(patch_height(p[0], p[1]) - config.mount_z) <= config.mount_tolerance]
        if near:
            plane, patch, _ = max(near, key=lambda p: p[2])
            return plane, patch
    largest = max(p[2] for p in big)
    wide = [p for p in big if p[2] >= config.table_fraction * largest]
    plane, patch, _ = max(wide, key=lambda p: patch_height(p[0], p[1]))
    return plane, patch


def horizontal_patches(
    points: np.ndarray, config: TabletopConfig, rng
) -> list[tuple[Plane, np.ndarray, float]]:
    """Up to ``config.max_planes`` near-horizontal planes, peeled one after another by RANSAC (each
    one's inliers removed before the next is sought), each with the points of its largest
    connected patch of inlier cells and that patch's area (m²)."""
    out: list[tuple[Plane, np.ndarray, float]] = []
    rest = points
    for _ in range(config.max_planes):
        if len(rest) < 3:
            break
        sample = rest[rng.choice(len(rest), min(len(rest), config.ransac_points), replace=False)]
        try:
            plane, _ = fit_plane_ransac(
                sample, config.plane_threshold, rng, config.ransac_iterations, (0, 0, 1), config.max_tilt_deg
            )
        except ValueError:
            break
        distance = np.abs(plane.distance(rest))
        inliers = rest[distance <= config.plane_threshold]
        rest = rest[distance > 2 * config.plane_threshold]
        if len(inliers) < 3:
            break
        patch, area = _largest_patch(inliers, config.table_cell)
        out.append((plane, patch, area))
    return out


def _largest_patch(inliers: np.ndarray, cell: float) -> tuple[np.ndarray, float]:
    """The points of the largest 8-connected patch of occupied ``cell`` squares, and its area."""
    keys = np.floor(inliers[:, :2] / cell).astype(np.int64)
    keys -= keys.min(axis=0)
    grid = np.zeros(keys.max(axis=0) + 1, bool)
    grid[keys[:, 0], keys[:, 1]] = True
    grid |= ndimage.binary_closing(grid, EIGHT)
    labels, n = ndimage.label(grid, EIGHT)
    sizes = ndimage.sum_labels(grid, labels, np.arange(1, n + 1))
    best = int(np.argmax(sizes)) + 1
    return inliers[labels[keys[:, 0], keys[:, 1]] == best], float(sizes[best - 1] * cell**2)


def _columns(cells: np.ndarray, h: np.ndarray, max_gap: float):
    """Sort points by (cell, height) and keep each cell's lowest run without a gap > ``max_gap``.

    Returns the sort order, which sorted points are kept, and the index of each cell's last kept."""
    order = np.lexsort((h, cells))
    cs, hs = cells[order], h[order]
    same = cs[1:] == cs[:-1]
    breaks = np.concatenate([[0], np.cumsum((np.diff(hs) > max_gap) & same)])
    starts = np.concatenate([[True], ~same])
    start_idx = np.maximum.accumulate(np.where(starts, np.arange(len(cs)), 0))
    kept = breaks == breaks[start_idx]
    kept_idx = np.flatnonzero(kept)
    last = kept_idx[np.concatenate([cs[kept_idx][1:] != cs[kept_idx][:-1], [True]])]
    return order, kept, last


def height_map(
    points, colors, table: Table, cell: float = 0.0025, config: TabletopConfig | None = None
) -> HeightMap:
    """Per-cell height of the top surface above ``table`` (points within the table rectangle, at
    most ``max_height`` above it; columns cut at vertical gaps) and the mean colour of its top
    ``top_band``."""
    config = config or TabletopConfig()
    points, colors = np.asarray(points, float).reshape(-1, 3), np.asarray(colors, float).reshape(-1, 3)
    h = table.height_above(points)
    keep = (h > -0.01) & (h <= config.max_height) & table.contains_xy(points[:, :2])
    keep &= _keep_xy(points, config.exclude_xy)
    points, colors, h = points[keep], colors[keep], h[keep]
    corners = table.corners_xy()
    origin = corners.min(axis=0)
    nx, ny = np.ceil((corners.max(axis=0) - origin) / cell).astype(int)
    hm = HeightMap(origin, cell, np.full((nx, ny), np.nan), np.zeros((nx, ny, 3)), np.zeros((nx, ny), int))
    ij = np.clip(hm.cell_of(points), 0, [nx - 1, ny - 1])
    flat = ij[:, 0] * ny + ij[:, 1]
    if len(flat) == 0:
        return hm
    order, kept, last = _columns(flat, h, config.max_gap)
    top_cells, tops = flat[order][last], h[order][last]
    hm.height.reshape(-1)[top_cells] = tops
    hm.count.reshape(-1)[:] = np.bincount(flat, minlength=nx * ny)
    top_of = np.full(nx * ny, np.inf)
    top_of[top_cells] = tops
    band = kept & (h[order] >= top_of[flat[order]] - config.top_band)
    sel = order[band]
    n = np.bincount(flat[sel], minlength=nx * ny)
    for c in range(3):
        hm.color.reshape(-1, 3)[:, c] = np.bincount(flat[sel], colors[sel, c], nx * ny) / np.maximum(n, 1)
    _fill_gaps(hm)
    return hm


def _fill_gaps(hm: HeightMap) -> None:
    """Fill unobserved cells inside the observed region (its 3×3 closing) with the median height
    and mean colour of their observed neighbours: surface points sit on the voxel lattice, which
    is coarser than the cells, so a flat top leaves single-cell gaps."""
    seen = ~np.isnan(hm.height)
    gaps = ndimage.binary_closing(seen, EIGHT, border_value=0) & ~seen
    if not gaps.any():
        return
    pad_h = np.pad(hm.height, 1, constant_values=np.nan)
    pad_c = np.pad(hm.color, ((1, 1), (1, 1), (0, 0)))
    gi, gj = np.nonzero(gaps)
    around_h = np.stack([pad_h[gi + di, gj + dj] for di in range(3) for dj in range(3)], axis=1)
    around_c = np.stack([pad_c[gi + di, gj + dj] for di in range(3) for dj in range(3)], axis=1)
    ok = ~np.isnan(around_h)
    hm.height[gi, gj] = np.nanmedian(around_h, axis=1)
    hm.color[gi, gj] = (around_c * ok[..., None]).sum(axis=1) / ok.sum(axis=1)[:, None]


def _point_cells(hm: HeightMap, points: np.ndarray) -> np.ndarray:
    """Flat cell index of each point, -1 outside the grid."""
    nx, ny = hm.height.shape
    ij = hm.cell_of(points)
    inside = (ij[:, 0] >= 0) & (ij[:, 1] >= 0) & (ij[:, 0] < nx) & (ij[:, 1] < ny)
    return np.where(inside, ij[:, 0] * ny + ij[:, 1], -1)


def _fill_unseen_holes(height: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """``height`` inside ``comp`` with its enclosed unobserved holes filled by the lowest height
    around each (the most conservative completion: a tray's hidden floor stays a floor)."""
    out = np.where(comp, height, np.nan)
    holes = ndimage.binary_fill_holes(comp) & ~comp & np.isnan(height)
    labels, n = ndimage.label(holes, EIGHT)
    for lab in range(1, n + 1):
        hole = labels == lab
        rim = ndimage.binary_dilation(hole, EIGHT) & comp
        out[hole] = np.min(height[rim]) if rim.any() else np.nan
    return out


def _mirror_into_unseen(hm: HeightMap, xy: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """``xy`` mirrored through ``centre`` (the centre of the object's top), keeping only the
    mirror images that land where nothing was observed: the far side of an object is hidden from
    a one-sided scan, and most objects' footprints are point-symmetric."""
    mirrored = 2 * centre - xy
    idx = _point_cells(hm, mirrored)
    safe = np.maximum(idx, 0)
    ok = (idx >= 0) & np.isnan(hm.height.reshape(-1)[safe])
    return mirrored[ok]


def _body_heights(hm, comp, xy, center_xy, half_xy, yaw, mirror_centre):
    """The object's heights on a grid of ``hm.cell`` in its body frame, and the grid's origin.

    A cell is filled where its centre lies inside the convex hull of the footprint points ``xy``
    and on the object's part of the height map (a boundary cell of the world map is raised if any
    of it is, so the hull trims that); hidden cells inside the hull take the height at their
    mirror image through ``mirror_centre``."""
    n = np.ceil(2 * half_xy / hm.cell).astype(int) + 2
    origin = -n * hm.cell / 2
    bi, bj = np.meshgrid(np.arange(n[0]), np.arange(n[1]), indexing="ij")
    local = origin + (np.stack([bi, bj], axis=-1).reshape(-1, 2) + 0.5) * hm.cell
    world = _rotate(local, yaw) + center_xy
    filled = _fill_unseen_holes(hm.height, comp).reshape(-1)
    idx = _point_cells(hm, world)
    heights = np.where(idx >= 0, filled[np.maximum(idx, 0)], np.nan)
    if mirror_centre is not None:
        unseen = np.isnan(heights) & (idx >= 0) & np.isnan(hm.height.reshape(-1)[np.maximum(idx, 0)])
        mirror = _point_cells(hm, 2 * mirror_centre - world[unseen])
        heights[unseen] = np.where(mirror >= 0, filled[np.maximum(mirror, 0)], np.nan)
    with contextlib.suppress(QhullError, ValueError):  # a degenerate footprint keeps every height
        heights[~inside_hull(xy, world)] = np.nan
    return heights.reshape(n), origin


def _solid(hm, table, comp, points, h, cells, config) -> DetectedObject | None:
    """An oriented box around the raised component ``comp`` of the height map."""
    top_of = hm.height.reshape(-1)
    in_comp = comp.reshape(-1)[np.maximum(cells, 0)] & (cells >= 0)
    sel = in_comp & (h > config.footprint_fraction * config.min_height)
    sel &= h <= top_of[np.maximum(cells, 0)] + config.top_band  # nothing hovering above the column
    if np.count_nonzero(sel) < 3:
        return None
    top = float(np.percentile(hm.height[comp], config.top_percentile))
    xy = points[sel, :2]
    cap = points[sel & (h >= top - config.top_band), :2]
    mirror_centre = cap.mean(axis=0) if len(cap) else None
    if config.symmetric_completion and mirror_centre is not None:
        xy = np.vstack([xy, _mirror_into_unseen(hm, xy, mirror_centre)])
    center_xy, half_xy, yaw = min_area_rectangle(xy)
    center = np.array([*center_xy, table.height + top / 2])
    body = np.column_stack([_rotate(points[sel, :2] - center_xy, -yaw), h[sel] - top / 2])
    heights, origin = _body_heights(hm, comp, xy, center_xy, half_xy, yaw, mirror_centre)
    half, color = np.array([*half_xy, top / 2]), hm.color[comp].mean(axis=0)
    return DetectedObject("solid", center, yaw, half, color, heights, origin, hm.cell, body)


def _features(color: np.ndarray) -> np.ndarray:
    """Brightness (channel mean) and chroma (max − min channel) of colours ``[..., 3]``."""
    return np.stack([color.mean(axis=-1), color.max(axis=-1) - color.min(axis=-1)], axis=-1)


def _spacing(xy: np.ndarray) -> float:
    """Median distance from a point to its nearest neighbour (the sampling step of a flat patch)."""
    if len(xy) < 2:
        return 0.0
    dist, _ = cKDTree(xy).query(xy, k=2)
    return float(np.median(dist[:, 1]))


def _zones(hm, table, raised, excluded, points, colors, h, cells, config) -> list[DetectedObject]:
    """Flat regions whose colour stands out from the table's: brighter or more saturated."""
    gap = max(1, int(round(config.zone_solid_margin / hm.cell)))
    near_solid = ndimage.binary_dilation(raised, EIGHT, iterations=gap)
    flat = ~np.isnan(hm.height) & (hm.height <= config.min_height) & ~excluded & ~near_solid
    if np.count_nonzero(flat) < 10:
        return []
    feats = _features(hm.color[flat])
    med = np.median(feats, axis=0)
    mad = 1.4826 * np.median(np.abs(feats - med), axis=0)  # robust standard deviation
    margin = np.maximum(config.zone_sigmas * mad, config.zone_min_delta)
    cand = np.zeros_like(flat)
    cand[flat] = np.any(feats - med > margin, axis=-1)
    cand = ndimage.binary_opening(cand, EIGHT)
    labels, n = ndimage.label(cand, EIGHT)
    zones = []
    flat_pts = (cells >= 0) & (h <= config.min_height)
    for lab in range(1, n + 1):
        comp = labels == lab
        area = np.count_nonzero(comp) * hm.cell**2
        if area < config.zone_min_area:
            continue
        corners = (np.argwhere(comp)[:, None, :] + np.array([[0, 0], [0, 1], [1, 0], [1, 1]])).reshape(-1, 2)
        hull_area = ConvexHull(corners * hm.cell).volume
        if area / hull_area < config.zone_min_solidity:
            continue
        # outline at half the contrast of the feature that stands out most (colour is blurred)
        zone_med = np.median(_features(hm.color[comp]), axis=0)
        k = int(np.argmax((zone_med - med) / margin))
        region = ndimage.binary_dilation(comp, EIGHT, iterations=2)
        sel = flat_pts & region.reshape(-1)[np.maximum(cells, 0)]
        sel[sel] = _features(colors[sel])[:, k] >= (med[k] + zone_med[k]) / 2
        xy = points[sel, :2] if np.count_nonzero(sel) >= 10 else hm.centres()[comp]
        center_xy, half_xy, yaw = min_area_rectangle(xy)
        half_xy = half_xy + _spacing(xy) / 2  # each sample stands for the patch around it
        zh = config.zone_half_height
        body = np.column_stack([_rotate(xy - center_xy, -yaw), np.zeros(len(xy))])
        color = colors[sel].mean(axis=0) if sel.any() else hm.color[comp].mean(axis=0)
        center = np.array([*center_xy, table.height + zh])
        zones.append(DetectedObject("zone", center, yaw, np.array([*half_xy, zh]), color, points=body))
    return zones


def detect_objects(
    heightmap: HeightMap,
    table: Table,
    points,
    colors,
    config: TabletopConfig = TabletopConfig(),  # noqa: B008
) -> list[DetectedObject]:
    """Solids (connected cells higher than ``min_height``, at least ``min_area``) and zones (flat,
    coloured patches), sorted by centre x then y."""
    hm = heightmap
    points, colors = np.asarray(points, float).reshape(-1, 3), np.asarray(colors, float).reshape(-1, 3)
    h = table.height_above(points)
    cells = _point_cells(hm, points)
    cells[~_keep_xy(points, config.exclude_xy)] = -1
    excluded = ~_keep_xy(hm.centres().reshape(-1, 2), config.exclude_xy).reshape(hm.height.shape)
    raised = ~np.isnan(hm.height) & (hm.height > config.min_height) & ~excluded
    labels, n = ndimage.label(raised, EIGHT)
    objects = []
    for lab in range(1, n + 1):
        comp = labels == lab
        if np.count_nonzero(comp) * hm.cell**2 < config.min_area:
            continue
        obj = _solid(hm, table, comp, points, h, cells, config)
        if obj is not None:
            objects.append(obj)
    objects += _zones(hm, table, raised, excluded, points, colors, h, cells, config)
    return sorted(objects, key=lambda o: (round(float(o.center[0]), 6), round(float(o.center[1]), 6)))
