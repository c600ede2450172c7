"""Run the pipeline on still photos and write one overlay sheet: each photo zoomed on its first
hand with the predicted 2D skeleton and handedness, and that hand's normalised 3D pose seen from
the camera and from the side. For judging the model on real pictures (no labels: it shows, it does not measure).

    python scripts/real_photos.py --images PHOTO_FOLDER --out docs/real_photos.png
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from handpose.errors import InputError
from handpose.io.images import list_images, read_rgb
from handpose.geometry.crop import crop_from_keypoints
from handpose.infer.pipeline import HandPosePipeline, PipelineConfig
from handpose.viz.draw import draw_hands, draw_label
from handpose.viz.pose_views import pose_view

TILE = 320


def photo_tile(image_rgb: np.ndarray, pipeline: HandPosePipeline, name: str) -> tuple[np.ndarray, int]:
    """A (TILE, 1.5 * TILE, 3) RGB tile for a photo: the overlay zoomed on the first hand (the whole
    photo when none is found), then that hand's 3D pose from the front (top) and the side (bottom);
    returns (tile, hands found)."""
    hands = list(pipeline(image_rgb))
    if hands:
        view = crop_from_keypoints(hands[0].keypoints_px, TILE, margin=0.8)
        shown = draw_hands(view.warp(image_rgb), [replace(h, keypoints_px=view.to_crop(h.keypoints_px)) for h in hands])
    else:
        scale = TILE / max(image_rgb.shape[:2])
        shown = cv2.resize(image_rgb, (round(image_rgb.shape[1] * scale), round(image_rgb.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
    tile = np.full((TILE, TILE + TILE // 2, 3), 16, np.uint8)
    tile[: shown.shape[0], : shown.shape[1]] = shown
    half = TILE // 2
    if hands:
        tile[:half, TILE:] = pose_view(hands[0].joints_norm, 0.0, half)
        tile[half:, TILE:] = pose_view(hands[0].joints_norm, 90.0, half)
    draw_label(tile, f"{name[:24]}  {len(hands)} hand(s)", (4, TILE - 6), in_place=True, scale=0.4)
    return tile, len(hands)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=Path, required=True, help="a folder of photos (searched recursively)")
    p.add_argument("--out", type=Path, required=True, help="PNG sheet to write")
    p.add_argument("--checkpoint", type=Path, default=None)
    p.add_argument("--limit", type=int, default=12, help="photos on the sheet")
    p.add_argument("--stride", type=int, default=1, help="take every STRIDE-th photo (spread over subfolders)")
    p.add_argument("--columns", type=int, default=3)
    a = p.parse_args(argv)
    paths = list_images(a.images, recursive=True)[:: max(1, a.stride)]
    tiles, found = [], 0
    with HandPosePipeline(PipelineConfig(checkpoint=a.checkpoint, detector_mode="image", smoothing=False)) as pipe:
        for path in paths[: a.limit]:
            try:
                image = read_rgb(path)
            except InputError as exc:
                print(f"skipped: {exc}")
                continue
            tile, n = photo_tile(image, pipe, path.name)
            tiles.append(tile)
            found += n > 0
    if not tiles:
        raise SystemExit(f"no readable photos under {a.images}")
    while len(tiles) % a.columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i : i + a.columns], axis=1) for i in range(0, len(tiles), a.columns)]
    sheet = np.concatenate(rows, axis=0)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_name(f".part.{a.out.name}")  # same extension: cv2 picks the format by it
    cv2.imwrite(str(tmp), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    tmp.replace(a.out)
    print(f"wrote {a.out}: {len(paths[: a.limit])} photos, hands found in {found}")


if __name__ == "__main__":
    main()
