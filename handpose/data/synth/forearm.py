"""A forearm for the hand mesh (which ends at the wrist): a tapered elliptic tube, optionally sleeved.

Built in the rig wrist joint's local frame (mm): the tube runs along +Z (away from the fingers,
the hand's bones point along -Z), local +Y is the back of the hand, X across the wrist. It starts
a little inside the hand mesh so the seam is hidden, and matches the mesh's wrist section
(about 52 x 37 mm) there. Without a forearm a real detector misses many rendered hands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

N_SEGMENTS: Final = 20
#: ring positions along the arm (mm from the wrist joint) and their semi-axes (x, y) in mm.
_RING_Z: Final = np.array([2.0, 12.0, 24.0, 36.0, 48.0, 60.0, 75.0, 90.0, 110.0, 135.0, 165.0, 200.0, 240.0, 280.0])
_RING_A: Final = np.array([25.5, 25.5, 26.0, 26.5, 27.5, 28.5, 29.5, 30.5, 31.5, 32.5, 33.0, 33.0, 32.5, 32.0])
_RING_B: Final = np.array([17.5, 17.5, 18.0, 18.5, 19.5, 20.5, 21.5, 22.5, 23.5, 24.5, 25.0, 25.0, 24.5, 24.0])


@dataclass(frozen=True)
class Forearm:
    """One forearm's geometry in the wrist frame.

    Attributes:
        vertices_mm: (V, 3) float64 positions.
        normals: (V, 3) float64 outward unit normals.
        sleeve: (V,) bool, vertices covered by a sleeve (take the cloth colour).
    """

    vertices_mm: np.ndarray
    normals: np.ndarray
    sleeve: np.ndarray


def forearm_faces() -> np.ndarray:
    """(F, 3) int32 triangles of the tube (same topology for every forearm)."""
    faces = []
    for r in range(len(_RING_Z) - 1):
        for s in range(N_SEGMENTS):
            a, b = r * N_SEGMENTS + s, r * N_SEGMENTS + (s + 1) % N_SEGMENTS
            faces += [(a, b, a + N_SEGMENTS), (b, b + N_SEGMENTS, a + N_SEGMENTS)]
    return np.array(faces, dtype=np.int32)


NUM_VERTICES: Final = len(_RING_Z) * N_SEGMENTS


def make_forearm(scale: float = 1.0, sleeve_from_mm: float | None = None, sleeve_bulk: float = 1.25) -> Forearm:
    """A forearm for a hand scaled by ``scale``; a sleeve covers it from ``sleeve_from_mm`` on
    (wrist-frame z, before scaling), ``sleeve_bulk`` times thicker than the arm; None = bare arm."""
    theta = np.linspace(0.0, 2.0 * np.pi, N_SEGMENTS, endpoint=False)
    cos, sin = np.cos(theta)[None, :], np.sin(theta)[None, :]
    sleeve_rings = np.zeros(len(_RING_Z), bool) if sleeve_from_mm is None else _RING_Z >= sleeve_from_mm
    bulk = np.where(sleeve_rings, sleeve_bulk, 1.0)[:, None]
    a, b = _RING_A[:, None] * bulk, _RING_B[:, None] * bulk
    x, y = a * cos, b * sin
    z = np.broadcast_to(_RING_Z[:, None], x.shape)
    vertices = np.stack([x, y, z], axis=-1).reshape(-1, 3) * scale
    normals = np.stack([cos / a, sin / b, np.zeros_like(x)], axis=-1).reshape(-1, 3)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    sleeve = np.repeat(sleeve_rings, N_SEGMENTS)
    return Forearm(vertices_mm=vertices, normals=normals, sleeve=sleeve)
