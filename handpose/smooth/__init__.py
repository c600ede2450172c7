"""Temporal smoothing of hand tracks: live filters, the offline smoother, the depth-aware
translation filter, bone lengths and the per-track hand size."""
