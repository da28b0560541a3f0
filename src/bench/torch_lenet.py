"""The optional PyTorch peer of `adzone bench`: one LeNet-5 SGD-momentum training step, timed.

Reads one JSON object on stdin:
  {"dtype": "float32" | "float64", "x": [...], "shape": [N, 1, 28, 28], "labels": [...],
   "params": {"conv1.weight": [...], ...}, "lr": 0.01, "momentum": 0.9,
   "warmup": W, "minReps": a, "maxReps": b, "budgetMs": t}
and prints one JSON object on stdout:
  {"ok": true, "samplesMs": [...], "torch": "1.13.1", "threads": 2, "peakRssMB": ..., "lastLoss": ...}
The network is the paper's LeNet-5 (docs/DESIGN.md section 4, src/models/lenet5.ts): conv1 6@5x5 -> ReLU ->
MaxPool 2x2 -> conv2 16@5x5 -> ReLU -> MaxPool 2x2 -> fc1 256->120 -> ReLU -> fc2 120->84 -> ReLU
-> fc3 84->10, with the same initial parameters (by PyTorch name) as the engine and tfjs rows.
Run by src/bench/torch.ts; never installs anything.
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(256, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def main():
    cfg = json.load(sys.stdin)
    dtype = {"float32": torch.float32, "float64": torch.float64}[cfg["dtype"]]
    torch.manual_seed(0)
    net = LeNet5().to(dtype)
    state = net.state_dict()
    with torch.no_grad():
        for name, values in cfg["params"].items():
            state[name].copy_(torch.tensor(values, dtype=torch.float64).reshape(state[name].shape).to(dtype))
    x = torch.tensor(cfg["x"], dtype=torch.float64).reshape(cfg["shape"]).to(dtype)
    y = torch.tensor(cfg["labels"], dtype=torch.int64)
    opt = torch.optim.SGD(net.parameters(), lr=cfg["lr"], momentum=cfg["momentum"])
    last = [float("nan")]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        last[0] = float(loss.item())

    for _ in range(cfg["warmup"]):
        step()
    samples = []
    total = 0.0
    while len(samples) < cfg["maxReps"] and (len(samples) < cfg["minReps"] or total < cfg["budgetMs"]):
        t0 = time.perf_counter()
        step()
        dt = (time.perf_counter() - t0) * 1000.0
        samples.append(dt)
        total += dt
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({
        "ok": True,
        "samplesMs": samples,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "peakRssMB": peak_kb / 1024.0,
        "lastLoss": last[0],
    }))


if __name__ == "__main__":
    main()
