"""Occluding objects for synthetic scenes: unit sphere, box and cylinder meshes, placed at random
between the camera and the hand so they cover part of it. Camera frame, mm."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from handpose.data.synth.rig import axis_angle_matrices


@dataclass(frozen=True)
class PrimitiveMesh:
    """A unit-sized mesh: ``vertices`` (V, 3), ``normals`` (V, 3), ``faces`` (F, 3) int32."""

    vertices: np.ndarray
    normals: np.ndarray
    faces: np.ndarray


@dataclass(frozen=True)
class Occluder:
    """One object: index into :data:`PRIMITIVES`, and its posed ``vertices_mm``, ``normals`` (camera
    frame) and linear RGB ``albedo`` (3,)."""

    primitive: int
    vertices_mm: np.ndarray
    normals: np.ndarray
    albedo: np.ndarray


def _sphere(n_lat: int = 10, n_lon: int = 16) -> PrimitiveMesh:
    lat = np.linspace(0, np.pi, n_lat + 1)
    lon = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    v = np.stack([np.outer(np.sin(lat), np.cos(lon)), np.outer(np.sin(lat), np.sin(lon)),
                  np.outer(np.cos(lat), np.ones_like(lon))], axis=-1).reshape(-1, 3)
    faces = []
    for i in range(n_lat):
        for j in range(n_lon):
            a, b = i * n_lon + j, i * n_lon + (j + 1) % n_lon
            faces += [(a, b, a + n_lon), (b, b + n_lon, a + n_lon)]
    return PrimitiveMesh(v, v.copy(), np.array(faces, np.int32))


def _box() -> PrimitiveMesh:
    verts: list[np.ndarray] = []
    normals: list[np.ndarray] = []
    faces: list[tuple[int, int, int]] = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            n = np.zeros(3)
            n[axis] = sign
            u, w = np.eye(3)[(axis + 1) % 3], np.eye(3)[(axis + 2) % 3]
            base = len(verts)
            for du, dw in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                verts.append(n + du * u + dw * w)
                normals.append(n)
            faces += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    return PrimitiveMesh(np.array(verts), np.array(normals), np.array(faces, np.int32))


def _cylinder(n: int = 16) -> PrimitiveMesh:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.stack([np.cos(t), np.sin(t), np.zeros(n)], axis=1)
    v = np.concatenate([ring + [0, 0, -1], ring + [0, 0, 1]])
    normals = np.concatenate([ring, ring])
    faces = [(j, (j + 1) % n, j + n) for j in range(n)] + [((j + 1) % n, (j + 1) % n + n, j + n) for j in range(n)]
    return PrimitiveMesh(v, normals, np.array(faces, np.int32))


PRIMITIVES: Final[tuple[PrimitiveMesh, ...]] = (_sphere(), _box(), _cylinder())


def random_occluder(rng: np.random.Generator, target_mm: np.ndarray, size_mm: float) -> Occluder:
    """An object of about ``size_mm`` placed on the line from the camera to ``target_mm`` (3,),
    20-120 mm in front of it, randomly oriented and stretched, with a random colour."""
    k = int(rng.integers(len(PRIMITIVES)))
    prim = PRIMITIVES[k]
    rot = axis_angle_matrices(rng.normal(size=3) * np.pi)
    stretch = size_mm * rng.uniform(0.4, 1.0, 3)
    if k == 2:
        stretch[2] *= rng.uniform(1.5, 4.0)
    distance = float(np.linalg.norm(target_mm))
    centre = target_mm * (1.0 - rng.uniform(20.0, 120.0) / distance) + rng.normal(scale=0.3 * size_mm, size=3)
    vertices = (prim.vertices * stretch) @ rot.T + centre
    normals = (prim.normals / stretch) @ rot.T
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    albedo = rng.uniform(0.02, 0.8, 3) ** 1.5
    return Occluder(primitive=k, vertices_mm=vertices, normals=normals, albedo=albedo)
