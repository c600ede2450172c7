"""Headless OpenGL rasteriser for the synthetic data (moderngl on EGL; Mesa's CPU driver works).

Geometry comes in the camera frame (OpenCV convention: x right, y down, z forward, mm) and is
projected with a pinhole ``K`` (3x3, px) so that a point projects exactly where
``K @ p`` says: pixel centres at integer coordinates, as in ``handpose.geometry.crop``.
Colours: albedo is linear RGB in [0, 1]; the output is sRGB uint8 RGB. Shading: ambient +
two directional lights (wrapped diffuse, a little subsurface-like softness) + Blinn-Phong
specular, double-sided.

Mesh topologies are registered once (:meth:`Renderer.add_mesh`); per image only vertex data,
uniforms and the background texture are uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from handpose.errors import InputError, MissingDependencyError

_NEAR_MM, _FAR_MM = 10.0, 20000.0

_VERTEX_SHADER = """
#version 330
uniform mat4 proj;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
out vec3 v_pos;
out vec3 v_normal;
out vec3 v_color;
void main() {
    v_pos = in_pos;
    v_normal = in_normal;
    v_color = in_color;
    gl_Position = proj * vec4(in_pos, 1.0);
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform vec3 ambient;
uniform vec3 light_dir[2];
uniform vec3 light_color[2];
uniform float specular;
uniform float shininess;
uniform float wrap;
in vec3 v_pos;
in vec3 v_normal;
in vec3 v_color;
out vec4 f_color;
void main() {
    vec3 n = normalize(v_normal);
    vec3 v = normalize(-v_pos);
    if (dot(n, v) < 0.0) n = -n;
    vec3 c = ambient * v_color;
    for (int i = 0; i < 2; i++) {
        vec3 l = -light_dir[i];
        float ndl = dot(n, l);
        float d = max((ndl + wrap) / (1.0 + wrap), 0.0);
        vec3 h = normalize(l + v);
        float s = ndl > 0.0 ? specular * pow(max(dot(n, h), 0.0), shininess) : 0.0;
        c += light_color[i] * (v_color * d + vec3(s));
    }
    f_color = vec4(pow(clamp(c, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
}
"""

_BG_VERTEX_SHADER = """
#version 330
in vec2 in_xy;
out vec2 v_uv;
void main() {
    v_uv = vec2(in_xy.x * 0.5 + 0.5, in_xy.y * 0.5 + 0.5);
    gl_Position = vec4(in_xy, 0.9999, 1.0);
}
"""

_BG_FRAGMENT_SHADER = """
#version 330
uniform sampler2D tex;
in vec2 v_uv;
out vec4 f_color;
void main() { f_color = vec4(texture(tex, v_uv).rgb, 1.0); }
"""


@dataclass(frozen=True)
class Lighting:
    """Lights in the camera frame.

    Attributes:
        ambient: (3,) linear RGB ambient intensity.
        directions: (2, 3) unit directions the light travels (from the light towards the scene).
        colors: (2, 3) linear RGB intensities.
    """

    ambient: np.ndarray
    directions: np.ndarray
    colors: np.ndarray


@dataclass(frozen=True)
class Material:
    """Surface response: Blinn-Phong ``specular`` strength and ``shininess``; ``wrap`` softens diffuse."""

    specular: float = 0.08
    shininess: float = 20.0
    wrap: float = 0.3


@dataclass(frozen=True)
class MeshDraw:
    """One mesh to draw.

    Attributes:
        mesh_id: handle from :meth:`Renderer.add_mesh`.
        vertices_mm: (V, 3) positions in the camera frame, mm.
        normals: (V, 3) normals in the camera frame.
        albedo: (V, 3) linear RGB in [0, 1] per vertex.
        material: specular response.
    """

    mesh_id: int
    vertices_mm: np.ndarray
    normals: np.ndarray
    albedo: np.ndarray
    material: Material = field(default_factory=Material)


@dataclass(frozen=True)
class Rendering:
    """A rendered image.

    Attributes:
        rgb: (H, W, 3) uint8 sRGB RGB.
        depth01: (H, W) float32 window depth in [0, 1] (1 where only background was drawn).
    """

    rgb: np.ndarray
    depth01: np.ndarray

    @property
    def depth_mm(self) -> np.ndarray:
        """(H, W) float32 camera z in mm, ``inf`` on the background."""
        return _linear_depth(self.depth01)

    def depth_mm_at(self, points_px: np.ndarray, radius: int = 1) -> np.ndarray:
        """Camera z in mm (N,) of the farthest surface within ``radius`` px of each point (N, 2);
        ``inf`` for background and for points outside the image."""
        h, w = self.depth01.shape
        pts = np.rint(np.asarray(points_px)).astype(np.int64)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        out = np.full(len(pts), np.inf, dtype=np.float32)
        for k in np.flatnonzero(inside):
            x, y = pts[k]
            patch = self.depth01[max(y - radius, 0) : y + radius + 1, max(x - radius, 0) : x + radius + 1]
            out[k] = _linear_depth(patch.max(keepdims=True))[0, 0]
        return out


def projection_matrix(K: np.ndarray, width: int, height: int) -> np.ndarray:
    """4x4 OpenGL projection of camera-frame points (OpenCV axes) through ``K`` onto a W x H viewport.

    Maps pixel coordinate u (OpenCV, centre of pixel i at u = i) to NDC ``2 (u + 0.5) / W - 1``
    and likewise v with row 0 of the framebuffer = image row 0 (so no flip on read-back).
    """
    fx, fy, cx, cy, skew = K[0, 0], K[1, 1], K[0, 2], K[1, 2], K[0, 1]
    n, f = _NEAR_MM, _FAR_MM
    return np.array([
        [2 * fx / width, 2 * skew / width, 2 * (cx + 0.5) / width - 1, 0],
        [0, 2 * fy / height, 2 * (cy + 0.5) / height - 1, 0],
        [0, 0, (f + n) / (f - n), -2 * f * n / (f - n)],
        [0, 0, 1, 0],
    ], dtype=np.float64)  # fmt: skip


class Renderer:
    """An offscreen W x H render target with registered mesh topologies. Not thread-safe.

    ``samples`` > 1 draws with that many samples per pixel (MSAA, anti-aliased edges) and resolves
    before reading back; the depth read back is then one sample's (edge pixels: nearest surface
    or background).
    """

    def __init__(self, width: int, height: int, samples: int = 4) -> None:
        try:
            import moderngl
        except ImportError as exc:
            raise MissingDependencyError("moderngl", "all", "Rendering synthetic hands") from exc
        if width < 8 or height < 8:
            raise InputError(f"render size of at least 8x8 expected, got {width}x{height}")
        self.width, self.height = int(width), int(height)
        self._ctx = moderngl.create_standalone_context(backend="egl")  # type: ignore[arg-type]  # stub: **settings
        ctx = self._ctx
        with ctx:  # several renderers may live in one process: make this context current
            size = (self.width, self.height)
            self._fbo = ctx.framebuffer(color_attachments=[ctx.renderbuffer(size, 3)],
                                        depth_attachment=ctx.depth_renderbuffer(size))
            samples = min(int(samples), ctx.max_samples)
            self._draw_fbo = self._fbo if samples <= 1 else ctx.framebuffer(
                color_attachments=[ctx.renderbuffer(size, 3, samples=samples)],
                depth_attachment=ctx.depth_renderbuffer(size, samples=samples),
            )
            self._prog = ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
            self._bg_prog = ctx.program(vertex_shader=_BG_VERTEX_SHADER, fragment_shader=_BG_FRAGMENT_SHADER)
            quad = np.array([-1, -1, 1, -1, -1, 1, 1, 1], dtype="f4")
            self._bg_vao = ctx.vertex_array(self._bg_prog, [(ctx.buffer(quad.tobytes()), "2f", "in_xy")])
            self._bg_tex = ctx.texture((self.width, self.height), 3)
            self._bg_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._meshes: list[tuple[Any, Any, int, np.ndarray]] = []
        self._moderngl = moderngl

    def add_mesh(self, faces: np.ndarray, n_vertices: int) -> int:
        """Register a triangle topology (F, 3) over ``n_vertices`` vertices; returns its handle."""
        faces = np.asarray(faces)
        if faces.ndim != 2 or faces.shape[1] != 3 or faces.max() >= n_vertices:
            raise InputError(f"faces (F, 3) indexing {n_vertices} vertices expected, got {faces.shape}")
        ctx = self._ctx
        with ctx:
            vbo = ctx.buffer(reserve=n_vertices * 9 * 4, dynamic=True)
            ibo = ctx.buffer(faces.astype("i4").tobytes())
            vao = ctx.vertex_array(self._prog, [(vbo, "3f 3f 3f", "in_pos", "in_normal", "in_color")], index_buffer=ibo)
        staging = np.empty((n_vertices, 9), dtype="f4")
        self._meshes.append((vao, vbo, n_vertices, staging))
        return len(self._meshes) - 1

    def render(self, K: np.ndarray, background_rgb: np.ndarray, meshes: Sequence[MeshDraw],
               lighting: Lighting) -> Rendering:
        """Draw ``meshes`` over ``background_rgb`` (H, W, 3) uint8 sRGB RGB seen through ``K``."""
        if background_rgb.shape != (self.height, self.width, 3) or background_rgb.dtype != np.uint8:
            raise InputError(f"background ({self.height}, {self.width}, 3) uint8 RGB expected, "
                             f"got {background_rgb.shape} {background_rgb.dtype}")
        ctx, mgl = self._ctx, self._moderngl
        with ctx:
            self._draw_fbo.use()
            self._draw_fbo.clear(0.0, 0.0, 0.0, 1.0, depth=1.0)
            self._bg_tex.write(np.ascontiguousarray(background_rgb).tobytes())
            ctx.disable(mgl.DEPTH_TEST | mgl.CULL_FACE)
            self._bg_tex.use(0)
            self._bg_vao.render(mgl.TRIANGLE_STRIP)
            ctx.enable(mgl.DEPTH_TEST)
            prog: Any = self._prog
            prog["proj"].write(projection_matrix(K, self.width, self.height).T.astype("f4").tobytes())
            prog["ambient"].value = tuple(float(x) for x in lighting.ambient)
            prog["light_dir"].write(np.asarray(lighting.directions, "f4").tobytes())
            prog["light_color"].write(np.asarray(lighting.colors, "f4").tobytes())
            for draw in meshes:
                vao, vbo, n_vertices, staging = self._meshes[draw.mesh_id]
                if draw.vertices_mm.shape != (n_vertices, 3):
                    raise InputError(f"mesh {draw.mesh_id}: vertices ({n_vertices}, 3) expected, "
                                     f"got {draw.vertices_mm.shape}")
                staging[:, 0:3] = draw.vertices_mm
                staging[:, 3:6] = draw.normals
                staging[:, 6:9] = draw.albedo
                vbo.write(staging.tobytes())
                prog["specular"].value = draw.material.specular
                prog["shininess"].value = draw.material.shininess
                prog["wrap"].value = draw.material.wrap
                vao.render(mgl.TRIANGLES)
            if self._draw_fbo is not self._fbo:
                ctx.copy_framebuffer(self._fbo, self._draw_fbo)
            rgb = np.frombuffer(self._fbo.read(components=3, alignment=1), np.uint8)
            rgb = rgb.reshape(self.height, self.width, 3)
            depth = np.frombuffer(self._fbo.read(attachment=-1, components=1, dtype="f4", alignment=1), np.float32)
        return Rendering(rgb=rgb, depth01=depth.reshape(self.height, self.width))

    def release(self) -> None:
        """Free the GL context (made current first; each renderer makes its own current again)."""
        self._ctx.__enter__()
        self._ctx.release()


def _linear_depth(depth01: np.ndarray) -> np.ndarray:
    """Window depth in [0, 1] -> camera z in mm (inf at the far plane / background)."""
    n, f = _NEAR_MM, _FAR_MM
    z_ndc = 2.0 * depth01.astype(np.float64) - 1.0
    with np.errstate(divide="ignore"):
        z = (2.0 * f * n) / ((f + n) - z_ndc * (f - n))
    z[depth01 >= 1.0] = np.inf
    return z.astype(np.float32)
