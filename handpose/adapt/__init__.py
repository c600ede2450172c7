"""Personal adaptation (``handpose-adapt``): the default model fine-tuned on one user's footage.

Stages, one module each, typed dataclasses between them:

* :mod:`~handpose.adapt.footage`: videos / image folders / RGB-D folders -> teacher-labelled frames
  (MediaPipe in image mode with its mirrored-copy check, :mod:`handpose.data.real.pseudo_label`);
* :mod:`~handpose.adapt.consistency`: labels that jump away from both time neighbours refused;
* :mod:`~handpose.adapt.split`: the frames split by time into adaptation and check parts;
* :mod:`~handpose.adapt.hand_size`: the user's middle MCP->PIP length from depth frames;
* :mod:`~handpose.adapt.finetune`: the fine-tuning recipe (what trains, replay of renders and real
  photos, steps from a time budget) over :class:`handpose.train.trainer.Trainer`;
* :mod:`~handpose.adapt.report`: the check frames before/after (2D against MediaPipe, PA-MPJPE,
  jitter, spread), JSON and plot;
* :mod:`~handpose.adapt.job`: one adaptation run in its work folder (resume, outputs, manifest);
* :mod:`~handpose.adapt.record`: a short clip recorded from a live source (``handpose-demo
  --record-adaptation``), with a per-frame callback that counts the frames with a hand or shows
  them (:mod:`handpose.viz.record_preview`).
"""
