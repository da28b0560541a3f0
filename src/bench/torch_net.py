"""The PyTorch peer of `adzone bench`: one SGD-momentum training step of a network described by an
adzone ModelSpec (src/models/spec.ts), timed, with the engine's initial parameters and batch.

Reads one JSON object on stdin, either {"probe": true} (prints what this torch is built with: its
version, the BLAS/LAPACK it was configured with, the libraries a matmul and a conv actually load)
or a step request:
  {"dtype": "float32" | "float64" | "bfloat16", "threads": T, "layers": [...spec.layers],
   "paramNames": [...], "params": {name: [...]}, "buffers": {name: [...]},
   "x": [...], "shape": [N, C, H, W], "labels": [...], "lr": 0.01, "momentum": 0.9,
   "warmup": W, "minReps": a, "maxReps": b, "budgetMs": t}
and prints one JSON object on stdout:
  {"ok": true, "samplesMs": [...], "firstLoss": ..., "lastLoss": ..., "threads": T, "peakRssMB": ...}
The network is built functionally from the spec's layers (conv2d, batchnorm2d, relu, maxpool,
avgpool, globalavgpool, flatten, linear, residual = body(x) + shortcut(x)), so it is the engine's
network with the engine's parameters by PyTorch name; parameters are stepped by torch.optim.SGD.
The caller pins the thread count (OMP_NUM_THREADS, MKL_NUM_THREADS in the environment, and
torch.set_num_threads here). Run by src/bench/torch.ts; never installs anything.
"""
import json
import resource
import sys
import time

import torch
import torch.nn.functional as F


def forward(layers, h, P, B, training):
    for l in layers:
        k = l["kind"]
        if k == "conv2d":
            bias = P[l["name"] + ".bias"] if l["bias"] else None
            h = F.conv2d(h, P[l["name"] + ".weight"], bias, stride=tuple(l["stride"]), padding=tuple(l["padding"]))
        elif k == "batchnorm2d":
            n = l["name"]
            h = F.batch_norm(h, B[n + ".running_mean"], B[n + ".running_var"], P[n + ".weight"], P[n + ".bias"],
                             training, l["momentum"], l["eps"])
        elif k == "relu":
            h = F.relu(h)
        elif k == "maxpool":
            h = F.max_pool2d(h, tuple(l["kernel"]), tuple(l["stride"]), tuple(l["padding"]))
        elif k == "avgpool":
            h = F.avg_pool2d(h, tuple(l["kernel"]), tuple(l["stride"]))
        elif k == "globalavgpool":
            h = F.adaptive_avg_pool2d(h, 1)
        elif k == "flatten":
            h = torch.flatten(h, 1)
        elif k == "linear":
            bias = P[l["name"] + ".bias"] if l["bias"] else None
            h = F.linear(h, P[l["name"] + ".weight"], bias)
        elif k == "residual":
            h = forward(l["body"], h, P, B, training) + forward(l["shortcut"], h, P, B, training)
        else:
            raise ValueError("unknown layer kind " + k)
    return h


def probe():
    a = torch.randn(64, 64)
    (a @ a).sum()
    F.conv2d(torch.randn(1, 3, 8, 8), torch.randn(4, 3, 3, 3)).sum()
    keys = ("blas", "lapack", "mkl", "dnnl", "openblas", "omp")
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if any(k in line.split()[-1].lower() for k in keys) and "/" in line})
    return {"ok": True, "torch": torch.__version__, "python": sys.version.split()[0],
            "config": torch.__config__.show(), "parallel": torch.__config__.parallel_info(), "libraries": libs}


def step_request(cfg):
    dtype = {"float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16}[cfg["dtype"]]
    torch.set_num_threads(cfg["threads"])
    tensor = lambda v, shape: torch.tensor(v, dtype=torch.float64).reshape(shape).to(dtype)
    P = {}
    for name in cfg["paramNames"]:
        p = cfg["params"][name]
        P[name] = tensor(p["values"], p["shape"]).requires_grad_(True)
    B = {name: tensor(b["values"], b["shape"]) for name, b in cfg["buffers"].items()}
    x = tensor(cfg["x"], cfg["shape"])
    y = torch.tensor(cfg["labels"], dtype=torch.int64)
    opt = torch.optim.SGD([P[n] for n in cfg["paramNames"]], lr=cfg["lr"], momentum=cfg["momentum"])
    losses = []

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(forward(cfg["layers"], x, P, B, True), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))

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
    return {"ok": True, "samplesMs": samples, "firstLoss": losses[0], "lastLoss": losses[-1],
            "threads": torch.get_num_threads(), "peakRssMB": peak_kb / 1024.0}


def main():
    cfg = json.load(sys.stdin)
    print(json.dumps(probe() if cfg.get("probe") else step_request(cfg)))


if __name__ == "__main__":
    main()
