"""Logit lens vs tuned lens: mean KL (nats) from each layer's reading to the model's final
next-token distribution, on held-out text (issue 12: the tuned lens must be lower at the middle
layers). Also times fitting and reading.

The model is the zoo's causal LM of the reviews with 4 blocks (trained once, then cached). The
``tuned-lens`` package (Belrose et al.) is not run side by side: its 0.2 release pins an old
transformers; the logit lens is the baseline every layer is compared to.

Run: python bench/bench_tuned_lens.py [--steps 200]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from _results import Results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--layers", type=int, default=4)
    args = parser.parse_args()

    from deepscope import text, zoo
    from deepscope.datasets import reviews

    model = zoo.get("reviews_lm", layers=args.layers)
    texts = list(reviews(900, seed=21).texts)
    fitting, held_out = texts[:600], texts[600:]

    start = time.perf_counter()
    tuned = text.fit_tuned_lens(model, fitting, steps=args.steps, progress=False)
    fit_seconds = time.perf_counter() - start

    totals = {"logit": None, "tuned": None}
    seconds = {"logit": 0.0, "tuned": 0.0}
    tokens = 0
    for sentence in held_out:
        for kind, lens in (("logit", None), ("tuned", tuned)):
            start = time.perf_counter()
            result = text.logit_lens(model, sentence, lens=lens)
            seconds[kind] += time.perf_counter() - start
            summed = result.kl_to_final.sum(axis=1)
            totals[kind] = summed if totals[kind] is None else totals[kind] + summed
        tokens += len(result.tokens)
    layers = result.layers
    logit = totals["logit"] / tokens
    tuned_kl = totals["tuned"] / tokens

    print(
        f"model: reviews_lm, {args.layers} blocks; fit on {len(fitting)} texts, "
        f"{args.steps} steps in {fit_seconds:.1f} s; held out: {len(held_out)} texts, "
        f"{tokens} tokens"
    )
    print(f"{'layer':<12} {'logit lens':>11} {'tuned lens':>11} {'logit/tuned':>12}")
    for name, a, b in zip(layers, logit, tuned_kl, strict=True):
        ratio = f"{a / b:12.1f}" if b > 1e-9 else f"{'-':>12}"
        print(f"{name:<12} {a:11.4f} {b:11.4f} {ratio}")
    results = Results(
        "bench_tuned_lens",
        f"reviews_lm, {args.layers} blocks, {args.steps} fitting steps; mean KL (nats) to the final "
        f"distribution over {tokens} held-out tokens; peer = the logit lens",
    )
    for name, a, b in zip(layers, logit, tuned_kl, strict=True):
        if b <= 1e-9:  # the last layer reads the final distribution itself: 0 on both sides
            continue
        results.add(
            f"KL at {name}", ours=b, peer=a, peer_name="logit lens", peer_package=None, quantity="KL", unit="nats"
        )
    middle = slice(1, len(layers) - 1)
    lower = bool(np.all(tuned_kl[middle] < logit[middle]))
    print(f"tuned lens lower than the logit lens at every middle layer: {'OK' if lower else 'NO'}")
    per = {k: 1000 * v / len(held_out) for k, v in seconds.items()}
    print(
        f"reading one text: logit lens {per['logit']:.1f} ms, tuned lens {per['tuned']:.1f} ms "
        f"(ratio {per['tuned'] / per['logit']:.2f})"
    )
    results.add("reading one text", ours=per["tuned"] / 1000, peer=per["logit"] / 1000, peer_name="logit lens",
                peer_package=None)  # fmt: skip
    results.note(f"tuned lens lower than the logit lens at every middle layer: {'yes' if lower else 'NO'}")
    results.write()
    return 0 if lower else 1


if __name__ == "__main__":
    sys.exit(main())
