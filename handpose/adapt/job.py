"""One adaptation run: footage in, an adapted checkpoint + its report + a manifest entry out.

Outputs, for ``--out DIR/NAME.pt``::

    DIR/NAME.pt            the adapted checkpoint (``meta``: ``hand_size_mm``, ``adaptation``)
    DIR/NAME.report.json   the before/after report (:mod:`handpose.adapt.report`)
    DIR/NAME.report.png    the same as a plot
    DIR/MANIFEST.json      an entry for NAME.pt: sha256, the footage's hashes (not its frames), the
                           settings, the report's headline numbers

The work happens in ``DIR/NAME.adapt/`` (one run at a time: :class:`handpose.io.run_lock.RunLock`):
``plan.json`` (what the run is: the footage's hashes, the settings, the base model, the planned
steps), ``labels/`` (the labelled frames: ``adapt/`` and ``check/`` shards with ``hands.json``),
and the trainer's ``train_state.pt`` / ``log.jsonl`` / ``model.pt``. An interrupted run (Ctrl-C,
SIGTERM) keeps it; ``resume=True`` continues from it when the footage and settings are the same
(refused otherwise, so two runs never mix), and a run without ``resume`` starts it afresh. It is
removed when the outputs are written.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handpose.adapt.blend import blend_towards_base
from handpose.adapt.consistency import ConsistencyConfig, consistent
from handpose.adapt.finetune import AdaptConfig, plan_steps, render_pool, seconds_per_step, train_config, training_data
from handpose.adapt.footage import LabelledFrame, label_footage
from handpose.adapt.hand_size import HandSize, footage_hand_size
from handpose.adapt.real_check import without_footage
from handpose.adapt.report import AdaptReport, check_numbers
from handpose.adapt.split import split_by_time
from handpose.data.real.pseudo_label import Teacher, TeacherConfig, TeacherLabel
from handpose.data.shards import ShardDataset, write_shards
from handpose.errors import InputError
from handpose.eval.real_eval import evaluate_real
from handpose.geometry.camera import CameraIntrinsics
from handpose.io.atomic import write_text_atomic
from handpose.io.run_lock import LOCK_NAME, RunLock
from handpose.model.checkpoint import DEFAULT_CHECKPOINT, load_model, read_checkpoint, save_model
from handpose.model.manifest import record, sha256_of
from handpose.video.interrupts import FrameBoundaryInterrupts, Terminated

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdaptRequest:
    """What to adapt, and where to.

    Attributes:
        inputs: the user's footage (video files, image folders, RGB-D folders), in time order.
        out: the adapted checkpoint's path.
        config: the recipe's settings.
        base: the checkpoint adapted (None = the default model).
        replay: data specs of real photo shards replayed with the renders (e.g. ``shards:data/real/train``).
        real_check: a data spec scored before and after (e.g. ``shards:data/real/val``), or None;
            hands cut from the inputs' own files are left out of it (:mod:`handpose.adapt.real_check`).
        calibration: camera intrinsics file, for depth frames whose source does not know its own.
        hand_size_mm: the user's middle MCP->PIP length when known (overrides the depth estimate).
        resume: continue an interrupted run of the same request.
        progress: progress bars.
    """

    inputs: tuple[str, ...]
    out: Path
    config: AdaptConfig = AdaptConfig()
    base: Path | None = None
    replay: tuple[str, ...] = ()
    real_check: str | None = None
    calibration: Path | None = None
    hand_size_mm: float | None = None
    resume: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.out.suffix != ".pt":
            raise InputError(f"--out: a checkpoint path ending in .pt expected, got {self.out}")
        if self.hand_size_mm is not None and not 10.0 <= self.hand_size_mm <= 100.0:
            raise InputError(f"hand size (middle MCP->PIP) in 10..100 mm expected, got {self.hand_size_mm}")

    @property
    def work(self) -> Path:
        return self.out.with_suffix(".adapt")

    @property
    def report_json(self) -> Path:
        return self.out.with_suffix(".report.json")

    @property
    def report_png(self) -> Path:
        return self.out.with_suffix(".report.png")


def run_adaptation(request: AdaptRequest) -> AdaptReport:
    """Run ``request`` (see the module docstring); the report of the finished run.
    KeyboardInterrupt (Ctrl-C, SIGTERM) leaves the work folder to resume from."""
    from handpose.data.datasets import open_dataset
    from handpose.train.trainer import Trainer

    started = time.perf_counter()
    base_path = request.base or DEFAULT_CHECKPOINT
    base = load_model(base_path)
    real_parts = [open_dataset(spec, "train", base.config.input_size) for spec in request.replay]
    real_check, left_out = None, 0
    if request.real_check is not None:
        real_check, left_out = without_footage(request.real_check, open_dataset(
            request.real_check, "test", base.config.input_size), request.inputs)
    calibration = CameraIntrinsics.load(request.calibration) if request.calibration is not None else None
    with RunLock(request.work):
        plan = _plan(request, base_path)
        labels = request.work / "labels"
        if not (labels / "hands.json").is_file():
            _label(request, base.config.input_size, calibration, labels)
        adapt, check, hand_size, footage = _read_labels(labels, request.hand_size_mm)
        t_label = time.perf_counter() - started
        renders = render_pool(request.config, base.config.input_size)
        data = training_data(request.config, [h.sample for h in adapt], renders, real_parts)
        if "steps" not in plan:
            plan["sec_per_step"] = round(seconds_per_step(base, data, request.config), 4)
            plan["steps"] = plan_steps(request.config, plan["sec_per_step"])
            write_text_atomic(request.work / "plan.json", json.dumps(plan, indent=1) + "\n")
        model = load_model(base_path)
        trainer = Trainer(model, train_config(request.config, plan["steps"]), data, request.work,
                          progress=request.progress, deadline=time.monotonic() + 60.0 * request.config.minutes)
        trainer.resume()
        t0 = time.perf_counter()
        trainer.run()
        if trainer.step < plan["steps"] and not trainer.out_of_time:
            raise Terminated if trainer.terminated else KeyboardInterrupt
        t_train = time.perf_counter() - t0
        adapted = blend_towards_base(load_model(request.work / "model.pt"), base, request.config.blend)
        before, after = check_numbers(base, check), check_numbers(adapted, check)
        real_before = real_after = None
        if real_check is not None:
            real_before = evaluate_real(base, real_check, request.real_check or "")
            real_after = evaluate_real(adapted, real_check, request.real_check or "")
        summary: dict[str, object] = {
            "inputs": list(footage["inputs"]), "footage_sha256": list(footage["hashes"]),
            "frames": list(footage["frames"]), "teacher_outcomes": footage["outcomes"],
            "temporally_refused": footage["temporally_refused"],
            "hands_adapt": len(adapt), "hands_check": len(check), "first_check_frame": footage["first_check_frame"],
            "hand_size": hand_size.to_json(), "base": str(base_path), "base_sha256": plan["base_sha256"],
            "settings": request.config.to_dict(), "replay": list(request.replay),
            "real_check_own_hands_left_out": left_out, "steps": plan["steps"],
            "steps_done": trainer.step, "sec_per_step_planned": plan["sec_per_step"],
            "wall_s": {"labelling": round(t_label, 1), "training": round(t_train, 1),
                       "total": round(time.perf_counter() - started, 1)},
        }
        report = AdaptReport(before, after, real_before, real_after, summary)
        meta = {**read_checkpoint(request.work / "model.pt")["meta"], "hand_size_mm": hand_size.mm,
                "adaptation": report.to_json()}
        save_model(adapted, request.out, meta=meta)
        report.summary["wall_s"]["total"] = round(time.perf_counter() - started, 1)  # type: ignore[index]
        report.write(request.report_json, request.report_png)
        record(request.out, {"kind": "personal adaptation (handpose-adapt)", "base": str(base_path),
                             "base_sha256": plan["base_sha256"], "footage": [
                                 {"input": i, "sha256": h} for i, h in zip(footage["inputs"], footage["hashes"])],
                             "hand_size": hand_size.to_json(), "settings": request.config.to_dict(),
                             "steps": plan["steps"], "check": report.to_json()["check"],
                             "report": request.report_json.name})
        _empty(request.work)
    try:
        request.work.rmdir()
    except OSError:  # another run has taken the folder since
        pass
    return report


def _empty(work: Path) -> None:
    """Remove everything in ``work`` but the lock (held by this run)."""
    for child in work.iterdir():
        if child.name != LOCK_NAME:
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def _plan(request: AdaptRequest, base_path: Path) -> dict:
    """The work folder's plan: the existing one when resuming the same request, else a new one
    (the folder emptied first). Refuses to resume another request's work."""
    from handpose.adapt.footage import footage_hash

    wanted = {"footage_sha256": [footage_hash(s) for s in request.inputs], "base_sha256": sha256_of(base_path),
              "settings": request.config.to_dict(), "replay": list(request.replay),
              "hand_size_mm": request.hand_size_mm}
    path = request.work / "plan.json"
    if request.resume and path.is_file():
        plan = json.loads(path.read_text())
        differ = sorted(k for k, v in wanted.items() if plan.get(k) != v)
        if differ:
            raise InputError(f"{request.work} holds an adaptation of other footage or settings ({', '.join(differ)} "
                             "differ); run without --resume to start afresh, or choose another --out")
        return plan
    if request.resume:
        log.info("nothing to resume in %s; starting fresh", request.work)
    _empty(request.work)
    write_text_atomic(path, json.dumps(wanted, indent=1) + "\n")
    return wanted


