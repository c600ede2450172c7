"""Anatomical hand pose model: joint angles with limits, DIP-PIP coupling, thumb opposition, gestures.

A hand articulation is a vector of ``NUM_DOF`` angles in radians (``DOF_NAMES`` gives the layout):

* index, middle, ring, pinky: MCP flexion, MCP spread, PIP flexion, DIP flexion;
* thumb: CMC opposition (flexion of the metacarpal across the palm), CMC spread (away from the
  index finger), MCP flexion, MCP spread, IP flexion;
* palm cupping: flexion of the ring and pinky metacarpals (the palm arches in a fist).

Flexion is positive towards the palm, spread positive away from the middle finger (for the
middle finger: towards the thumb). All zeros is the rig's rest pose (a relaxed open hand).
:func:`local_rotations` turns articulations into the rig's per-joint rotations.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from handpose.data.synth.rig import NUM_RIG_JOINTS, HandRig, axis_angle_matrices
from handpose.errors import InputError

FINGERS4: Final = ("index", "middle", "ring", "pinky")
DOF_NAMES: Final[tuple[str, ...]] = (
    *(f"{f}_{d}" for f in FINGERS4 for d in ("mcp_flex", "mcp_spread", "pip_flex", "dip_flex")),
    "thumb_cmc_flex", "thumb_cmc_spread", "thumb_mcp_flex", "thumb_mcp_spread", "thumb_ip_flex",
    "palm_cup",
)  # fmt: skip
NUM_DOF: Final = len(DOF_NAMES)
DOF: Final[dict[str, int]] = {name: i for i, name in enumerate(DOF_NAMES)}

_LIMITS_DEG: Final[dict[str, tuple[float, float]]] = {
    "mcp_flex": (-25.0, 95.0),
    "pip_flex": (-5.0, 110.0),
    "dip_flex": (-10.0, 85.0),
    "index_mcp_spread": (-15.0, 22.0),
    "middle_mcp_spread": (-12.0, 12.0),
    "ring_mcp_spread": (-12.0, 18.0),
    "pinky_mcp_spread": (-12.0, 30.0),
    "thumb_cmc_flex": (-25.0, 55.0),
    "thumb_cmc_spread": (-20.0, 35.0),
    "thumb_mcp_flex": (-15.0, 60.0),
    "thumb_mcp_spread": (-8.0, 8.0),
    "thumb_ip_flex": (-20.0, 85.0),
    "palm_cup": (-5.0, 25.0),
}


def _limit_arrays() -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.empty(NUM_DOF), np.empty(NUM_DOF)
    for i, name in enumerate(DOF_NAMES):
        key = name if name in _LIMITS_DEG else name.split("_", 1)[1]
        lo[i], hi[i] = np.radians(_LIMITS_DEG[key])
    return lo, hi


#: (NUM_DOF,) lower and upper joint limits in radians.
LIMITS_LO, LIMITS_HI = _limit_arrays()

#: DIP flexion is about this fraction of PIP flexion in natural motion.
DIP_PIP_RATIO: Final = 0.7


def articulation(**degrees: float) -> np.ndarray:
    """An articulation (NUM_DOF,) in radians from named angles in degrees; unnamed angles are 0.

    ``curl_<finger>=a`` is shorthand for MCP, PIP and DIP flexion of a finger following the
    natural pattern (MCP a, PIP 1.1 a, DIP 0.7 * PIP).
    """
    out = np.zeros(NUM_DOF)
    for name, value in degrees.items():
        if name.startswith("curl_"):
            finger = name[5:]
            if finger not in FINGERS4:
                raise InputError(f"curl_<finger> with finger in {FINGERS4} expected, got {name!r}")
            out[DOF[f"{finger}_mcp_flex"]] = np.radians(value)
            out[DOF[f"{finger}_pip_flex"]] = np.radians(1.1 * value)
            out[DOF[f"{finger}_dip_flex"]] = np.radians(DIP_PIP_RATIO * 1.1 * value)
        elif name in DOF:
            out[DOF[name]] = np.radians(value)
        else:
            raise InputError(f"angle name in {DOF_NAMES} or curl_<finger> expected, got {name!r}")
    return clip_to_limits(out)


def clip_to_limits(angles: np.ndarray) -> np.ndarray:
    """Clip articulations (..., NUM_DOF) into the joint limits."""
    return np.clip(angles, LIMITS_LO, LIMITS_HI)


_FIST_THUMB = {"thumb_cmc_flex": 40, "thumb_cmc_spread": -5, "thumb_mcp_flex": 45, "thumb_ip_flex": 40}

#: named gestures, (NUM_DOF,) radians each.
GESTURES: Final[dict[str, np.ndarray]] = {
    "open_palm": articulation(index_mcp_spread=10, ring_mcp_spread=8, pinky_mcp_spread=15, thumb_cmc_spread=15),
    "flat": articulation(index_mcp_spread=-3, ring_mcp_spread=-3, pinky_mcp_spread=-3, thumb_cmc_spread=-10),
    "relaxed": articulation(curl_index=15, curl_middle=20, curl_ring=25, curl_pinky=30, thumb_cmc_flex=10,
                            thumb_mcp_flex=10, thumb_ip_flex=15),
    "fist": articulation(curl_index=88, curl_middle=90, curl_ring=90, curl_pinky=90, palm_cup=15, **_FIST_THUMB),
    "point": articulation(curl_middle=88, curl_ring=90, curl_pinky=90, palm_cup=10, **_FIST_THUMB),
    "victory": articulation(index_mcp_spread=14, middle_mcp_spread=-8, curl_ring=88, curl_pinky=90,
                            palm_cup=10, **_FIST_THUMB),
    "thumbs_up": articulation(curl_index=88, curl_middle=90, curl_ring=90, curl_pinky=90, palm_cup=15,
                              thumb_cmc_flex=-10, thumb_cmc_spread=20, thumb_mcp_flex=0, thumb_ip_flex=-10),
    # pinch and OK: thumb tip and index tip ~14 mm apart (pads touching), solved on the rig
    "pinch": articulation(index_mcp_flex=46, index_pip_flex=51, index_dip_flex=36, curl_middle=20, curl_ring=25,
                          curl_pinky=30, thumb_cmc_flex=32, thumb_cmc_spread=11, thumb_mcp_flex=23, thumb_ip_flex=24),
    "ok": articulation(index_mcp_flex=49, index_pip_flex=56, index_dip_flex=39, middle_mcp_spread=-5,
                       ring_mcp_spread=8, pinky_mcp_spread=14, thumb_cmc_flex=33, thumb_cmc_spread=10,
                       thumb_mcp_flex=22, thumb_ip_flex=29),
    "rock": articulation(curl_middle=88, curl_ring=90, index_mcp_spread=10, pinky_mcp_spread=15, palm_cup=5,
                         **_FIST_THUMB),
    "call": articulation(curl_index=88, curl_middle=90, curl_ring=90, pinky_mcp_spread=20, palm_cup=5,
                         thumb_cmc_flex=-15, thumb_cmc_spread=30, thumb_mcp_flex=-5, thumb_ip_flex=-10),
    # "I love you": rock with the thumb out as in "call"
    "i_love_you": articulation(curl_middle=88, curl_ring=90, index_mcp_spread=10, pinky_mcp_spread=15, palm_cup=5,
                               thumb_cmc_flex=-15, thumb_cmc_spread=30, thumb_mcp_flex=-5, thumb_ip_flex=-10),
    "four": articulation(index_mcp_spread=8, ring_mcp_spread=6, pinky_mcp_spread=12, thumb_cmc_flex=50,
                         thumb_cmc_spread=-10, thumb_mcp_flex=40, thumb_ip_flex=30),
    "three": articulation(index_mcp_spread=10, ring_mcp_spread=6, curl_pinky=90, thumb_cmc_flex=45,
                          thumb_mcp_flex=45, thumb_ip_flex=40),
    "claw": articulation(index_mcp_flex=15, index_pip_flex=70, index_dip_flex=50, middle_mcp_flex=15,
                         middle_pip_flex=70, middle_dip_flex=50, ring_mcp_flex=15, ring_pip_flex=70,
                         ring_dip_flex=50, pinky_mcp_flex=15, pinky_pip_flex=70, pinky_dip_flex=50,
                         index_mcp_spread=8, pinky_mcp_spread=12, thumb_cmc_flex=20, thumb_mcp_flex=20,
                         thumb_ip_flex=30),
    "grab": articulation(curl_index=45, curl_middle=48, curl_ring=50, curl_pinky=52, thumb_cmc_flex=30,
                         thumb_cmc_spread=10, thumb_mcp_flex=20, thumb_ip_flex=20, palm_cup=8),
}
GESTURE_NAMES: Final = tuple(GESTURES)


def random_articulation(rng: np.random.Generator) -> np.ndarray:
    """A random realistic articulation (NUM_DOF,) in radians.

    A mixture: a named gesture with noise, a blend of two gestures, or independent finger curls
    that are correlated between neighbouring fingers; DIP follows PIP (coupling) up to noise.
    """
    mode = rng.random()
    if mode < 0.4:
        angles = GESTURES[GESTURE_NAMES[rng.integers(len(GESTURE_NAMES))]].copy()
        noise_deg = 8.0
    elif mode < 0.7:
        a, b = rng.choice(len(GESTURE_NAMES), size=2, replace=False)
        t = rng.random()
        angles = (1 - t) * GESTURES[GESTURE_NAMES[a]] + t * GESTURES[GESTURE_NAMES[b]]
        noise_deg = 8.0
    else:
        angles = _random_curls(rng)
        noise_deg = 5.0
    angles = angles + np.radians(noise_deg) * rng.standard_normal(NUM_DOF)
    for finger in FINGERS4:
        pip, dip = DOF[f"{finger}_pip_flex"], DOF[f"{finger}_dip_flex"]
        angles[dip] = DIP_PIP_RATIO * angles[pip] + np.radians(8.0) * rng.standard_normal()
    return clip_to_limits(angles)


def _random_curls(rng: np.random.Generator) -> np.ndarray:
    """Independent-ish finger curls, neighbours correlated, anywhere inside the limits."""
    base = rng.uniform(-0.1, 1.0)
    curls = np.clip(base + 0.45 * rng.standard_normal(4).cumsum() / np.sqrt(np.arange(1, 5)), -0.15, 1.0)
    out = np.zeros(NUM_DOF)
    for finger, curl in zip(FINGERS4, curls, strict=True):
        out[DOF[f"{finger}_mcp_flex"]] = curl * np.radians(rng.uniform(60, 95))
        out[DOF[f"{finger}_pip_flex"]] = max(curl, 0.0) * np.radians(rng.uniform(70, 110))
        out[DOF[f"{finger}_mcp_spread"]] = rng.uniform(LIMITS_LO[DOF[f"{finger}_mcp_spread"]],
                                                        LIMITS_HI[DOF[f"{finger}_mcp_spread"]]) * (1 - max(curl, 0))
    for name in ("thumb_cmc_flex", "thumb_cmc_spread", "thumb_mcp_flex", "thumb_ip_flex", "palm_cup"):
        out[DOF[name]] = rng.uniform(LIMITS_LO[DOF[name]], LIMITS_HI[DOF[name]])
    return out


def smoothstep(t: np.ndarray | float) -> np.ndarray:
    """Ease-in-out 3t^2 - 2t^3 of t clipped to [0, 1] (zero velocity at both ends)."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def interpolate(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Smooth interpolation between articulations ``a`` and ``b`` (NUM_DOF,) at t in [0, 1].

    Returns (NUM_DOF,) for a scalar t or (len(t), NUM_DOF) for an array; eases in and out.
    """
    s = smoothstep(t)
    return (1.0 - s)[..., None] * a + s[..., None] * b if s.ndim else (1.0 - s) * a + s * b


def local_rotations(rig: HandRig, angles: np.ndarray) -> np.ndarray:
    """Per-joint local rotations (..., 25, 3, 3) of the rig for articulations (..., NUM_DOF).

    Flexion is a negative rotation about the joint's local X, spread a rotation about local Y
    times the rig's ``spread_sign``; a joint's rotation is ``R_y(spread) @ R_x(-flexion)``.
    """
    angles = np.asarray(angles, dtype=np.float64)
    if angles.shape[-1] != NUM_DOF:
        raise InputError(f"articulations of shape (..., {NUM_DOF}) expected, got {angles.shape}")
    batch = angles.shape[:-1]
    flex = np.zeros(batch + (NUM_RIG_JOINTS,))
    spread = np.zeros(batch + (NUM_RIG_JOINTS,))
    for k, finger in enumerate(FINGERS4):
        meta = 5 + 5 * k  # WebXR index of the finger's metacarpal
        flex[..., meta + 1] = angles[..., DOF[f"{finger}_mcp_flex"]]
        spread[..., meta + 1] = angles[..., DOF[f"{finger}_mcp_spread"]]
        flex[..., meta + 2] = angles[..., DOF[f"{finger}_pip_flex"]]
        flex[..., meta + 3] = angles[..., DOF[f"{finger}_dip_flex"]]
    flex[..., 1] = angles[..., DOF["thumb_cmc_flex"]]
    spread[..., 1] = angles[..., DOF["thumb_cmc_spread"]]
    flex[..., 2] = angles[..., DOF["thumb_mcp_flex"]]
    spread[..., 2] = angles[..., DOF["thumb_mcp_spread"]]
    flex[..., 3] = angles[..., DOF["thumb_ip_flex"]]
    flex[..., 15] = 0.5 * angles[..., DOF["palm_cup"]]
    flex[..., 20] = angles[..., DOF["palm_cup"]]
    zeros = np.zeros_like(flex)
    rx = axis_angle_matrices(np.stack([-flex, zeros, zeros], axis=-1))
    ry = axis_angle_matrices(np.stack([zeros, spread * rig.spread_sign, zeros], axis=-1))
    return ry @ rx
