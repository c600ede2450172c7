"""The training loop: staged or joint schedule, checkpoints with resume, DistributedDataParallel.

Schedules (docs/DESIGN.md §1):
* "staged": the pose VAE on pose data, then the image VAE + translator + heads with the pose VAE
  frozen, then (optional) joint fine-tuning of everything.
* "joint": everything from the start, on the image data.

Reproducibility and resume: the batch of global step k is drawn from ``default_rng([seed, k])``
(its augmentation, when on, from ``default_rng([seed, k, rank])``) and the torch generator is
reseeded from ``(seed, k)`` before step k, so a run that is interrupted and resumed from a
checkpoint makes exactly the same updates as one that is not. Checkpoints (``train_state.pt``:
model, optimiser, step) are written atomically every ``checkpoint_every`` steps, at each stage
end and on Ctrl-C/SIGTERM.

Multi-process: under ``torchrun`` (``WORLD_SIZE`` > 1) each process takes every world-th sample
of each batch, gradients are averaged by DistributedDataParallel (gloo on the CPU), and rank 0
writes checkpoints, logs and evaluations.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from handpose.data.augment import AugmentConfig, augment
from handpose.data.batch import HandBatch, collate
from handpose.data.sample import HandSample
from handpose.errors import CheckpointError, InputError
from handpose.model.checkpoint import atomic_torch_save, load_weights, save_model
from handpose.model.hand_model import HandModel
from handpose.train.losses import LossTerms, LossWeights, Stage, compute_losses

log = logging.getLogger(__name__)

Schedule = Literal["staged", "joint"]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of a training run (stored in its checkpoints).

    Attributes:
        schedule: "staged" or "joint".
        pose_steps: steps of the pose-VAE stage (staged only).
        image_steps: steps of the image stage (staged) or of the whole joint run.
        finetune_steps: steps of joint fine-tuning after the image stage (staged only; 0 = none).
        batch_size: image batch size (global, over all processes).
        pose_batch_size: pose-only batch size of the pose stage.
        lr: peak learning rate (AdamW), linear warm-up then cosine decay within each stage.
        weight_decay: AdamW weight decay.
        checkpoint_every: steps between checkpoints.
        eval_every: steps between evaluations (0 = only at the end).
        seed: seed of the batch draws and of the sampling noise.
        num_workers: DataLoader worker processes that collate batches.
        losses: loss weights.
        augment: how image samples are re-viewed each time they are drawn
            (:mod:`handpose.data.augment`); None = as stored.
        train_only: parameter-name prefixes (e.g. ``visibility``):
            when given, only those parameters train, in every stage, and the rest of the model
            stays in eval mode (its batch-norm statistics unchanged) - a head trained on a finished
            model. Empty = what each stage trains.
        frozen_norm: batch-norm layers stay in eval mode (their running statistics unchanged; their
            scale and shift still train where the rest of their module does): fine-tuning on a
            few frames whose batches do not look like the data the statistics were taken on.
    """

    schedule: Schedule = "staged"
    pose_steps: int = 2000
    image_steps: int = 10000
    finetune_steps: int = 0
    batch_size: int = 64
    pose_batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    checkpoint_every: int = 250
    eval_every: int = 1000
    seed: int = 0
    num_workers: int = 0
    losses: LossWeights = field(default_factory=LossWeights)
    augment: AugmentConfig | None = None
    train_only: tuple[str, ...] = ()
    frozen_norm: bool = False

    def __post_init__(self) -> None:
        if self.schedule not in ("staged", "joint"):
            raise InputError(f"schedule must be 'staged' or 'joint', got {self.schedule!r}")
        if min(self.pose_steps, self.image_steps, self.finetune_steps) < 0 or self.batch_size < 1:
            raise InputError(f"non-negative step counts and a positive batch size expected, got {self}")

    def stages(self) -> list[tuple[Stage, int]]:
        """(stage, steps) in order, stages with 0 steps left out."""
        plan: list[tuple[Stage, int]] = (
            [("pose", self.pose_steps), ("image", self.image_steps), ("joint", self.finetune_steps)]
            if self.schedule == "staged" else [("joint", self.image_steps)]
        )
        return [(s, n) for s, n in plan if n > 0]

    @property
    def total_steps(self) -> int:
        return sum(n for _, n in self.stages())

    def stage_at(self, step: int) -> tuple[Stage, int, int]:
        """(stage, first global step of the stage, its length) for global ``step``."""
        start = 0
        for stage, n in self.stages():
            if step < start + n:
                return stage, start, n
            start += n
        raise InputError(f"step {step} is past the end of training ({self.total_steps} steps)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        values = dict(values)
        values["losses"] = LossWeights(**values.get("losses", {}))
        if values.get("augment") is not None:
            augment = dict(values["augment"])
            values["augment"] = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in augment.items()})
        values["train_only"] = tuple(values.get("train_only", ()))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


