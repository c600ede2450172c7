"""The MediaPipe teacher on real photos: labels land on the hand, a garbled photo or an answer that
does not match its mirrored copy is refused; the labelling app splits by person/session/time,
writes shards that read back, and gives the same files twice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from handpose.data.real.pseudo_label import Teacher, TeacherConfig, agree, hand_side_px, mirror_box, teacher_sample
from handpose.data.shards import ShardDataset
from handpose.geometry.crop import crop_from_keypoints
from handpose.detect.detector import HandDetector
from tests.real_photos import ONE_HAND_PHOTOS, PHOTO_DIR, load_rgb


@pytest.fixture(scope="module")
def detector():
    with HandDetector(mode="image", num_hands=2) as d:
        yield d


def test_labels_land_on_the_hand(detector):
    teacher = Teacher(detector)
    for photo in ONE_HAND_PHOTOS[2:]:  # the first two ('call') are ambiguous: their mirror disagrees
        rgb = load_rgb(photo)
        (label, why), = teacher.label(rgb)
        assert why == "ok" and label is not None, photo
        direct = detector.detect(rgb)[0]
        side = hand_side_px(direct.keypoints_px)
        # the kept label is the mean of the photo's and the mirror's answers: close to the direct one
        assert np.linalg.norm(label.keypoints_px - direct.keypoints_px, axis=1).mean() < 0.04 * side
        assert label.handedness == direct.handedness and label.score >= 0.8
        assert label.world_mm.shape == (21, 3) and 50 < np.ptp(label.world_mm, axis=0).max() < 250  # a hand, in mm
        sample = teacher_sample(rgb, label, 128)
        assert not sample.exact_3d and sample.world_mm is not None and sample.visible is None
        kp = sample.keypoints_crop_px
        assert kp.min() > 0 and kp.max() < 127  # the crop is cut around the hand
        # the crop shows the photo's pixels where the label says the hand is (mirrored for a left-looking hand)
        np.testing.assert_allclose(sample.crop.to_crop(label.keypoints_px), kp, atol=1e-3)
        assert sample.crop.mirrored == (label.handedness == "left") == sample.is_left


def test_garbled_and_flipped_copies_are_refused(detector):
    teacher = Teacher(detector)
    rgb = load_rgb(ONE_HAND_PHOTOS[2])
    h, w = (s - s % 16 for s in rgb.shape[:2])
    blocks = rgb[:h, :w].reshape(h // 16, 16, w // 16, 16, 3).swapaxes(1, 2).reshape(-1, 16, 16, 3)
    shuffled = blocks[np.random.default_rng(0).permutation(len(blocks))]
    garbled = shuffled.reshape(h // 16, w // 16, 16, 16, 3).swapaxes(1, 2).reshape(h, w, 3)
    assert all(label is None for label, _ in teacher.label(np.ascontiguousarray(garbled)))
    # the answer on the upside-down photo, not turned back, does not agree with the photo's own
    direct = detector.detect(rgb)[0]
    flipped = detector.detect(np.ascontiguousarray(rgb[::-1]))
    assert flipped, "MediaPipe should still find the upside-down hand"
    label, why = agree(direct, flipped[0], TeacherConfig())
    assert label is None and why in ("answers differ", "side changes")
    # ... while the mirrored copy, brought back, does
    mirrored = mirror_box(detector.detect(np.ascontiguousarray(rgb[:, ::-1]))[0], rgb.shape[1])
    assert agree(direct, mirrored, TeacherConfig())[1] == "ok"
    # and a stricter teacher refuses what a lenient one keeps
    assert agree(direct, mirrored, TeacherConfig(max_disagreement=1e-6))[1] == "answers differ"
    assert agree(direct, mirrored, TeacherConfig(min_score=1.0))[1] == "low score"


def _tiny_root(root: Path) -> None:
    """Real photos laid out as the sets are (handpose.data.real.sets), names chosen for the split."""
    photos = [PHOTO_DIR / p for p in ONE_HAND_PHOTOS]
    digits = root / "real_hands" / "sign_digits" / "3"
    webcam = root / "real_hands" / "webcam_hands" / "images"
    for folder in (digits, webcam, root / "real_hand_photos" / "x"):
        folder.mkdir(parents=True)
    with HandDetector(mode="image", num_hands=1) as detector:  # sign digits are tight 100x100 cuts of a hand
        for photo, name in ((photos[2], "IMG_1200.JPG"), (photos[3], "IMG_5800.JPG")):  # early / late student
            rgb = load_rgb(str(photo.relative_to(PHOTO_DIR)))
            crop = crop_from_keypoints(detector.detect(rgb)[0].keypoints_px, 100, margin=0.1)
            cv2.imwrite(str(digits / name), crop.warp(rgb)[:, :, ::-1])
    shutil.copy(photos[4], webcam / "996_pic00001_0.jpg")  # the validation session
    shutil.copy(photos[5], webcam / "2_pic00001_0.jpg")
    shutil.copy(photos[0], root / "real_hand_photos" / "x" / "a.jpg")  # refused: its mirror disagrees


def test_labelling_app_splits_and_is_deterministic(tmp_path):
    from apps.pseudo_label import main

    _tiny_root(tmp_path / "root")
    for out in ("a", "b"):
        main(["--root", str(tmp_path / "root"), "--out", str(tmp_path / out)])
    log = [json.loads(line) for line in (tmp_path / "a" / "labels.jsonl").read_text().splitlines()]
    split = {r["key"].rsplit("/", 1)[-1]: r["split"] for r in log}
    assert split == {"IMG_1200.JPG": "train", "IMG_5800.JPG": "val", "996_pic00001_0.jpg": "val",
                     "2_pic00001_0.jpg": "train", "a.jpg": "train"}
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["hands"] == {"train": 2, "val": 2} and summary["outcomes"]["answers differ"] == 1
    val = ShardDataset(tmp_path / "a" / "val")
    assert len(val) == summary["hands"]["val"] and not val[0].exact_3d and val[0].world_mm is not None
    for name in ("labels.jsonl", "summary.json", "train/train_00000.npz", "val/val_00000.npz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_tight_crops_are_padded(detector):
    teacher = Teacher(detector, TeacherConfig(pad=0.5))
    rgb = cv2.resize(load_rgb(ONE_HAND_PHOTOS[2]), (100, 80))
    padded = teacher.prepare(rgb, tight=True)
    assert padded.shape == (180, 200, 3)
    np.testing.assert_array_equal(padded[50:130, 50:150], rgb)
    assert teacher.prepare(rgb, tight=False) is rgb


def _round_blob_ratio(rgb: np.ndarray) -> float:
    """Width / height of the bright blob's extent in an (H, W, 3) image."""
    ys, xs = np.nonzero(rgb[..., 0] > 128)
    return (np.ptp(xs) + 1) / (np.ptp(ys) + 1)


