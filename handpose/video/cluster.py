"""The video job on a Ray cluster: whole videos spread over workers, the same files as one machine.

One Ray actor per worker (:class:`VideoWorker`) loads a pipeline once (model, ONNX session,
MediaPipe) and processes whole videos with :func:`handpose.video.job.process_many`, lent that
pipeline, so each video's outputs are exactly the files the single-process job writes - same
layout, same atomic writes, same checkpoints. The driver (:class:`RayVideoRunner`) hands a video
to each idle worker, shows one progress bar (frames done of all, videos done) and collects one
:class:`VideoOutcome` per video:

* a video that fails - the job reports a :class:`~handpose.video.job.VideoFailure`, raises, or its
  worker dies (killed, out of memory) - is tried once more with ``resume=True``, so it continues
  from its last checkpoint, and is reported if that fails too; the other videos go on;
* a dead worker is restarted by Ray (``max_restarts``) with a fresh pipeline;
* with ``options.resume`` a video whose complete outputs of the same settings are already there
  (:func:`finished_summary`) is not processed again, and an interrupted one resumes;
* leaving the runner (also on Ctrl-C) ends the workers; the local Ray it started is stopped.

Workers chdir to the driver's working directory and write the outputs themselves: on a cluster of
several machines, the videos, the output root and the model must be on a file system every node
mounts at the same path. Ray is an optional extra: ``pip install -e '.[cluster]'``; it is imported
only here, where used.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import socket
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import cv2
from tqdm import tqdm

from handpose.errors import HandposeError, InputError, MissingDependencyError
from handpose.video.job import (
    PosePipeline,
    VideoFailure,
    VideoJobOptions,
    VideoJobResult,
    check_batch,
    default_out_dir,
    process_many,
)

if TYPE_CHECKING:
    import numpy as np

    from handpose.infer.pipeline import PipelineConfig
    from handpose.types import Frame, FrameResult

#: tries per video: a failed one runs once more (resuming from its checkpoint) before it is reported
ATTEMPTS = 2
#: how often Ray restarts a worker that died before it is given up
WORKER_RESTARTS = 3
#: seconds between progress polls of the busy workers
POLL_S = 0.25
#: seconds to wait for a cluster's address to answer
CONNECT_TIMEOUT_S = 5.0
#: how long a restarted worker may take to answer again (it reloads nothing until its first video)
RESTART_WAIT_S = 60.0
#: what ``--ray ADDRESS`` accepts: ``auto`` (the cluster started on this machine), ``local`` (a new
#: local Ray), ``host:port`` (the head's GCS, as ``ray start --head`` prints), ``ray://host:port`` (Ray Client)
ADDRESS_FORMAT = re.compile(r"auto|local|ray://\S+|[\w.-]+:\d+")
#: Ray's switch for a single-machine instance: with it off, every Ray process listens on 127.0.0.1 only
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"

Status = Literal["done", "incomplete", "failed", "finished before"]


@dataclass(frozen=True)
class RayOptions:
    """Where the workers run and how many.

    Attributes:
        address: None: the Ray this process is already connected to (``ray.init()`` called
            before), else a new local Ray on this machine that listens on 127.0.0.1 only.
            ``"auto"``, ``"host:port"`` (the head's GCS address) or ``"ray://host:port"`` (Ray
            Client) join an existing cluster; ``"local"`` always starts a new local Ray.
        num_workers: actors, each holding a loaded pipeline; None: as many as the cluster's CPUs
            hold (at least 1).
        cpus_per_worker: Ray CPUs each worker reserves.
        progress: show the overall progress bar.
    """

    address: str | None = None
    num_workers: int | None = None
    cpus_per_worker: float = 1.0
    progress: bool = True

    def __post_init__(self) -> None:
        if self.address is not None and not ADDRESS_FORMAT.fullmatch(self.address):
            raise InputError(f"--ray ADDRESS must be 'auto', 'local', HOST:PORT or ray://HOST:PORT, got "
                             f"{self.address!r} (videos go before --ray, or after '--')")
        if self.num_workers is not None and self.num_workers < 1:
            raise InputError(f"num_workers >= 1 expected, got {self.num_workers}")
        if not self.cpus_per_worker > 0:
            raise InputError(f"cpus_per_worker > 0 expected, got {self.cpus_per_worker}")


@dataclass(frozen=True)
class VideoOutcome:
    """What became of one video of a Ray run (a row of :func:`summary_table`).

    Attributes:
        status: "done"; "incomplete" (outputs written, but far fewer frames could be read than the
            container announces); "failed" (after ``attempts`` tries; ``error`` says why);
            "finished before" (complete outputs of the same settings were there, with ``resume``).
        frames: frames processed (from ``summary.json`` when finished before; None when failed).
        attempts: tries it took (0 when finished before).
        seconds: wall time of the last try as the driver saw it, Ray's overhead included.
        job_seconds: the part of it the worker spent inside the video job.
        worker: ``host:pid`` of the worker of the last try.
        result: the job's result (None when failed or finished before).
        error: why it failed (one line).
    """

    video: Path
    status: Status
    frames: int | None
    attempts: int
    seconds: float = 0.0
    job_seconds: float = 0.0
    worker: str = ""
    result: VideoJobResult | None = None
    error: str = ""


class _LentPipeline:
    """A worker's pipeline lent to one job: counts the frames done; ``close`` leaves it open for the next video."""

    def __init__(self, pipeline: PosePipeline) -> None:
        self.pipeline = pipeline
        self.video = ""
        self.frames_done = 0

    def __call__(self, frame: Frame) -> FrameResult:
        result = self.pipeline(frame)
        self.frames_done = frame.index + 1
        return result

    def reset(self) -> None:
        self.pipeline.reset()

    def gesture_fields(self, joints_norm: np.ndarray) -> dict[str, object]:
        return self.pipeline.gesture_fields(joints_norm)

    def close(self) -> None:
        """Nothing: the worker closes its pipeline when it ends."""


