"""Pre-render synthetic training or test samples into shards (resumable: existing shards are kept).

    handpose-render --out data/synth_train --count 40000 --seed 1 --workers 2
    handpose-render --out data/synth_test --count 2000 --seed 777 --backgrounds test
"""

from __future__ import annotations

import argparse
from pathlib import Path

from handpose.data.synth.prerender import RenderJob, prerender
from handpose.data.synth.synthetic import SyntheticConfig
from handpose.errors import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="folder of shards")
    p.add_argument("--count", type=int, required=True, help="number of samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=128, help="crop side in px")
    p.add_argument("--backgrounds", choices=["train", "test", "all"], default="train")
    p.add_argument("--negatives", type=float, default=0.1, help="fraction of crops without a hand")
    p.add_argument("--per-shard", type=int, default=2048)
    p.add_argument("--workers", type=int, default=1)
    a = p.parse_args(argv)
    job = RenderJob(a.out, a.count, a.seed, SyntheticConfig(crop_size=a.size, negative_fraction=a.negatives),
                    a.backgrounds, a.per_shard)
    paths = prerender(job, workers=a.workers)
    print(f"{len(paths)} shards, {a.count} samples in {a.out}")


if __name__ == "__main__":
    main()
