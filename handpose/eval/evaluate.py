"""Evaluate a model on a labelled dataset under docs/DESIGN.md §4's protocol.

The aligned path (image encoder -> translator -> pose decoder) and the image VAE's own decoder are
scored side by side, on ground-truth crops and hand sides. Predictions are normalised poses;
they are brought to mm with the ground truth's wrist and bone length (the protocol rescales by the
ground-truth middle MCP->PIP length and roots both at the palm anyway).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from handpose import skeleton
from handpose.io.atomic import atomic_path, write_text_atomic
from handpose.data.batch import collate, images_to_tensor
from handpose.data.sample import HandSample
from handpose.errors import InputError
from handpose.infer.backends.base import BackendOutputs
from handpose.infer.roll_ensemble import HandOutputs, RollEnsemble
from handpose.model.hand_model import HandModel
from handpose.eval.metrics import PoseMetrics, keypoint_error_2d, pose_metrics, roc_auc


@dataclass(frozen=True)
class EvalReport:
    """Evaluation of one model on one dataset.

    Attributes:
        dataset: a name for the data.
        aligned: metrics of the aligned path (the method).
        image_vae: metrics of the image VAE's own decoder (the baseline).
        keypoints_2d_px: mean 2D error in crop px (visible joints).
        presence_accuracy: accuracy of presence > 0.5 over all samples (negatives included).
        count: hand samples evaluated; negatives: crops without a hand.
        roll_angles_deg: the test-time turns of each crop (``(0.0,)``: the plain crop only).
        visibility_auc: ROC AUC of the per-joint visibility against the labels (the chance that a
            visible joint scores above a hidden one); NaN when the labels hold one kind only.
    """

    dataset: str
    aligned: PoseMetrics
    image_vae: PoseMetrics
    keypoints_2d_px: float
    presence_accuracy: float
    count: int
    negatives: int
    roll_angles_deg: tuple[float, ...] = (0.0,)
    visibility_auc: float = float("nan")

    def to_json(self) -> dict[str, object]:
        def clean(m: PoseMetrics) -> dict[str, object]:
            d = asdict(m)
            d["pck_thresholds_mm"] = [round(float(x), 4) for x in m.pck_thresholds_mm]
            d["pck"] = [round(float(x), 5) for x in m.pck]
            return d

        out: dict[str, object] = asdict(self)
        out["aligned"], out["image_vae"] = clean(self.aligned), clean(self.image_vae)
        return out

    def summary(self) -> str:
        rows = [f"{'path':<16}{'EPE mean':>10}{'EPE med':>10}{'AUC0-50':>9}{'AUC20-50*':>10}{'AUC20-50':>9}{'PA-MPJPE':>9}"]
        for name, m in (("aligned", self.aligned), ("image VAE", self.image_vae)):
            rows.append(f"{name:<16}{m.epe_mean_mm:>10.2f}{m.epe_median_mm:>10.2f}{m.auc_0_50:>9.3f}"
                        f"{m.auc_20_50_published:>10.3f}{m.auc_20_50_exact:>9.3f}{m.pa_mpjpe_mm:>9.2f}")
        rows.append(f"{self.dataset}: {self.count} hands, {self.negatives} negatives; 2D error "
                    f"{self.keypoints_2d_px:.2f} px; presence accuracy {self.presence_accuracy:.3f}"
                    f"; crops turned by {list(self.roll_angles_deg)} deg"
                    " (mm; AUC20-50* = published slice from 21.05 mm)")
        return "\n".join(rows)


@torch.no_grad()
def evaluate(model: HandModel, dataset: Sequence[HandSample], name: str, batch_size: int = 64,
             visible_only: bool = False, ensemble: RollEnsemble = RollEnsemble()) -> EvalReport:
    """Score ``model`` on every sample of ``dataset`` (each must have a crop).

    ``visible_only``: count visible joints only in EPE/PCK (RHD's protocol). ``ensemble``: the
    crops' test-time turns (:mod:`handpose.infer.roll_ensemble`; default: the pipeline's).
    """
    if len(dataset) == 0:
        raise InputError(f"dataset {name!r} is empty")
    model.eval()
    preds, preds_vae, gts, vis, vis_pred, kp_pred, kp_gt, left = [], [], [], [], [], [], [], []
    pres_correct = 0
    negatives = 0
    for start in range(0, len(dataset), batch_size):
        samples = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        batch = collate(samples)
        if batch.images is None:
            raise InputError(f"dataset {name!r} has samples without crops; evaluation needs images")
        out, joints_norm_vae = _infer(model, samples, batch.images, ensemble)
        present = batch.present.numpy()
        pres_correct += int(((out.presence > 0.5) == present).sum())
        negatives += int((~present).sum())
        for i, s in enumerate(samples):
            if not s.present:
                continue
            preds.append(out.joints_norm[i])
            preds_vae.append(joints_norm_vae[i])
            gts.append(s.joints_cam_mm)
            vis.append(s.visibility)
            vis_pred.append(out.visibility[i])
            kp_pred.append(out.keypoints_crop_px[i])
            kp_gt.append(batch.keypoints_crop_px[i].numpy())  # type: ignore[index]
            left.append(s.is_left)
    if not gts:
        raise InputError(f"dataset {name!r} has no samples with a hand")
    gt = np.stack(gts).astype(np.float64)
    is_left = np.array(left)
    scale = skeleton.bone_length(gt)
    to_mm = lambda p: skeleton.denormalize(np.stack(p), scale, gt[:, 0], is_left)  # noqa: E731
    visible = np.stack(vis) if visible_only else None
    return EvalReport(
        dataset=name,
        aligned=pose_metrics(to_mm(preds), gt, visible),
        image_vae=pose_metrics(to_mm(preds_vae), gt, visible),
        keypoints_2d_px=keypoint_error_2d(np.stack(kp_pred), np.stack(kp_gt), np.stack(vis)),
        presence_accuracy=pres_correct / len(dataset),
        count=len(gts),
        negatives=negatives,
        roll_angles_deg=ensemble.angles_deg,
        visibility_auc=roc_auc(np.concatenate(vis_pred), np.concatenate(vis)),
    )


def _infer(model: HandModel, samples: Sequence[HandSample], images: torch.Tensor,
           ensemble: RollEnsemble) -> tuple[HandOutputs, np.ndarray]:
    """``model.infer`` on the samples' crops, through the roll ensemble unless it is plain, with
    the poses brought from the crops' view frames to the normalised camera frame: the ensemble's
    outputs and the image VAE decoder's poses (N, 21, 3)."""
    size = images.shape[-1]
    if not ensemble.plain:
        images = images_to_tensor(ensemble.turn_crops(np.stack([s.crop_rgb for s in samples])))  # type: ignore[misc]
    out = model.infer(images)
    rotations = np.concatenate([ensemble.view_rotations(s.crop, s.intrinsics, size) for s in samples])
    combined = ensemble.combine(BackendOutputs(out.joints_view_norm.numpy(), out.keypoints_crop_px.numpy(),
                                             out.presence.numpy(), out.visibility.numpy()), rotations, size)
    return combined, ensemble.unturn_poses(out.joints_view_norm_image_vae.numpy(), rotations)


def write_report(report: EvalReport, out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``report.json`` and ``pck.png`` (both paths' PCK curves) atomically into ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / "report.json", out / "pck.png"
    write_text_atomic(json_path, json.dumps(report.to_json(), indent=2))
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    for label, m in (("aligned (translator -> pose decoder)", report.aligned), ("image VAE decoder", report.image_vae)):
        ax.plot(m.pck_thresholds_mm, m.pck, marker="o", ms=3,
                label=f"{label}: AUC20-50 {m.auc_20_50_published:.3f}")
    ax.set(xlabel="threshold (mm)", ylabel="3D PCK", title=f"{report.dataset} ({report.count} hands)", ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    with atomic_path(png_path) as tmp_png:
        fig.savefig(tmp_png, format="png")
    plt.close(fig)
    return json_path, png_path