class VideoWorker:
    """The body of one Ray actor: a loaded pipeline, whole videos one at a time.

    Run as a threaded actor (``max_concurrency=2``) so that :meth:`progress` answers while
    :meth:`process` works. After Ray restarts a dead worker, the first call loads the pipeline again.
    """

    def __init__(self, config: PipelineConfig, cwd: str) -> None:
        self.config = config
        self.cwd = cwd
        self.lent: _LentPipeline | None = None
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def _pipeline(self) -> _LentPipeline:
        if self.lent is None:
            if not os.path.isdir(self.cwd):
                raise InputError(f"worker {self.name} cannot see the driver's working directory {self.cwd}: run "
                                 "from a folder every node mounts at the same path")
            os.chdir(self.cwd)  # relative paths (videos, model, outputs) mean what they mean to the driver
            from handpose.infer.pipeline import HandPosePipeline

            self.lent = _LentPipeline(HandPosePipeline(self.config))
        return self.lent

    def start(self) -> str:
        """Load the pipeline; return "" or the one-line reason it cannot be loaded."""
        try:
            self._pipeline()
        except HandposeError as exc:
            return str(exc)
        return ""

    def process(
        self, video: str, out_root: str, options: VideoJobOptions
    ) -> tuple[VideoJobResult | VideoFailure, float, str]:
        """Run the job on one video into ``out_root/<name>/``; return its outcome, the seconds it took and this worker's name."""
        started = time.monotonic()
        lent = self._pipeline()
        lent.video, lent.frames_done = video, 0
        (outcome,) = process_many([Path(video)], lambda: lent, Path(out_root), options)
        return outcome, time.monotonic() - started, self.name

    def progress(self) -> tuple[str, int]:
        """The video being processed and the frames of it done (frame index + 1 of the latest)."""
        return ("", 0) if self.lent is None else (self.lent.video, self.lent.frames_done)

    def close(self) -> None:
        """Close the pipeline (MediaPipe, the ONNX session)."""
        if self.lent is not None:
            self.lent.pipeline.close()
            self.lent = None