class _StepBatches(torch.utils.data.Dataset[HandBatch]):
    """Item k = this process's share of the batch of global step ``first + k``, augmented when
    ``augment`` is given."""

    def __init__(self, data: Sequence[HandSample], batch_size: int, seed: int, first: int, count: int,
                 rank: int, world: int, augment: AugmentConfig | None = None) -> None:
        self.data, self.batch_size, self.seed = data, batch_size, seed
        self.first, self.count, self.rank, self.world = first, count, rank, world
        self.augment = augment

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, k: int) -> HandBatch:
        rng = np.random.default_rng([self.seed, self.first + k])
        idx = rng.integers(0, len(self.data), self.batch_size)[self.rank :: self.world]
        samples = [self.data[int(i)] for i in idx]
        if self.augment is not None:
            aug_rng = np.random.default_rng([self.seed, self.first + k, self.rank])
            samples = [augment(s, aug_rng, self.augment) for s in samples]
        return collate(samples)


class _LossModule(nn.Module):
    """Wraps the model so that DistributedDataParallel sees the loss computation as its forward."""

    def __init__(self, model: HandModel, weights: LossWeights) -> None:
        super().__init__()
        self.model, self.weights = model, weights

    def forward(self, batch: HandBatch, stage: Stage, step: int) -> tuple[torch.Tensor, ...]:
        terms = compute_losses(self.model, batch, stage, step, self.weights)
        return tuple(getattr(terms, f.name) for f in fields(terms))


def _trainable(model: HandModel, stage: Stage, only: tuple[str, ...] = ()) -> list[nn.Parameter]:
    """Freeze what the stage does not train (or all but the ``only`` prefixes); return the parameters it does."""
    if only:
        for name, p in model.named_parameters():
            p.requires_grad_(name.startswith(only))
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise InputError(f"train_only {only} names no parameter of the model")
        return params
    train_pose = stage in ("pose", "joint")
    train_image = stage in ("image", "joint")
    for p in model.pose_vae.parameters():
        p.requires_grad_(train_pose)
    for p in list(model.image_vae.parameters()) + list(model.alignment.parameters()):
        p.requires_grad_(train_image)
    return [p for p in model.parameters() if p.requires_grad]


def _train_mode(model: HandModel, only: tuple[str, ...]) -> None:
    """Training mode for what trains: the whole model, or with ``only`` just the modules named."""
    if not only:
        model.train()
        return
    model.eval()
    for name, module in model.named_modules():
        if name.startswith(only):
            module.train()


