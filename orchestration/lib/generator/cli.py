"""`qualitrace generate --out DIR [--scale S] [--seed N]`."""

from __future__ import annotations

import sys
from pathlib import Path


def main(args) -> int:
    from .core import generate
    try:
        summary = generate(Path(args.out), scale=float(args.scale), seed=int(args.seed),
                           progress=lambda m: print(f"[generate] {m}", file=sys.stderr, flush=True))
    except (ValueError, OSError) as e:
        print(f"qualitrace generate: {e}", file=sys.stderr)
        return 2
    print(f"wrote {summary['files']} files to {summary['out']} "
          f"({summary['distinct_complaints']} distinct complaints) in {summary['seconds']}s")
    return 0