def _import_ray(local: bool) -> ModuleType:
    if local:  # read when Ray is first imported: a local Ray then listens on 127.0.0.1 only
        os.environ.setdefault(LOOPBACK_ENV, "0")
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", "cluster", "Processing videos on Ray (--ray)") from None
    return ray


def _check_reachable(address: str) -> None:
    """Fail in seconds when nothing listens at a HOST:PORT or ray://HOST:PORT address (Ray itself retries for minutes)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto": Ray finds the cluster of this machine, or says at once that there is none
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise InputError(f"cannot reach a Ray cluster at {address}: {exc.strerror or exc} (is `ray start --head` "
                         "running there?)") from None


def _frame_total(video: Path, max_frames: int | None) -> int:
    """Frames the job will go through: what the container announces, at most ``max_frames`` (0 when unreadable)."""
    capture = cv2.VideoCapture(str(video))
    try:
        announced = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))) if capture.isOpened() else 0
    finally:
        capture.release()
    return announced if max_frames is None else min(announced, max_frames)


def finished_summary(video: Path, out_dir: Path, options: VideoJobOptions) -> dict[str, Any] | None:
    """``summary.json`` of a complete earlier run of ``video`` into ``out_dir`` with the same settings,
    or None when the video must be processed: no summary, an interrupted run (``.partial/``), other
    settings, smoothing or outputs, a video changed since, or another frame count.

    ``summary.json`` does not hold ``checkpoint_every``: a run with another value counts as finished.
    """
    path = out_dir / "summary.json"
    if (out_dir / ".partial").exists() or not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        newer = path.stat().st_mtime_ns >= video.stat().st_mtime_ns
    except (OSError, ValueError):
        return None
    outputs = {"jsonl", "csv", "summary"} | ({"coco"} if options.coco else set()) | ({"video"} if options.annotate else set())
    if not (isinstance(summary, dict) and newer and summary.get("video") == str(video)
            and summary.get("settings") == options.settings_id and summary.get("smoothing") == options.smoothing_label
            and set(summary.get("outputs", {})) == outputs):  # fmt: skip
        return None
    if not all((out_dir / name).is_file() for name in summary["outputs"].values()):
        return None
    done = summary.get("frames_processed", -1) + summary.get("frames_skipped", 0)
    return summary if done == _frame_total(video, options.max_frames) else None


@dataclass
class _Task:
    """One try of one video on one worker (index into the batch, 1 or 2, the actor handle, when it was sent)."""

    index: int
    attempt: int
    worker: Any  # a Ray actor handle
    started: float


class RayVideoRunner:
    """Ray connected (or a local one started), workers up with their pipelines loaded; :meth:`run`
    processes batches of videos. Use it as a context manager: leaving it ends the workers and
    disconnects from Ray (stopping the local Ray it started); on an exception (Ctrl-C) the workers
    are killed at once, and interrupted videos keep their checkpoints for ``resume``.
    """

    def __init__(self, config: PipelineConfig, ray_options: RayOptions = RayOptions()) -> None:
        self.config = config
        self.ray_options = ray_options
        self.workers: list[Any] = []
        self.deaths: dict[int, int] = {}
        self._ray: ModuleType | None = None
        self._connected_here = False

    def __enter__(self) -> RayVideoRunner:
        try:
            self._start()
        except BaseException:
            self._stop(kill=True)
            raise
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._stop(kill=exc is not None)

    def _start(self) -> None:
        opts = self.ray_options
        address = opts.address
        ray = self._ray = _import_ray(local=address in (None, "local"))
        if address is not None or not ray.is_initialized():
            wanted = None if opts.num_workers is None else math.ceil(opts.num_workers * opts.cpus_per_worker)
            try:
                if address is None or address == "local":
                    ray.init(address="local", num_cpus=max(os.cpu_count() or 1, wanted or 0), include_dashboard=False,
                             logging_level=logging.WARNING)  # fmt: skip
                else:
                    _check_reachable(address)
                    ray.init(address=address, logging_level=logging.WARNING)
            except ConnectionError as exc:
                raise InputError(f"cannot reach a Ray cluster at {address}: {_one_line(exc)}") from None
            self._connected_here = True
        cpus = ray.cluster_resources().get("CPU", 0.0)
        count = opts.num_workers or max(1, int(cpus // opts.cpus_per_worker))
        if count * opts.cpus_per_worker > cpus:
            raise InputError(f"{count} workers of {opts.cpus_per_worker:g} CPUs need {count * opts.cpus_per_worker:g} "
                             f"CPUs; the Ray cluster has {cpus:g} (use fewer --num-workers, a smaller "
                             "--cpus-per-worker, or more nodes)")  # fmt: skip
        actor = ray.remote(VideoWorker).options(num_cpus=opts.cpus_per_worker, max_restarts=WORKER_RESTARTS,
                                                max_concurrency=2)  # fmt: skip
        self.workers = [actor.remote(self.config, os.getcwd()) for _ in range(count)]
        self.deaths = {id(w): 0 for w in self.workers}
        errors = {e for e in ray.get([w.start.remote() for w in self.workers]) if e}
        if errors:
            raise InputError("; ".join(sorted(errors)))

    def _stop(self, kill: bool) -> None:
        ray = self._ray
        if ray is None or not ray.is_initialized():
            return
        if not kill and self.workers:
            ray.wait([w.close.remote() for w in self.workers], num_returns=len(self.workers), timeout=30)
        for worker in self.workers:
            ray.kill(worker)
        self.workers = []
        if self._connected_here:
            ray.shutdown()

    def run(self, videos: Sequence[Path], out_root: Path, options: VideoJobOptions) -> list[VideoOutcome]:
        """Process ``videos`` into ``out_root/<output name>/`` (as :func:`process_many`); one outcome per
        video, in ``videos``' order. Raises :class:`InputError` for a batch that cannot run at all."""
        ray = self._ray
        if ray is None:
            raise InputError("RayVideoRunner.run needs the runner entered: with RayVideoRunner(...) as runner")
        check_batch(videos, out_root)
        job = replace(options, progress=False)  # one bar here, none per worker
        outcomes: dict[int, VideoOutcome] = {}
        todo: deque[tuple[int, int]] = deque()
        for i, video in enumerate(videos):
            summary = finished_summary(video, default_out_dir(video, out_root), options) if options.resume else None
            if summary is None:
                todo.append((i, 1))
            else:
                outcomes[i] = VideoOutcome(video, "finished before", int(summary["frames_processed"]), 0)
        totals = {i: _frame_total(videos[i], options.max_frames) for i, _ in todo}
        done = dict.fromkeys(totals, 0)
        running: dict[Any, _Task] = {}
        polls: dict[Any, _Task] = {}
        idle = list(self.workers)
        with tqdm(total=sum(totals.values()), unit="frame", desc="videos", disable=not self.ray_options.progress) as bar:

            def show() -> None:
                bar.n = sum(done.values())
                bar.set_postfix_str(f"{len(outcomes)}/{len(videos)} videos done")

            show()
            while todo or running:
                if not idle and not running:  # every worker died more often than Ray restarts it
                    for i, attempt in todo:
                        outcomes[i] = VideoOutcome(videos[i], "failed", None, attempt - 1,
                                                   error=f"no worker left: all {len(self.workers)} died")  # fmt: skip
                    break
                while todo and idle:
                    i, attempt = todo.popleft()
                    worker = idle.pop()
                    tried = job if attempt == 1 else replace(job, resume=True)
                    running[worker.process.remote(str(videos[i]), str(out_root), tried)] = _Task(
                        i, attempt, worker, time.monotonic())
                ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                self._poll(running, polls, videos, done)
                for ref in ready:
                    task = running.pop(ref)
                    outcome, alive = self._collect(ray, ref, task, videos[task.index])
                    if alive:
                        idle.append(task.worker)
                    if outcome.status == "failed" and task.attempt < ATTEMPTS:
                        todo.append((task.index, task.attempt + 1))
                        done[task.index] = 0
                    else:
                        outcomes[task.index] = outcome
                        done[task.index] = totals[task.index]
                show()
        return [outcomes[i] for i in range(len(videos))]

    def _poll(self, running: dict[Any, _Task], polls: dict[Any, _Task], videos: Sequence[Path],
              done: dict[int, int]) -> None:  # fmt: skip
        """Frames done of each busy worker's video; one progress call in flight per busy worker."""
        ray = self._ray
        assert ray is not None
        if polls:
            ready, _ = ray.wait(list(polls), num_returns=len(polls), timeout=0)
            for ref in ready:
                task = polls.pop(ref)
                try:
                    video, frames = ray.get(ref)
                except ray.exceptions.RayError:  # the worker died; its task reports it
                    continue
                if video == str(videos[task.index]) and any(t is task for t in running.values()):
                    done[task.index] = frames
        polled = {id(t) for t in polls.values()}
        for task in running.values():
            if id(task) not in polled:
                polls[task.worker.progress.remote()] = task

    def _collect(self, ray: ModuleType, ref: Any, task: _Task, video: Path) -> tuple[VideoOutcome, bool]:
        """The outcome of a finished try, and whether its worker can take the next video."""
        seconds = time.monotonic() - task.started
        try:
            result, job_seconds, name = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            self.deaths[id(task.worker)] += 1
            alive = self.deaths[id(task.worker)] <= WORKER_RESTARTS and self._back_after_restart(ray, task.worker)
            return VideoOutcome(video, "failed", None, task.attempt, seconds,
                                error=f"its worker died: {_one_line(exc)}"), alive  # fmt: skip
        except ray.exceptions.RayError as exc:  # the job raised something other than a HandposeError
            return VideoOutcome(video, "failed", None, task.attempt, seconds, error=_one_line(exc)), True
        if isinstance(result, VideoFailure):
            return VideoOutcome(video, "failed", None, task.attempt, seconds, job_seconds, name, error=result.error), True
        status: Status = "incomplete" if result.incomplete else "done"
        return VideoOutcome(video, status, result.frames_processed, task.attempt, seconds, job_seconds, name,
                            result), True  # fmt: skip


    @staticmethod
    def _back_after_restart(ray: ModuleType, worker: Any) -> bool:
        """Wait until Ray has restarted a dead worker and it answers (a call that lands while it is still
        restarting fails with ActorUnavailableError, which would fail the video's second try too);
        False when it does not come back within :data:`RESTART_WAIT_S`."""
        deadline = time.monotonic() + RESTART_WAIT_S
        while time.monotonic() < deadline:
            try:
                ray.get(worker.progress.remote(), timeout=max(0.1, deadline - time.monotonic()))
                return True
            except ray.exceptions.ActorUnavailableError:
                time.sleep(POLL_S)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                return False
        return False


def _one_line(exc: BaseException) -> str:
    """The last non-empty line of an error's message (Ray's wrap the worker's traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def run_on_ray(
    videos: Sequence[Path],
    config: PipelineConfig,
    out_root: Path,
    options: VideoJobOptions,
    ray_options: RayOptions = RayOptions(),
) -> list[VideoOutcome]:
    """Process ``videos`` on Ray with workers holding ``config``'s pipeline (module docstring); the
    workers end with the call. The batch is checked (names, output root) before Ray starts."""
    check_batch(videos, out_root)
    with RayVideoRunner(config, ray_options) as runner:
        return runner.run(videos, out_root, options)


def summary_table(outcomes: Sequence[VideoOutcome]) -> str:
    """One row per video: status, frames, tries, seconds, worker; failures with their reason below."""
    rows = [("video", "status", "frames", "tries", "seconds", "worker")]
    for o in outcomes:
        rows.append((o.video.name, o.status, "-" if o.frames is None else str(o.frames), str(o.attempts),
                     f"{o.seconds:.1f}" if o.attempts else "-", o.worker or "-"))  # fmt: skip
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.extend(f"{o.video}: FAILED: {o.error}" for o in outcomes if o.status == "failed")
    return "\n".join(lines)