def test_stretched_photos_come_back_at_their_aspect():
    from handpose.data.real.sets import restore_aspect
    from handpose.errors import InputError

    portrait = np.zeros((400, 300, 3), np.uint8)  # a 3:4 photo with a round disc in it
    cv2.circle(portrait, (150, 220), 90, (255, 255, 255), -1)
    squashed = cv2.resize(portrait, (200, 200), interpolation=cv2.INTER_AREA)  # as the exporter stored it
    assert _round_blob_ratio(squashed) == pytest.approx(4 / 3, rel=0.03)
    back = restore_aspect(squashed, 3 / 4)
    assert back.shape == (267, 200, 3) and _round_blob_ratio(back) == pytest.approx(1.0, rel=0.03)
    assert restore_aspect(squashed, 4 / 3).shape == (200, 267, 3)  # a landscape original grows in width
    with pytest.raises(InputError, match="aspect ratio"):
        restore_aspect(squashed, 0.0)


def test_asl_letters_3d_source_labels_3d_at_their_aspect(tmp_path):
    """``--source asl_letters_3d``: the squashed ASL photos come back at 3:4 with 3D labels; those
    numbered 20 and up are the check part, never the training one."""
    from apps.pseudo_label import main
    from handpose.data.real.sets import ASL_3D_CHECK_FROM, STRETCHED_ASPECT, asl_photo_name, iter_asl_letters_3d
    from handpose.errors import InputError

    root = tmp_path / "root"
    folder = root / "real_hands" / "stretched" / "asl_letters" / "images"
    folder.mkdir(parents=True)
    rgb = load_rgb(ONE_HAND_PHOTOS[4])
    height = int(round(rgb.shape[1] / STRETCHED_ASPECT))  # a 3:4 photo of the hand, squashed to a square
    portrait = cv2.resize(rgb, (rgb.shape[1], height)) if height > rgb.shape[0] else rgb[:height]
    squashed = cv2.resize(portrait, (portrait.shape[1],) * 2, interpolation=cv2.INTER_AREA)
    names = ("B3_jpg.rf.0.jpg", f"B{ASL_3D_CHECK_FROM}_jpg.rf.1.jpg")
    for name in names:
        cv2.imwrite(str(folder / name), squashed[:, :, ::-1])
    images = list(iter_asl_letters_3d(root))
    assert {i.key.rsplit("/", 1)[-1]: i.split for i, _ in images} == {names[0]: "train", names[1]: "val"}
    assert all(x.shape[0] == int(round(x.shape[1] / STRETCHED_ASPECT)) for _, x in images)
    assert asl_photo_name(names[1]) == ("B", ASL_3D_CHECK_FROM)
    with pytest.raises(InputError, match="<letter><number>"):
        asl_photo_name("B_jpg.jpg")

    main(["--root", str(root), "--out", str(tmp_path / "out"), "--source", "asl_letters_3d"])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["source"] == "asl_letters_3d" and summary["hands"] == {"train": 1, "val": 1}
    sample = ShardDataset(tmp_path / "out" / "train")[0]
    assert sample.world_mm is not None and not sample.exact_3d


def test_labelling_app_refuses_a_root_without_the_sets_before_labelling(tmp_path, capsys):
    from apps.pseudo_label import main

    assert main(["--root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "real_hands/" in err and "img/s" not in err  # no progress bar
    assert not list(tmp_path.iterdir())  # nothing written