def _label(request: AdaptRequest, crop_size: int, calibration: CameraIntrinsics | None, labels: Path) -> None:
    """Label the footage, refuse what the temporal check refuses, split by time, and store it in ``labels``."""
    from handpose.detect.detector import HandDetector

    config = TeacherConfig()
    with HandDetector(mode="image", num_hands=config.num_hands, min_confidence=0.5) as detector, \
            FrameBoundaryInterrupts() as interrupts:
        footage = label_footage(request.inputs, Teacher(detector, config), crop_size, calibration,
                                between_frames=interrupts.check, progress=request.progress)
    flags = consistent(footage.hands, ConsistencyConfig())
    kept = [h for h, ok in zip(footage.hands, flags) if ok]
    split = split_by_time(kept, footage.frames, request.config.check_fraction)
    shutil.rmtree(labels, ignore_errors=True)
    for part, hands in (("adapt", split.adapt), ("check", split.check)):
        write_shards(labels / part, [h.sample for h in hands], per_shard=1024, prefix=part)
    meta = {"inputs": list(footage.inputs), "hashes": list(footage.hashes), "frames": list(footage.frames),
            "outcomes": footage.outcomes, "temporally_refused": len(flags) - len(kept),
            "first_check_frame": list(split.first_check_frame),
            "hands": {part: [_hand_json(h) for h in hands] for part, hands in (("adapt", split.adapt),
                                                                               ("check", split.check))}}
    write_text_atomic(labels / "hands.json", json.dumps(meta) + "\n")  # last: the labels are complete


