"""Time the main job from an empty model cache: `deepscope demo --no-serve`.

The target (issue 2) is under 90 s on two cores. Run: python bench/bench_demo.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DEEPSCOPE_CACHE_DIR"] = str(Path(tmp) / "cache")
        from deepscope.demo import DEMO_RUNS, build_demo

        start = time.perf_counter()
        build_demo(Path(tmp) / "logs", progress=True)
        cold = time.perf_counter() - start

        start = time.perf_counter()
        build_demo(Path(tmp) / "logs", progress=False)
        warm = time.perf_counter() - start
    print(f"demo runs: {len(DEMO_RUNS)}")
    print(f"cold (empty cache): {cold:6.1f} s   target < 90 s   {'OK' if cold < 90 else 'OVER'}")
    print(f"warm (second call): {warm:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
