"""Camera geometry: the camera model and its calibration, square crops, the crop's view frame, metric 3D."""
