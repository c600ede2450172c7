"""Recorded-video processing: a video in, per-frame hand poses and an annotated video out, resumable.

Outputs in ``out_dir`` (default ``outputs/<name>/``, the video's stem made safe by
:func:`output_name`); one run at a time per folder (:class:`handpose.io.run_lock.RunLock`):

* ``poses.jsonl`` - one line per decoded frame (:mod:`handpose.io.frame_record`)
* ``poses.csv`` - one row per hand per frame (:mod:`handpose.io.csv_writer`)
* ``annotated.mp4`` - the video with skeletons and handedness labels (mp4v)
* ``coco_wholebody.json`` - with ``coco=True`` (:mod:`handpose.io.coco_export`)
* ``summary.json`` - frame counts, skipped (corrupt) frames, hands found, mean stage latency

How it survives interruption: results are appended to ``.partial/raw.jsonl`` and every
``checkpoint_every`` frames the file is synced and ``.partial/progress.json`` records the next
frame and the file's length (written atomically). A later run with ``resume=True`` cuts the raw
file to that length and continues from that frame. The pipeline is reset at every checkpoint
boundary (its tracker and filters start afresh, as after a lost hand), so each segment of frames
gives the same result whether or not the run was interrupted before it. The final files are
built from the raw file only when every frame is done, each written to a temporary file and
renamed into place, then ``.partial/`` is removed: a reader never sees a half-written output.

Frames the decoder rejects are skipped, counted and listed in the summary; the annotated video
repeats the previous frame in their place so it keeps the source's timing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import cv2
import numpy as np
from tqdm import tqdm

from handpose.io.atomic import atomic_path, check_writable_folder, write_text_atomic
from handpose.capture.video_file import VideoFileSource
from handpose.errors import HandposeError, InputError
from handpose.io.coco_export import write_coco_wholebody
from handpose.io.csv_writer import write_csv
from handpose.io.frame_record import FrameRecord
from handpose.io.jsonl_writer import JsonlRecords, JsonlWriter
from handpose.io.run_lock import RunLock
from handpose.video.interrupts import FrameBoundaryInterrupts
from handpose.smooth.fixed_lag import DEFAULT_LAG_FRAMES, smooth_stream
from handpose.smooth.offline import OfflineSmoother
from handpose.types import Frame, FrameResult
from handpose.viz.draw import draw_hands, draw_label

PROGRESS_VERSION = 1
STAGES = ("detect", "crop", "model", "lift", "smooth")


class PosePipeline(Protocol):
    """What the job needs of :class:`handpose.infer.pipeline.HandPosePipeline`."""

    def __call__(self, frame: Frame) -> FrameResult: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...

    def gesture_fields(self, joints_norm: np.ndarray) -> dict[str, object]:
        """The gesture fields of a normalised pose (21, 3), as the pipeline sets them on a HandPose."""
        ...


@dataclass(frozen=True)
class VideoJobOptions:
    """Settings of one video job.

    Attributes:
        smoothing: "offline" smooths each hand track over the whole video before writing
            (zero lag); "fixed-lag" smooths it as the live demo would with ``lag_frames`` frames
            of look-ahead (:mod:`handpose.smooth.fixed_lag`); "none" writes the pipeline's output
            as it is (which may itself be filtered when the pipeline's live smoothing is on).
        lag_frames: the look-ahead of "fixed-lag" smoothing (frames).
        coco: also write ``coco_wholebody.json``.
        annotate: write ``annotated.mp4``.
        resume: continue an interrupted run in the same ``out_dir`` (same video and settings); with
            nothing to resume the run starts from the beginning.
        checkpoint_every: frames per checkpoint (and pipeline reset).
        max_frames: process only the first ``max_frames`` frames (None = all).
        progress: show tqdm progress bars.
        settings_id: a string naming the pipeline settings; a resume with other settings is refused.
    """

    smoothing: Literal["none", "offline", "fixed-lag"] = "none"
    lag_frames: int = DEFAULT_LAG_FRAMES
    coco: bool = False
    annotate: bool = True
    resume: bool = False
    checkpoint_every: int = 100
    max_frames: int | None = None
    progress: bool = True
    settings_id: str = ""

    def __post_init__(self) -> None:
        if self.smoothing not in ("none", "offline", "fixed-lag"):
            raise InputError(f"smoothing must be 'none', 'offline' or 'fixed-lag', got {self.smoothing!r}")
        if self.lag_frames < 0:
            raise InputError(f"lag_frames >= 0 expected, got {self.lag_frames}")
        if self.checkpoint_every < 1:
            raise InputError(f"checkpoint_every >= 1 expected, got {self.checkpoint_every}")
        if self.max_frames is not None and self.max_frames < 1:
            raise InputError(f"max_frames >= 1 or None expected, got {self.max_frames}")

    @property
    def smoothing_label(self) -> str:
        """The smoothing as the summary names it: "none", "offline" or "fixed-lag (N frames)"."""
        if self.smoothing != "fixed-lag":
            return self.smoothing
        return f"fixed-lag ({self.lag_frames} frame{'' if self.lag_frames == 1 else 's'})"


@dataclass(frozen=True)
class VideoJobResult:
    """What a finished job wrote and counted (also in ``summary.json``)."""

    video: Path
    out_dir: Path
    outputs: dict[str, Path]
    frames_processed: int
    skipped_frames: tuple[int, ...]
    frames_with_hands: int
    hands: int
    resumed_from: int
    mean_stage_ms: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    incomplete: bool = False  #: far fewer frames could be read than the container announces


def output_name(video: Path) -> str:
    """The name of a video's output folder: its stem with anything but letters, digits, ``_``, ``-``
    and ``.`` replaced by ``_`` and leading/trailing dots dropped (``...mp4`` has the stem ``..``),
    or ``video`` if nothing is left - a name that always stays inside the output root."""
    name = re.sub(r"[^\w.-]", "_", video.stem).strip(".")
    return name or "video"


def default_out_dir(video: Path, root: Path = Path("outputs")) -> Path:
    """``outputs/<output name>/`` (:func:`output_name`)."""
    return root / output_name(video)


class _Checkpoint:
    """``.partial/progress.json``: where to resume and what was counted before."""

    def __init__(self, work: Path, identity: dict[str, object]) -> None:
        self.path = work / "progress.json"
        self.identity = identity
        self.next_frame = 0
        self.jsonl_bytes = 0
        self.skipped: list[int] = []
        #: (first frame, how many) of each run of frames the recorder dropped (timestamp jumps)
        self.gaps: list[tuple[int, int]] = []
        self.stage_ms = dict.fromkeys(STAGES, 0.0)
        self.timed_frames = 0

    def load(self) -> bool:
        """Read a saved checkpoint of the same job; False when there is none."""
        if not self.path.exists():
            return False
        doc = json.loads(self.path.read_text(encoding="utf-8"))
        if doc.get("identity") != self.identity:
            raise InputError(
                f"cannot resume: {self.path} belongs to another video or other settings "
                f"(saved {doc.get('identity')}, now {self.identity}); run without --resume to start over"
            )
        self.next_frame, self.jsonl_bytes = int(doc["next_frame"]), int(doc["jsonl_bytes"])
        self.skipped, self.stage_ms = list(doc["skipped"]), dict(doc["stage_ms"])
        self.timed_frames = int(doc["timed_frames"])
        self.gaps = [(int(first), int(count)) for first, count in doc.get("gaps", [])]
        return True

    def save(self) -> None:
        doc = {"version": PROGRESS_VERSION, "identity": self.identity, "next_frame": self.next_frame,
               "jsonl_bytes": self.jsonl_bytes, "skipped": self.skipped, "stage_ms": self.stage_ms,
               "timed_frames": self.timed_frames, "gaps": self.gaps}  # fmt: skip
        write_text_atomic(self.path, json.dumps(doc) + "\n")


def _identity(video: Path, options: VideoJobOptions) -> dict[str, object]:
    stat = video.stat()
    return {"video": str(video.resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "settings": options.settings_id, "checkpoint_every": options.checkpoint_every,
            "max_frames": options.max_frames}  # fmt: skip


def process_video(
    video: str | Path,
    pipeline: PosePipeline | None = None,
    out_dir: str | Path | None = None,
    options: VideoJobOptions = VideoJobOptions(),
) -> VideoJobResult:
    """Run ``pipeline`` over every frame of ``video`` and write the outputs (module docstring).

    Without a ``pipeline`` one is built for the job - the default model, the default settings,
    live smoothing off (``options.smoothing`` decides the smoothing of the records) - and closed after it::

        >>> result = handpose.process_video("clip.mp4")       # outputs/clip/
        >>> result.outputs["jsonl"], result.frames_with_hands
    """
    video = Path(video)
    if not video.is_file():
        raise InputError(f"video file {video} does not exist")
    out = default_out_dir(video) if out_dir is None else Path(out_dir)
    if pipeline is None:
        from handpose.infer.pipeline import HandPosePipeline, PipelineConfig

        with HandPosePipeline(PipelineConfig(smoothing=False)) as own:
            return process_video(video, own, out, options)
    with RunLock(out):
        _remove_orphans(out)
        try:
            return _process_locked(video, pipeline, out, options)
        except OSError as exc:  # e.g. the disk filled up while frames were being processed
            raise InputError(f"cannot write in {out}: {exc.strerror or exc} (is the disk full?); the work up to the "
                             "last checkpoint is kept: run again with --resume") from None


#: every file a run can write into its output folder
OUTPUT_NAMES = frozenset({"poses.jsonl", "poses.csv", "summary.json", "coco_wholebody.json", "annotated.mp4"})
#: temporary files of interrupted atomic writes in an output folder (``handpose.io.atomic``, the annotated video)
ORPHAN_PATTERNS = (".*.tmp", ".annotated.*.mp4")


def _remove_orphans(out: Path) -> None:
    """Delete temporary files a killed run left behind (only while holding the folder's lock)."""
    for pattern in ORPHAN_PATTERNS:
        for orphan in out.glob(pattern):
            orphan.unlink(missing_ok=True)


def _process_locked(video: Path, pipeline: PosePipeline, out: Path, options: VideoJobOptions) -> VideoJobResult:
    work = out / ".partial"
    checkpoint = _Checkpoint(work, _identity(video, options))
    resumed = options.resume and checkpoint.load()
    start = checkpoint.next_frame
    # opened first: a video that cannot be read leaves nothing behind (and an old .partial/ intact)
    source = VideoFileSource(video, start=start, max_frames=_remaining(options.max_frames, start))
    if not resumed:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    every = options.checkpoint_every
    raw_path = work / "raw.jsonl"
    earlier_gaps = list(checkpoint.gaps)  # found before a resume; the source finds those after it
    with source:
        total = source.num_frames
        if options.max_frames is not None:
            total = options.max_frames if total is None else min(total, options.max_frames)
        with JsonlWriter(raw_path, resume_at=checkpoint.jsonl_bytes if resumed else None) as writer, tqdm(
            total=total, initial=start, unit="frame", desc=video.name, disable=not options.progress
        ) as bar, FrameBoundaryInterrupts() as interrupts:
            expected = start
            segment = start // every
            pipeline.reset()
            for frame in source:
                interrupts.check()
                if frame.index // every != segment:  # crossed a checkpoint boundary
                    segment = frame.index // every
                    boundary = segment * every
                    checkpoint.skipped.extend(range(expected, boundary))
                    expected = max(expected, boundary)
                    checkpoint.next_frame, checkpoint.jsonl_bytes = boundary, writer.flush()
                    checkpoint.gaps = earlier_gaps + [g for g in source.gaps if g[0] < boundary]
                    checkpoint.save()
                    pipeline.reset()
                checkpoint.skipped.extend(range(expected, frame.index))
                result = pipeline(frame)
                writer.write(FrameRecord(frame.index, frame.timestamp_s, result.hands))
                _add_timings(checkpoint, result)
                expected = frame.index + 1
                bar.update(frame.index + 1 - bar.n)
            trailing = source.skipped - sum(1 for i in checkpoint.skipped if i >= start)
            checkpoint.skipped.extend(range(expected, expected + max(0, trailing)))
            checkpoint.next_frame, checkpoint.jsonl_bytes = expected + max(0, trailing), writer.flush()
            checkpoint.gaps = earlier_gaps + list(source.gaps)
            checkpoint.save()
        fps, size = source.fps, source.size
        announced, reported_fps = source.num_frames, source.reported_fps
    # the finishing pass streams the records from disk: its memory does not grow with the video
    # (but for the offline smoother's track arrays and, with --coco, the COCO document)
    raw = JsonlRecords(raw_path)
    tally = _Tally.of(raw)
    warnings, incomplete = _plausibility(tally, checkpoint, announced, reported_fps, fps, options)
    records: Iterable[FrameRecord] = raw
    if options.smoothing == "offline":
        records = OfflineSmoother.fit(raw).apply(raw, relabel=pipeline.gesture_fields)
    elif options.smoothing == "fixed-lag":
        records = smooth_stream(raw, options.lag_frames, relabel=pipeline.gesture_fields)
    outputs = _write_outputs(video, out, records, tally, checkpoint, options, fps, size, start, warnings, incomplete)
    shutil.rmtree(work, ignore_errors=True)
    return outputs


#: fewer readable frames than this share of what the container announces: the video is incomplete
READABLE_SHARE = 0.5


@dataclass(frozen=True)
class _Tally:
    """What the summary and the plausibility checks need from a run's records, counted in one pass."""

    frames: int  # one record per decoded frame
    frames_with_hands: int
    hands: int
    first: tuple[int, float]  # (frame, timestamp_s) of the first record; (0, 0.0) when none
    last: tuple[int, float]

    @classmethod
    def of(cls, records: Iterable[FrameRecord]) -> _Tally:
        frames = with_hands = hands = 0
        first = last = (0, 0.0)
        for record in records:
            if not frames:
                first = (record.frame, record.timestamp_s)
            last = (record.frame, record.timestamp_s)
            frames += 1
            with_hands += bool(record.hands)
            hands += len(record.hands)
        return cls(frames, with_hands, hands, first, last)


def _plausibility(tally: _Tally, checkpoint: _Checkpoint, announced: int | None, reported_fps: float,
                  fps: float, options: VideoJobOptions) -> tuple[tuple[str, ...], bool]:
    """Warnings about a container that does not add up, and whether it is incomplete."""
    warnings = [f"the container's timestamps jump over {count} frame{'s' if count > 1 else ''} at frame {first} "
                "(dropped by the recorder): listed as skipped, the frames after keep their own index and time"
                for first, count in checkpoint.gaps]
    if reported_fps != fps:
        warnings.append(f"the container reports {reported_fps:g} frames/s; {fps:g} assumed (1-1000 expected)")
    decoded = tally.frames
    incomplete = options.max_frames is None and announced is not None and decoded < READABLE_SHARE * announced
    if incomplete:
        warnings.append(f"the container announces {announced} frames but only {decoded} could be decoded "
                        f"({len(checkpoint.skipped)} unreadable): the file looks truncated or damaged")
    if tally.frames >= 2:
        span = tally.last[1] - tally.first[1]
        expected = (tally.last[0] - tally.first[0]) / fps
        if span > 2.0 * expected + 1.0 or span < 0.5 * expected - 1.0:
            warnings.append(f"the frames' timestamps span {span:.1f} s where {tally.last[0] - tally.first[0]} "
                            f"frames at {fps:g} frames/s take {expected:.1f} s")
    return tuple(warnings), incomplete


def _remaining(max_frames: int | None, start: int) -> int | None:
    return None if max_frames is None else max(0, max_frames - start)


def _add_timings(checkpoint: _Checkpoint, result: FrameResult) -> None:
    if result.hands:
        timings = result.timings
        for stage in STAGES:
            checkpoint.stage_ms[stage] += getattr(timings, f"{stage}_ms")
        checkpoint.timed_frames += 1


def _write_outputs(
    video: Path,
    out: Path,
    records: Iterable[FrameRecord],
    tally: _Tally,
    checkpoint: _Checkpoint,
    options: VideoJobOptions,
    fps: float,
    size: tuple[int, int],
    resumed_from: int,
    warnings: tuple[str, ...] = (),
    incomplete: bool = False,
) -> VideoJobResult:
    # every output is written into a staging folder first and moved into place only when all of them
    # were written: a failure (a full disk) leaves the previous complete set and a resumable .partial/
    stage = out / ".partial" / "final"
    shutil.rmtree(stage, ignore_errors=True)
    names = {"jsonl": "poses.jsonl", "csv": "poses.csv", "summary": "summary.json"}
    if options.coco:
        names["coco"] = "coco_wholebody.json"
    if options.annotate:
        names["video"] = "annotated.mp4"
    staged = {key: stage / name for key, name in names.items()}
    outputs = {key: out / name for key, name in names.items()}
    try:
        stage.mkdir(parents=True)
        with atomic_path(staged["jsonl"]) as tmp, open(tmp, "w", encoding="utf-8") as file:
            for record in records:  # the one pass over the (smoothed) records: the rest read poses.jsonl back
                file.write(record.to_json() + "\n")
        final = JsonlRecords(staged["jsonl"])
        write_csv(staged["csv"], final)
        if options.coco:
            write_coco_wholebody(staged["coco"], final, video.stem, size)
        if options.annotate:
            write_annotated_video(video, final, staged["video"], fps, size,
                                  tally.last[0] + 1 if tally.frames else 0, options.progress)
        timed = max(1, checkpoint.timed_frames)
        result = VideoJobResult(
            video=video,
            out_dir=out,
            outputs=outputs,
            frames_processed=tally.frames,
            skipped_frames=tuple(checkpoint.skipped),
            frames_with_hands=tally.frames_with_hands,
            hands=tally.hands,
            resumed_from=resumed_from,
            mean_stage_ms={s: round(v / timed, 3) for s, v in checkpoint.stage_ms.items()},
            warnings=warnings,
            incomplete=incomplete,
        )
        summary = {
            "video": str(video), "fps": fps, "size": list(size), "frames_processed": result.frames_processed,
            "frames_skipped": len(result.skipped_frames), "skipped_frames": list(result.skipped_frames),
            "frames_with_hands": result.frames_with_hands, "hands": result.hands, "smoothing": options.smoothing_label,
            "settings": options.settings_id, "mean_stage_ms_per_frame_with_hands": result.mean_stage_ms,
            "outputs": {k: p.name for k, p in outputs.items()},
            "warnings": list(warnings), "incomplete": incomplete,
        }  # fmt: skip
        write_text_atomic(staged["summary"], json.dumps(summary, indent=2) + "\n")
    except OSError as exc:
        raise InputError(f"cannot write the outputs in {out}: {exc.strerror or exc}; the previous outputs are "
                         "untouched and the run can be resumed with --resume") from None
    for key in [k for k in staged if k != "summary"] + ["summary"]:  # the summary last: it marks a complete set
        os.replace(staged[key], outputs[key])
    for name in OUTPUT_NAMES - set(names.values()):  # an earlier run's output this one did not make
        (out / name).unlink(missing_ok=True)
    return result


def _annotated_frames(video: Path, records: Iterable[FrameRecord], frames: int) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 RGB annotated frames, one per source frame of the first ``frames``, drawn with
    ``records`` (in frame order, read alongside); a frame the decoder skipped repeats the previous
    one (the first decoded one when the video starts with it)."""
    pending = iter(records)
    record = next(pending, None)
    previous: np.ndarray | None = None
    with VideoFileSource(video, max_frames=frames) as source:
        expected = 0
        for frame in source:
            while record is not None and record.frame < frame.index:
                record = next(pending, None)
            image = frame.rgb  # owned by this frame: draw in place
            if record is not None and record.frame == frame.index:
                draw_hands(image, record.hands, in_place=True)
                n = len(record.hands)
                label = f"frame {frame.index}  {frame.timestamp_s:7.2f} s  {n} hand{'s' if n != 1 else ''}"
                draw_label(image, label, (6, image.shape[0] - 8), in_place=True)
            for _ in range(expected, frame.index):  # skipped frames: the previous picture (the first one at the start)
                yield image if previous is None else previous
            previous = image
            expected = frame.index + 1
            yield image


def write_annotated_video(
    video: Path, records: Iterable[FrameRecord], path: Path, fps: float, size: tuple[int, int], frames: int,
    progress: bool = True,
) -> int:
    """Write the annotated copy of the first ``frames`` frames of ``video`` (mp4v) atomically, drawn
    with ``records`` (in frame order); return its frame count."""
    count = 0
    with atomic_path(path, suffix=path.suffix) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not writer.isOpened():
            raise InputError(f"OpenCV cannot write an mp4v video to {tmp}")
        try:
            for image in tqdm(_annotated_frames(video, records, frames), total=frames, unit="frame",
                              desc="annotated.mp4", disable=not progress):  # fmt: skip
                writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                count += 1
        finally:
            writer.release()
        written = _frame_count(tmp)
        if written != count:  # OpenCV's writer does not report write errors (a full disk): count what landed
            raise InputError(f"writing {path.name} failed: {written} of {count} frames are in the file "
                             "(is the disk full?)")
    return count


def _frame_count(path: Path) -> int:
    """Frames a video file's container says it holds (0 when it cannot be opened)."""
    capture = cv2.VideoCapture(str(path))
    try:
        return max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))) if capture.isOpened() else 0
    finally:
        capture.release()