def _hand_json(h: LabelledFrame) -> dict[str, object]:
    return {"source": h.source, "frame": h.frame, "time_s": h.time_s, "handedness": h.handedness,
            "keypoints_px": h.label.keypoints_px.tolist(), "world_mm": h.label.world_mm.tolist(),
            "score": h.label.score, "disagreement": h.label.disagreement, "hand_size_mm": h.hand_size_mm}


def _read_labels(labels: Path, given_mm: float | None) -> tuple[list[LabelledFrame], list[LabelledFrame], HandSize,
                                                                 dict]:
    """The stored adapt and check hands, the hand size, and the footage's description."""
    meta = json.loads((labels / "hands.json").read_text())
    parts = []
    for part in ("adapt", "check"):
        samples = ShardDataset(labels / part)
        parts.append([LabelledFrame(h["source"], h["frame"], h["time_s"], h["handedness"],
                                    TeacherLabel(np.array(h["keypoints_px"]), np.array(h["world_mm"]), h["handedness"],
                                                 h["score"], h["disagreement"]), samples[i], h["hand_size_mm"])
                      for i, h in enumerate(meta["hands"][part])])
    size = footage_hand_size([h.hand_size_mm for h in parts[0] + parts[1]], given_mm)
    return parts[0], parts[1], size, meta

