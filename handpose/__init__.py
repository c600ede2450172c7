"""handpose: real-time 3D hand pose estimation by cross-modal variational alignment."""

__version__ = "0.1.0"
