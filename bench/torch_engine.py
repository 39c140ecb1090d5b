"""PyTorch (CPU) reference for bench/engine.ts: the same nets and the same two workloads.

--net cnn (default): conv3x3-32 relu, maxpool2, conv3x3-64 relu, maxpool2, flatten,
dense128 relu, dense10 on 1x28x28 inputs in [0, 1] (NCHW, PyTorch's native layout).
--net resnet20 | mobilenet-lite: scripts/torch_nets.py's nets with its seeded weights (the
same call wrote the TF.js side's weights), 3x32x32 inputs, eps 8/255, steps of 2/255.
--net onnx:PATH: the ONNX file run by scripts/torch_onnx.py (batch norm in inference mode,
as Rampart's importer runs it), CIFAR settings.

Batch norm: the attack runs the model in eval mode, the weight update in train mode
(batch statistics), as Rampart's pgd-at objective does.

- PGD step: forward, cross-entropy, gradient with respect to the input only
  (torch.autograd.grad, so no weight gradients are computed), then the L-inf ascent step:
  x' = clip(x0 + clip(x + alpha * sign(g) - x0, -eps, eps), 0, 1).
- PGD-AT step: uniform random start in the eps-ball, 10 such steps, then forward +
  backward + one Adam update of the weights on the adversarial batch.

Each is warmed up, then timed --reps times; the median is reported as examples/s, once
with 1 intra-op thread and once with all of the machine's cores (--threads all: only the
latter). --memory instead runs one PGD-AT step on all cores (no warm-up) and reports this
process's peak RSS (ru_maxrss).

Prints one JSON object on stdout. Exits 3 (with {"error": ...}) when torch cannot be
imported, so the caller can report Rampart alone.

Run: python3 bench/torch_engine.py [--net cnn] [--batch 128] [--reps 7] [--at-reps 3] [--threads both|all] [--memory]
"""

import argparse
import json
import os
import platform
import resource
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
    parser.add_argument("--net", default="cnn")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", choices=("both", "all"), default="both")
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()

    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except Exception as exc:  # noqa: BLE001 - any import failure means "no torch here"
        print(json.dumps({"error": f"torch not importable with {sys.executable}: {exc}"}))
        return 3

    epsilon, step_size = EPSILON, STEP_SIZE
    if args.net == "cnn":
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
        shape = (1, 28, 28)
    else:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
        if args.net.startswith("onnx:"):
            from torch_onnx import OnnxModule

            model = OnnxModule(args.net[5:])
        else:
            from torch_nets import build

            model = build(args.net, args.seed)
        shape, epsilon, step_size = (3, 32, 32), 8 / 255, 2 / 255
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    torch.manual_seed(args.seed)
    x = torch.rand(args.batch, *shape)
    y = torch.randint(0, 10, (args.batch,))

    def pgd_step(current: "torch.Tensor") -> "torch.Tensor":
        model.eval()
        current = current.detach().requires_grad_(True)
        loss = F.cross_entropy(model(current), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, [current])
        with torch.no_grad():
            delta = torch.clamp(current + step_size * grad.sign() - x, -epsilon, epsilon)
            return torch.clamp(x + delta, 0.0, 1.0)

    def pgd_at_step() -> None:
        with torch.no_grad():
            current = torch.clamp(x + torch.empty_like(x).uniform_(-epsilon, epsilon), 0.0, 1.0)
        for _ in range(ATTACK_STEPS):
            current = pgd_step(current)
        model.train()
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
    if args.memory:
        torch.set_num_threads(all_threads)
        pgd_at_step()
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"torch": torch.__version__, "net": args.net, "batch": args.batch, "peakRssBytes": peak_kb * 1024}))
        return 0
    results = {}
    plan = (("all", all_threads),) if args.threads == "all" else (("1", 1), ("all", all_threads))
    for label, threads in plan:
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
                "net": args.net,
                "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "openblasEnv": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ},
                "results": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
