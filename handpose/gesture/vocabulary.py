"""The gesture vocabulary and the rules that name a rendered pose: which fingers are extended and
which gesture it shows, from the rig's joint angles and the posed joints.

Labels (:data:`GESTURES`): MediaPipe Gesture Recognizer's set (``none``, ``closed_fist``,
``open_palm``, ``pointing_up``, ``thumb_down``, ``thumb_up``, ``victory``, ``i_love_you``) plus
``ok``, ``pinch``, ``rock`` (index and pinky out, thumb folded) and ``call`` (thumb and pinky out).

A finger is *extended* when it is nearly straight: for index to pinky, MCP + PIP flexion below
:data:`FINGER_EXTENDED_DEG`; *folded* above :data:`FINGER_FOLDED_DEG`; in between it is unsure.
The thumb's flexion measure is CMC flexion + half its MCP and IP flexion - half its spread (away
from the palm), with its own two thresholds. Every gesture but ``ok`` and ``pinch`` is a pattern
of the five fingers' states (:data:`PATTERNS`; any other pattern is ``none``); ``pointing_up``,
``thumb_up`` and ``thumb_down`` also need the finger (MCP -> tip) to point within
:data:`UP_DEG` of the image's up or down, and are ``none`` beyond :data:`SIDE_DEG`. ``ok`` and
``pinch``: the thumb and index tips touch (closer than :data:`CONTACT` middle-finger MCP->PIP
bones; apart beyond :data:`APART`) while the index is not rolled into the fist (its MCP + PIP
flexion below :data:`INDEX_CONTACT_MAX_DEG`; 20 degrees more and the tips' meeting is a fist's
thumb over the fingers, judged by the pattern); ``ok`` when the other three fingers are straight (their mean
MCP + PIP flexion below :data:`OK_CURL_DEG`), ``pinch`` when they are bent (above
:data:`PINCH_CURL_DEG`). A pose whose label depends on an unsure part gets no label (-1): the
classifier is not trained on, nor judged by, poses the rules cannot name.
"""

from __future__ import annotations

import itertools
from typing import Final

import numpy as np

from handpose.data.synth.hand_poses import DOF, FINGERS4, GESTURES as POSES

GESTURES: Final[tuple[str, ...]] = (
    "none", "closed_fist", "open_palm", "pointing_up", "thumb_down", "thumb_up", "victory", "i_love_you",
    "ok", "pinch", "rock", "call",
)  # fmt: skip
GESTURE_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(GESTURES)}
FINGER_NAMES: Final = ("thumb", "index", "middle", "ring", "pinky")

FINGER_EXTENDED_DEG: Final = 45.0
FINGER_FOLDED_DEG: Final = 80.0
THUMB_EXTENDED_DEG: Final = 25.0
THUMB_FOLDED_DEG: Final = 45.0
UP_DEG: Final = 40.0
SIDE_DEG: Final = 55.0
CONTACT: Final = 0.55
APART: Final = 0.8
OK_CURL_DEG: Final = 35.0
PINCH_CURL_DEG: Final = 45.0
INDEX_CONTACT_MAX_DEG: Final = 140.0

#: finger states (thumb, index, middle, ring, pinky; 1 = extended) -> gesture, before orientation
PATTERNS: Final[dict[tuple[int, ...], str]] = {
    (0, 0, 0, 0, 0): "closed_fist",
    (1, 1, 1, 1, 1): "open_palm",
    (0, 1, 0, 0, 0): "pointing_up",
    (1, 0, 0, 0, 0): "thumb_up",  # or thumb_down, by the thumb's direction
    (0, 1, 1, 0, 0): "victory",
    (1, 1, 0, 0, 1): "i_love_you",
    (0, 1, 0, 0, 1): "rock",
    (1, 0, 0, 0, 1): "call",
}

#: joint angles (NUM_DOF,) radians of one pose per gesture, for sampling: the renderer's named poses
TEMPLATES: Final[dict[str, np.ndarray]] = {
    "closed_fist": POSES["fist"], "open_palm": POSES["open_palm"], "pointing_up": POSES["point"],
    "thumb_down": POSES["thumbs_up"], "thumb_up": POSES["thumbs_up"], "victory": POSES["victory"],
    "i_love_you": POSES["i_love_you"], "ok": POSES["ok"], "pinch": POSES["pinch"], "rock": POSES["rock"],
    "call": POSES["call"],
    # poses that are none of the gestures
    "four": POSES["four"], "three": POSES["three"], "relaxed": POSES["relaxed"], "flat": POSES["flat"],
}  # fmt: skip

# orientation classes of the finger a gesture depends on: 0 up, 1 down, 2 sideways
_UP, _DOWN, _SIDE = 0, 1, 2


def _three_way(value: np.ndarray, low: float, high: float) -> np.ndarray:
    """1 below ``low``, 0 above ``high``, -1 in between (int8, same shape)."""
    return np.where(value < low, 1, np.where(value > high, 0, -1)).astype(np.int8)


def finger_curls_deg(angles: np.ndarray) -> np.ndarray:
    """(..., 5) flexion measure of thumb, index, middle, ring, pinky in degrees for articulations
    (..., NUM_DOF) (see the module docstring)."""
    a = np.degrees(np.asarray(angles, np.float64))
    thumb = a[..., DOF["thumb_cmc_flex"]] + 0.5 * (a[..., DOF["thumb_mcp_flex"]] + a[..., DOF["thumb_ip_flex"]]
                                                   - a[..., DOF["thumb_cmc_spread"]])
    fingers = [a[..., DOF[f"{f}_mcp_flex"]] + a[..., DOF[f"{f}_pip_flex"]] for f in FINGERS4]
    return np.stack([thumb, *fingers], axis=-1)


