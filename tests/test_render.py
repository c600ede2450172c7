"""The headless OpenGL renderer: projection through K, depth, background pass-through, errors."""

from __future__ import annotations

import numpy as np
import pytest

from handpose.data.synth.occluders import PRIMITIVES
from handpose.data.synth.render import Lighting, MeshDraw, Renderer
from handpose.errors import InputError

LIGHT = Lighting(ambient=np.full(3, 1.0), directions=np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]),
                 colors=np.zeros((2, 3)))
W, H = 160, 120


@pytest.fixture(scope="module")
def renderer():
    try:
        r = Renderer(W, H, samples=1)  # exact coverage: a pixel is drawn iff its centre is covered
    except Exception as exc:  # no EGL on this machine
        pytest.skip(f"no headless OpenGL: {exc}")
    yield r
    r.release()


def _box(renderer: Renderer, centre: np.ndarray, half: float):
    box = PRIMITIVES[1]
    mesh = renderer.add_mesh(box.faces, len(box.vertices))
    return MeshDraw(mesh, box.vertices * half + centre, box.normals, np.full((len(box.vertices), 3), 1.0))


def test_box_lands_where_K_projects_it(renderer):
    K = np.array([[150.0, 0.0, 70.3], [0.0, 150.0, 52.8], [0.0, 0.0, 1.0]])
    centre, half = np.array([12.0, -9.0, 500.0]), 20.0
    background = np.zeros((H, W, 3), np.uint8)
    out = renderer.render(K, background, [_box(renderer, centre, half)], LIGHT)
    mask = out.rgb[:, :, 0] > 128
    # the front face (z = 480) spans centre +- half: its projection gives the silhouette exactly
    front = centre[2] - half
    u0, u1 = K[0, 2] + K[0, 0] * (centre[0] - half) / front, K[0, 2] + K[0, 0] * (centre[0] + half) / front
    v0, v1 = K[1, 2] + K[1, 1] * (centre[1] - half) / front, K[1, 2] + K[1, 1] * (centre[1] + half) / front
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    # pixel i is covered when its centre (i) lies inside [u0, u1]
    assert cols[0] == int(np.ceil(u0)) and cols[-1] == int(np.floor(u1))
    assert rows[0] == int(np.ceil(v0)) and rows[-1] == int(np.floor(v1))
    # depth of the front face, background elsewhere
    depth = out.depth_mm
    np.testing.assert_allclose(depth[mask], front, atol=0.2)
    assert np.all(np.isinf(depth[~mask]))
    # white albedo under unit ambient light renders white
    assert np.all(out.rgb[mask] >= 250)


def test_background_passes_through(renderer):
    rng = np.random.default_rng(0)
    background = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    out = renderer.render(np.array([[100.0, 0, 80], [0, 100.0, 60], [0, 0, 1]]), background, [], LIGHT)
    np.testing.assert_array_equal(out.rgb, background)


def test_bad_inputs(renderer):
    K = np.eye(3)
    with pytest.raises(InputError, match=r"\(120, 160, 3\) uint8"):
        renderer.render(K, np.zeros((10, 10, 3), np.uint8), [], LIGHT)
    box = _box(renderer, np.zeros(3), 1.0)
    with pytest.raises(InputError, match="vertices"):
        renderer.render(K, np.zeros((H, W, 3), np.uint8), [MeshDraw(box.mesh_id, np.zeros((3, 3)), np.zeros((3, 3)),
                                                                    np.zeros((3, 3)))], LIGHT)
    with pytest.raises(InputError, match="faces"):
        renderer.add_mesh(np.array([[0, 1, 5]]), 3)


def test_two_renderers_in_one_process_do_not_interfere(renderer):
    """Each renderer makes its own GL context current: interleaved use gives the same images."""
    K = np.array([[150.0, 0.0, 80.0], [0.0, 150.0, 60.0], [0.0, 0.0, 1.0]])
    background = np.zeros((H, W, 3), np.uint8)
    draw = _box(renderer, np.array([0.0, 0.0, 400.0]), 30.0)
    alone = renderer.render(K, background, [draw], LIGHT)
    other = Renderer(64, 48)
    other_box = _box(other, np.array([0.0, 0.0, 300.0]), 10.0)
    other.render(np.array([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]]), np.zeros((48, 64, 3), np.uint8), [other_box],
                 LIGHT)
    again = renderer.render(K, background, [draw], LIGHT)
    other.release()
    np.testing.assert_array_equal(again.rgb, alone.rgb)
    np.testing.assert_array_equal(again.depth01, alone.depth01)
