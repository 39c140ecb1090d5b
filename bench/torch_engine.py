"""PyTorch (CPU) reference for bench/engine.ts: the same CNN and the same two workloads.

Model: conv3x3-32 relu, maxpool2, conv3x3-64 relu, maxpool2, flatten, dense128 relu,
dense10 on 1x28x28 inputs in [0, 1] (NCHW, PyTorch's native layout).

- PGD step: forward, cross-entropy, gradient with respect to the input only
  (torch.autograd.grad, so no weight gradients are computed), then the L-inf ascent step:
  x' = clip(x0 + clip(x + alpha * sign(g) - x0, -eps, eps), 0, 1).
- PGD-AT step: uniform random start in the eps-ball, 10 such steps, then forward +
  backward + one Adam update of the weights on the adversarial batch.

Each is warmed up, then timed --reps times; the median is reported as examples/s, once
with 1 intra-op thread and once with all of the machine's cores.

Prints one JSON object on stdout. Exits 3 (with {"error": ...}) when torch cannot be
imported, so the caller can report Rampart alone.

Run: python3 bench/torch_engine.py [--batch 128] [--reps 7] [--at-reps 3]
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

EPSILON = 0.3
STEP_SIZE = 0.075
ATTACK_STEPS = 10
LEARNING_RATE = 1e-3


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--at-reps", type=int, default=3)
    args = parser.parse_args()

    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except Exception as exc:  # noqa: BLE001 - any import failure means "no torch here"
        print(json.dumps({"error": f"torch not importable with {sys.executable}: {exc}"}))
        return 3

    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 5 * 5, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    x = torch.rand(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))

    def pgd_step(current: "torch.Tensor") -> "torch.Tensor":
        current = current.detach().requires_grad_(True)
        loss = F.cross_entropy(model(current), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, [current])
        with torch.no_grad():
            delta = torch.clamp(current + STEP_SIZE * grad.sign() - x, -EPSILON, EPSILON)
            return torch.clamp(x + delta, 0.0, 1.0)

    def pgd_at_step() -> None:
        with torch.no_grad():
            current = torch.clamp(x + torch.empty_like(x).uniform_(-EPSILON, EPSILON), 0.0, 1.0)
        for _ in range(ATTACK_STEPS):
            current = pgd_step(current)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(current), y)
        loss.backward()
        optimizer.step()

    def median_ms(f, warmup: int, reps: int) -> float:
        for _ in range(warmup):
            f()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            f()
            times.append((time.perf_counter() - t0) * 1000.0)
        return statistics.median(times)

    all_threads = os.cpu_count() or 1
    results = {}
    for label, threads in (("1", 1), ("all", all_threads)):
        torch.set_num_threads(threads)
        pgd_ms = median_ms(lambda: pgd_step(x), warmup=3, reps=args.reps)
        at_ms = median_ms(pgd_at_step, warmup=1, reps=args.at_reps)
        results[label] = {
            "threads": threads,
            "pgdStepMs": pgd_ms,
            "pgdStepExamplesPerSecond": args.batch * 1000.0 / pgd_ms,
            "pgdAtStepMs": at_ms,
            "pgdAtStepExamplesPerSecond": args.batch * 1000.0 / at_ms,
        }

    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "python": platform.python_version(),
                "executable": sys.executable,
                "batch": args.batch,
                "reps": args.reps,
                "atReps": args.at_reps,
                "cpuCount": all_threads,
                "results": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