@dataclass(frozen=True)
class VideoFailure:
    """A video of a batch that could not be processed, and why (one line)."""

    video: Path
    error: str


def check_batch(videos: Sequence[Path], out_root: Path) -> None:
    """Raise :class:`InputError` unless the videos have distinct output names and ``out_root`` is writable."""
    names = [output_name(v) for v in videos]
    clashes = sorted({s for s in names if names.count(s) > 1})
    if clashes:
        raise InputError(f"videos with distinct names expected (outputs go to <out>/<name>/); repeated: {clashes}")
    check_writable_folder(out_root)


def process_many(
    videos: Sequence[Path],
    make_pipeline: Callable[[], PosePipeline],
    out_root: Path,
    options: VideoJobOptions,
) -> list[VideoJobResult | VideoFailure]:
    """Process several videos one after another into ``out_root/<output name>/`` with one pipeline.
    A video that fails (unreadable, unwritable outputs) is reported as a :class:`VideoFailure` and
    the others still run; the list follows ``videos``' order."""
    check_batch(videos, out_root)  # before the model loads: a bad batch fails in a second, not after minutes
    pipeline = make_pipeline()
    results: list[VideoJobResult | VideoFailure] = []
    try:
        for video in videos:
            started = time.monotonic()
            try:
                result = process_video(video, pipeline, default_out_dir(video, out_root), options)
            except HandposeError as exc:
                results.append(VideoFailure(video, str(exc)))
                pipeline.reset()  # the next video starts from a clean tracker, whatever failed
                with contextlib.suppress(OSError):  # a folder the failed run made and left empty
                    default_out_dir(video, out_root).rmdir()
                continue
            results.append(result)
            if options.progress:
                print(f"{video.name}: done in {time.monotonic() - started:.1f} s -> {result.out_dir}")
    finally:
        pipeline.close()
    return results
