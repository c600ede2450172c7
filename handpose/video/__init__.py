"""Recorded video: the resumable job that turns a video into per-frame results and files."""
