"""Synthetic data: the rigged hand mesh, poses, scenes, the renderer and its backgrounds, whole
rendered frames, and pre-rendering to shards."""