def finger_states(angles: np.ndarray) -> np.ndarray:
    """(..., 5) int8 per finger (thumb first): 1 extended, 0 folded, -1 unsure, for articulations (..., NUM_DOF)."""
    curls = finger_curls_deg(angles)
    return np.concatenate([_three_way(curls[..., :1], THUMB_EXTENDED_DEG, THUMB_FOLDED_DEG),
                           _three_way(curls[..., 1:], FINGER_EXTENDED_DEG, FINGER_FOLDED_DEG)], axis=-1)


def finger_margins_deg(angles: np.ndarray) -> np.ndarray:
    """(..., 5) degrees by which each finger's flexion measure (thumb first) lies past the threshold
    of its state, for articulations (..., NUM_DOF): below the extended threshold or above the
    folded one; negative inside the unsure band (minus the distance to its nearer edge). How clear a
    rendered finger's label is: a finger 2 degrees past a threshold looks like one 2 degrees short."""
    curls = finger_curls_deg(angles)
    extended = np.array([THUMB_EXTENDED_DEG] + [FINGER_EXTENDED_DEG] * 4)
    folded = np.array([THUMB_FOLDED_DEG] + [FINGER_FOLDED_DEG] * 4)
    return np.maximum(extended - curls, curls - folded)


def _orientation_options(joints: np.ndarray, base: int, tip: int) -> np.ndarray:
    """(N, 3) bool: whether the finger base -> tip may count as pointing up, down, sideways (image y down)."""
    d = joints[:, tip] - joints[:, base]
    cos_up = -d[:, 1] / np.maximum(np.linalg.norm(d, axis=-1), 1e-9)
    c_in, c_out = np.cos(np.radians(UP_DEG)), np.cos(np.radians(SIDE_DEG))
    up, down = cos_up > c_out, -cos_up > c_out
    side = (cos_up < c_in) & (-cos_up < c_in)
    return np.stack([up, down, side], axis=-1)


def _pattern_table() -> np.ndarray:
    """(32, 3, 3) gesture index for each finger-state code x thumb orientation x index orientation."""
    table = np.zeros((32, 3, 3), np.int64)
    for code, thumb_o, index_o in itertools.product(range(32), range(3), range(3)):
        states = tuple((code >> k) & 1 for k in range(5))
        name = PATTERNS.get(states, "none")
        if name == "pointing_up" and index_o != _UP:
            name = "none"
        if name == "thumb_up":
            name = {_UP: "thumb_up", _DOWN: "thumb_down", _SIDE: "none"}[thumb_o]
        table[code, thumb_o, index_o] = GESTURE_INDEX[name]
    return table


_TABLE: Final = _pattern_table()


def gesture_labels(angles: np.ndarray, joints_norm: np.ndarray) -> np.ndarray:
    """(N,) int64 gesture index (into :data:`GESTURES`) of N poses, -1 where the rules cannot tell.

    Args:
        angles: (N, NUM_DOF) articulations, radians.
        joints_norm: (N, 21, 3) the posed joints, normalised (``skeleton.normalize``), right-hand
            frame, camera-oriented (x right, y down, z forward).
    """
    states = finger_states(angles)
    n = len(states)
    # which of the 32 state codes each pose may have (unsure fingers may be either)
    allowed_state = np.stack([(states == 0) | (states == -1), (states == 1) | (states == -1)], axis=-1)  # (N, 5, 2)
    codes = np.arange(32)
    bits = (codes[:, None] >> np.arange(5)) & 1  # (32, 5)
    allowed_code = np.all(allowed_state[:, np.arange(5), bits], axis=-1)  # (N, 32)
    thumb_o = _orientation_options(joints_norm, 2, 4)
    index_o = _orientation_options(joints_norm, 5, 8)
    allowed = allowed_code[:, :, None, None] & thumb_o[:, None, :, None] & index_o[:, None, None, :]  # (N, 32, 3, 3)
    possible = np.zeros((n, len(GESTURES)), bool)
    for g in range(len(GESTURES)):
        possible[:, g] = np.any(allowed & (_TABLE == g)[None], axis=(1, 2, 3))
    labels = np.where(possible.sum(axis=1) == 1, possible.argmax(axis=1), -1)
    # thumb and index tips touching, the index not in a fist: ok or pinch, whatever the pattern
    gap = np.linalg.norm(joints_norm[:, 4] - joints_norm[:, 8], axis=-1)
    curls = finger_curls_deg(angles)
    others = curls[:, 2:].mean(axis=1)
    touching = np.where(others < OK_CURL_DEG, GESTURE_INDEX["ok"],
                        np.where(others > PINCH_CURL_DEG, GESTURE_INDEX["pinch"], -1))
    index = _three_way(curls[:, 1], INDEX_CONTACT_MAX_DEG, INDEX_CONTACT_MAX_DEG + 20.0)  # 1: may pinch
    contact = np.where(index == 1, touching, np.where(index == 0, labels, -1))
    labels = np.where(gap < CONTACT, contact, np.where(gap > APART, labels, -1))
    return labels.astype(np.int64)
