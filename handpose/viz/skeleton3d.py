"""Geometry shared by the 3D views: bone index pairs and per-bone / per-joint colours as float RGB.

Colours are :mod:`handpose.skeleton`'s finger colours (the same as the 2D overlay), scaled to
[0, 1] as the GL views want them.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from handpose import skeleton
from handpose.viz.draw import JOINT_COLORS_RGB

#: (20, 2) int32 joint index pairs (parent, child), one per bone.
BONE_PAIRS: Final = np.array(skeleton.BONES, dtype=np.int32)
#: (20, 3) float64 RGB in [0, 1] of each bone (its child's finger colour).
BONE_COLORS: Final = np.array([JOINT_COLORS_RGB[c] for _, c in skeleton.BONES], dtype=np.float64) / 255.0
#: (21, 3) float64 RGB in [0, 1] of each joint.
JOINT_COLORS: Final = np.array(JOINT_COLORS_RGB, dtype=np.float64) / 255.0
