#!/usr/bin/env python3
"""Check your own nn.Module's MaxPool gradients against adzone's exact oracle, through the PyTorch bridge.

    python3 check_maxpool.py [FILE.py:ClassName]      (default: my_maxpool.py:UnfoldMaxPool2d)

The bridge computes every maxpool layer of adzone's problems with your module (constructed like
torch.nn.MaxPool2d(kernel_size, stride, padding)) and torch's own conv2d and relu, in this very
interpreter; adzone measures its rule at ties (and where it sends the gradient of windows holding
NaN) and classifies its gradients at float32 and float64 against the exact ones. Needs Node 20
with adzone installed (npx adzone), or ADZONE='node /path/to/adzone/bin/adzone.js'.
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    module = argv[0] if argv else os.path.join(HERE, "my_maxpool.py") + ":UnfoldMaxPool2d"
    adzone = shlex.split(os.environ.get("ADZONE", "npx adzone"))
    out = tempfile.mkdtemp(prefix="adzone-pytorch-")
    cmd = adzone + [
        "verify", "--backends", "torch", "--torch-module", module, "--python", sys.executable,
        "--precision", "32,64", "--generators", "exact-tie,near-tie,argmax-flip-32,near-tie-chain",
        "--samples", "50", "--no-shrink", "--quiet", "--out", out,
    ]  # fmt: skip
    print("$", " ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True)
    with open(os.path.join(out, "verify.json"), encoding="utf-8") as f:
        report = json.load(f)
    for t in report["tieRules"]:
        print("\ntie rule of %s: %s\n  %s" % (t["backend"], t["rule"], t["evidence"]))
    print("\n%-16s %-4s %4s  %s" % ("generator", "bits", "n", "zones"))
    for row in report["table"]:
        zones = ", ".join("%s %d" % (k, v) for k, v in row["counts"].items() if v)
        print("%-16s %-4s %4d  %s%s" % (row["generator"], row["precision"], row["n"], zones, "  INCONSISTENT %d" % row["inconsistent"] if row["inconsistent"] else ""))
    defects = sum(r["counts"]["defect"] for r in report["table"])
    print("\n%s (full report: %s)" % ("DEFECTS: %d draws" % defects if defects else "no defect: every gradient is an admissible Jacobian's, up to rounding", os.path.join(out, "verify.md")))
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