def _lr_factor(step_in_stage: int, stage_len: int) -> float:
    warm = max(1, min(200, stage_len // 10))
    if step_in_stage < warm:
        return (step_in_stage + 1) / warm
    progress = (step_in_stage - warm) / max(1, stage_len - warm)
    return float(0.05 + 0.95 * 0.5 * (1.0 + np.cos(np.pi * progress)))


@dataclass
class Trainer:
    """Runs :class:`TrainConfig` on ``model`` and writes into ``out_dir``.

    ``image_data``: labelled samples with crops; ``pose_data``: samples for the pose stage (may
    be pose-only; defaults to ``image_data``); ``evaluate_fn(model, step)`` returns numbers to log.
    """

    model: HandModel
    config: TrainConfig
    image_data: Sequence[HandSample]
    out_dir: Path
    pose_data: Sequence[HandSample] | None = None
    evaluate_fn: Callable[[HandModel, int], dict[str, float]] | None = None
    progress: bool = True
    step: int = 0
    #: ``time.monotonic()`` at which training stops after the current step and ends as finished
    #: (``model.pt`` written, :attr:`out_of_time` set): a time budget that holds on a busy machine
    deadline: float | None = None
    _stop: bool = False
    #: the run was stopped by SIGTERM (rather than Ctrl-C)
    terminated: bool = False
    #: the run ended at :attr:`deadline`, before its last step
    out_of_time: bool = False

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        self.rank = dist.get_rank() if dist.is_initialized() else 0
        self.world = dist.get_world_size() if dist.is_initialized() else 1
        if self.config.batch_size % self.world:
            raise InputError(f"batch_size {self.config.batch_size} must divide by the {self.world} processes")
        self._opt_state: dict[str, Any] | None = None

    @property
    def state_path(self) -> Path:
        return self.out_dir / "train_state.pt"

    def resume(self) -> bool:
        """Load ``train_state.pt`` if it exists; True when a run was resumed."""
        if not self.state_path.is_file():
            return False
        try:
            state = torch.load(self.state_path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise CheckpointError(f"{self.state_path} is not a readable training state: {exc}") from exc
        if state.get("model_config") != self.model.config.to_dict():
            raise CheckpointError(f"{self.state_path} was written for model config {state.get('model_config')}, "
                                  f"not {self.model.config.to_dict()}")
        load_weights(self.model, state["model"], str(self.state_path))
        self.step = int(state["step"])
        self._opt_state = state["optimizer"]
        log.info("resumed from %s at step %d", self.state_path, self.step)
        return True

    def _save_state(self, optimizer: torch.optim.Optimizer) -> None:
        if self.rank != 0:
            return
        atomic_torch_save({
            "model_config": self.model.config.to_dict(),
            "train_config": self.config.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": self.step,
        }, self.state_path)

    def _batches(self, stage: Stage, start: int, end: int) -> Iterator[HandBatch]:
        pose_only = stage == "pose"
        data = (self.pose_data or self.image_data) if pose_only else self.image_data
        bs = self.config.pose_batch_size if pose_only else self.config.batch_size
        ds = _StepBatches(data, bs, self.config.seed, start, end - start, self.rank, self.world,
                          None if pose_only else self.config.augment)
        workers = self.config.num_workers
        loader = torch.utils.data.DataLoader(ds, batch_size=None, shuffle=False, num_workers=workers,
                                             persistent_workers=False, prefetch_factor=4 if workers else None)
        return iter(loader)

    def _handle_signal(self, signum: int, frame: object) -> None:
        self._stop = self.terminated = True

    def run(self) -> dict[str, float]:
        """Train from ``self.step`` to the end; returns the last logged numbers."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        old = signal.signal(signal.SIGTERM, self._handle_signal) if self.rank == 0 else None
        last: dict[str, float] = {}
        try:
            while self.step < self.config.total_steps and not (self._stop or self.out_of_time):
                last = self._run_stage()
        except KeyboardInterrupt:
            self._stop = True
        finally:
            if old is not None:
                signal.signal(signal.SIGTERM, old)
        if self._stop:
            log.warning("interrupted at step %d; resume with --resume", self.step)
        elif self.rank == 0:
            if self.out_of_time:
                log.warning("time budget spent at step %d of %d", self.step, self.config.total_steps)
            save_model(self.model, self.out_dir / "model.pt",
                       meta={"train_config": self.config.to_dict(), "steps": self.step})
        return last

    def _modes(self, stage: Stage) -> None:
        """Train/eval mode of each part for ``stage`` (a frozen pose VAE stays in eval mode)."""
        _train_mode(self.model, self.config.train_only)
        if stage == "image" and not self.config.train_only:
            self.model.pose_vae.eval()
        if self.config.frozen_norm:
            for module in self.model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()

    def _run_stage(self) -> dict[str, float]:
        cfg = self.config
        stage, start, length = cfg.stage_at(self.step)
        end = start + length
        params = _trainable(self.model, stage, cfg.train_only)
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if self._opt_state is not None:
            try:
                optimizer.load_state_dict(self._opt_state)
            except ValueError:
                log.info("optimiser state belongs to another stage; starting it fresh")
            self._opt_state = None
        loss_module: nn.Module = _LossModule(self.model, cfg.losses)
        if self.world > 1:
            loss_module = nn.parallel.DistributedDataParallel(loss_module, find_unused_parameters=True)
        self._modes(stage)
        bar = None
        if self.progress and self.rank == 0:
            from tqdm import tqdm

            bar = tqdm(total=length, initial=self.step - start, desc=f"stage {stage}", unit="step", dynamic_ncols=True)
        last: dict[str, float] = {}
        t0 = time.perf_counter()
        for batch in self._batches(stage, self.step, end):
            if self._stop:
                break
            torch.manual_seed(cfg.seed * 1_000_003 + self.step)
            for g in optimizer.param_groups:
                g["lr"] = cfg.lr * _lr_factor(self.step - start, length)
            out = loss_module(batch, stage, self.step)
            terms = LossTerms(*out)
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            optimizer.step()
            self.step += 1
            loss = float(terms.total.detach())
            if not np.isfinite(loss):
                raise FloatingPointError(f"loss became {loss} at step {self.step} (stage {stage})")
            if bar is not None:
                bar.update(1)
                if self.step % 10 == 0:
                    bar.set_postfix(loss=f"{loss:.3f}")
            if self.step % cfg.checkpoint_every == 0 or self.step == end:
                self._save_state(optimizer)
            if self.step % 50 == 0 or self.step == end:
                last = {"step": self.step, "stage_index": ["pose", "image", "joint"].index(stage),
                        "lr": optimizer.param_groups[0]["lr"], "sec": time.perf_counter() - t0, **terms.floats()}
                if self.evaluate_fn is not None and self.rank == 0 and (
                    (cfg.eval_every and self.step % cfg.eval_every == 0) or self.step == cfg.total_steps
                ):
                    last.update(self.evaluate_fn(self.model, self.step))
                    self._modes(stage)
                self._log(last)
            if self.deadline is not None and time.monotonic() >= self.deadline and self.step < end:
                self.out_of_time = True
                break
        if self._stop or self.out_of_time:
            self._save_state(optimizer)
        if bar is not None:
            bar.close()
        return last

    def _log(self, record: dict[str, float]) -> None:
        if self.rank != 0:
            return
        with open(self.out_dir / "log.jsonl", "a") as f:
            f.write(json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in record.items()}) + "\n")


def init_distributed() -> None:
    """Join the process group when started by torchrun (``WORLD_SIZE`` > 1), on gloo."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
