import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import torch

from handpose.model.config import ModelConfig
from handpose.data.augment import AugmentConfig
from handpose.data.batch import collate
from handpose.model import build_model
from handpose.model.checkpoint import load_model
from handpose.train.losses import LossWeights
from handpose.train.trainer import TrainConfig, Trainer
from tests.hand_fixtures import toy_samples

torch.set_num_threads(1)
SMALL = ModelConfig(pose_hidden=128, translator_hidden=64)


def _aligned_error(model, samples) -> float:
    batch = collate(samples)
    with torch.no_grad():
        pred = model.eval().infer(batch.images).joints_view_norm
    return float(((pred - batch.joints_view_norm) ** 2).sum(-1).sqrt().mean())


def test_short_run_learns_pose_vae_and_aligned_path(tmp_path):
    samples = toy_samples(6)
    model = build_model(SMALL)
    before = _aligned_error(model, samples)
    cfg = TrainConfig(pose_steps=300, image_steps=600, batch_size=6, pose_batch_size=6, lr=1e-3,
                      checkpoint_every=1000, eval_every=0, losses=LossWeights(beta_warmup_steps=100))
    trainer = Trainer(model, cfg, samples, tmp_path, progress=False)
    trainer.run()
    logs = [__import__("json").loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    pose_logs = [r for r in logs if r["stage_index"] == 0]
    assert pose_logs[0]["pose_recon"] > 10 * pose_logs[-1]["pose_recon"], (pose_logs[0], pose_logs[-1])
    after = _aligned_error(model, samples)
    assert before > 10 * after, (before, after)
    # the model written at the end reproduces the trained one
    reloaded = load_model(tmp_path / "model.pt")
    assert _aligned_error(reloaded, samples) == after


def test_resume_continues_to_the_same_result(tmp_path):
    samples = toy_samples(8)
    cfg = TrainConfig(pose_steps=6, image_steps=8, batch_size=4, pose_batch_size=4, checkpoint_every=3, eval_every=0,
                      augment=AugmentConfig())
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg  # as stored in a manifest
    torch.manual_seed(0)
    full = build_model(SMALL)
    init = {k: v.clone() for k, v in full.state_dict().items()}
    Trainer(full, cfg, samples, tmp_path / "full", progress=False).run()

    # interrupted after 9 steps (mid image stage): a run configured to stop, then a fresh process resumes
    part = build_model(SMALL)
    part.load_state_dict(init)
    t1 = Trainer(part, cfg, samples, tmp_path / "part", progress=False)
    original_batches = t1._batches

    def stopping_batches(stage, start, end):
        for b in original_batches(stage, start, end):
            if t1.step == 9:
                t1._stop = True
            yield b

    t1._batches = stopping_batches
    t1.run()
    assert t1.step == 9 and not (tmp_path / "part" / "model.pt").exists()

    resumed_model = build_model(SMALL)
    t2 = Trainer(resumed_model, cfg, samples, tmp_path / "part", progress=False)
    assert t2.resume() and t2.step == 9
    t2.run()
    a, b = full.state_dict(), resumed_model.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a), [k for k in a if not torch.allclose(a[k], b[k])]


def test_torchrun_two_processes_gloo(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(textwrap.dedent(f"""
        import sys, torch
        sys.path.insert(0, {repr(os.getcwd())})
        import torch.distributed as dist
        from handpose.model.config import ModelConfig
        from handpose.model import build_model
        from handpose.train.trainer import TrainConfig, Trainer, init_distributed
        from tests.hand_fixtures import toy_samples
        torch.set_num_threads(1)
        init_distributed()
        torch.manual_seed(0)
        model = build_model(ModelConfig(pose_hidden=64, translator_hidden=32))
        cfg = TrainConfig(pose_steps=3, image_steps=3, batch_size=4, pose_batch_size=4, checkpoint_every=100)
        Trainer(model, cfg, toy_samples(8), {repr(str(tmp_path / 'out'))}, progress=False).run()
        # every process must end with the same weights (gradients were averaged)
        flat = torch.cat([p.detach().flatten() for p in model.parameters()])
        gathered = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
        dist.all_gather(gathered, flat)
        assert dist.get_world_size() == 2
        assert torch.equal(gathered[0], gathered[1]), "replicas diverged"
        # one file per process: two processes printing to one pipe can interleave their lines
        with open({repr(str(tmp_path))} + f"/rank{{dist.get_rank()}}.txt", "w") as f:
            f.write(repr(float(flat.abs().sum())))
        dist.destroy_process_group()
    """))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
         f"--master_port={port}", str(script)],
        capture_output=True, text=True, timeout=240, env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sums = [(tmp_path / f"rank{rank}.txt").read_text() for rank in (0, 1)]  # both processes got there
    assert sums[0] == sums[1]
    assert (tmp_path / "out" / "model.pt").exists()


def test_train_only_changes_just_the_named_head(tmp_path):
    """A head trained on a finished model: every other weight and every batch-norm statistic stays."""
    samples = toy_samples(6)
    model = build_model(SMALL)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    head = "visibility"
    cfg = TrainConfig(pose_steps=0, image_steps=0, finetune_steps=20, batch_size=6, lr=1e-3, checkpoint_every=1000,
                      eval_every=0, train_only=(head,))
    Trainer(model, cfg, samples, tmp_path, progress=False).run()
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith(head) for k in changed), sorted(changed)[:5]
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_a_spent_deadline_ends_the_run_as_finished_and_a_resume_goes_on(tmp_path):
    """A time budget: the trainer stops after the step at which its deadline passed, writes
    model.pt and its state (so the result exists and a later run can resume from there)."""
    import time

    samples = toy_samples(4)
    cfg = TrainConfig(pose_steps=0, image_steps=0, finetune_steps=30, batch_size=4, checkpoint_every=1000,
                      eval_every=0)
    trainer = Trainer(build_model(SMALL), cfg, samples, tmp_path, progress=False, deadline=time.monotonic())
    trainer.run()
    assert trainer.out_of_time and not trainer.terminated and trainer.step == 1
    assert torch.load(tmp_path / "model.pt", weights_only=True)["meta"]["steps"] == 1
    resumed = Trainer(build_model(SMALL), cfg, samples, tmp_path, progress=False)
    assert resumed.resume() and resumed.step == 1
    resumed.run()
    assert resumed.step == 30 and not resumed.out_of_time
