#!/usr/bin/env python3
"""adzone's PyTorch bridge: PyTorch as an AD system under test, speaking adzone's AD protocol.

Given a problem (input, a chain of conv2d / relu / maxpool layers, their parameters, a cotangent)
and a dtype, it computes with torch's own operators on the chosen device and returns, exactly
(IEEE bit patterns in hex), the gradient of <cotangent, output> with respect to the input and every
parameter (torch.autograd.grad) and the output of every layer from the same forward pass.

Two ways to run it (the protocol is published as schemas/protocol.schema.json in the adzone package):

  stdio:  python3 adzone_torch_bridge.py [--device cpu|cuda] [--module FILE.py:Class]
          one JSON message per line on stdin/stdout: the client's hello, then run requests;
          it answers with its hello, then one result or error per request (same id).
  batch:  python3 adzone_torch_bridge.py --batch problems.jsonl --out results.jsonl [--device cuda]
          the same messages in files, for a machine with PyTorch and no Node (a GPU box):
          `adzone verify --export-batch` writes the problems, `adzone verify --import-batch` classifies.

  --hello prints the bridge's hello (versions, devices, dtypes) and exits.
  --module FILE.py:Class computes every maxpool layer with your nn.Module instead of
          torch.nn.functional.max_pool2d: Class(kernel_size=(kh, kw), stride=(sh, sw), padding=(ph, pw)).

Needs nothing but Python 3 and torch. A dtype that a device cannot run (float16 convolution on a CPU
in torch 1.13) is reported as unsupported in the hello and in the error of a request asking for it.
"""

import argparse
import array
import importlib.util
import json
import math
import platform
import sys

PROTOCOL = 1
BRIDGE = {"name": "adzone-torch-bridge", "version": "1.0.0"}
LAYER_KINDS = ["conv2d", "relu", "maxpool"]
HEX_WIDTH = {"float16": 4, "bfloat16": 4, "float32": 8, "float64": 16}

torch = None  # imported in main(), so that a missing torch is an answer, not a traceback
F = None


class BadMessage(Exception):
    """A request that breaks the protocol: `field` is the JSON path of the offending field."""

    def __init__(self, field, message, code="bad-message"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


# ---------------------------------------------------------------------------------------------
# Checking requests (the protocol's schema, by hand: the bridge depends on nothing but torch).


def _type_name(v):
    return "null" if v is None else type(v).__name__


def check_object(v, field, required, optional=()):
    if not isinstance(v, dict):
        raise BadMessage(field or "(message)", "expected an object, got %s" % _type_name(v))
    for k in required:
        if k not in v:
            raise BadMessage(_join(field, k), "missing")
    for k in v:
        if k not in required and k not in optional:
            raise BadMessage(_join(field, k), "unknown field")
    return v


def _join(field, key):
    if isinstance(key, int):
        return "%s[%d]" % (field, key)
    return "%s.%s" % (field, key) if field else key


def check_int(v, field, minimum):
    if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
        raise BadMessage(field, "expected an integer >= %d, got %s" % (minimum, json.dumps(v)))
    return v


def check_pair(v, field, minimum):
    if not isinstance(v, list) or len(v) != 2:
        raise BadMessage(field, "expected [rows, cols], got %s" % json.dumps(v))
    return (check_int(v[0], _join(field, 0), minimum), check_int(v[1], _join(field, 1), minimum))


def check_tensor(v, field, dtype, shape):
    check_object(v, field, ("shape", "bits"))
    got = v["shape"]
    if not isinstance(got, list) or any(not isinstance(d, int) or isinstance(d, bool) or d < 0 for d in got):
        raise BadMessage(_join(field, "shape"), "expected a list of integers >= 0")
    if shape is not None and list(got) != list(shape):
        raise BadMessage(_join(field, "shape"), "expected %s, got %s" % (list(shape), got))
    bits = v["bits"]
    n = 1
    for d in got:
        n *= d
    if not isinstance(bits, str) or any(c not in "0123456789abcdef" for c in bits):
        raise BadMessage(_join(field, "bits"), "expected lowercase hex digits")
    if len(bits) != n * HEX_WIDTH[dtype]:
        raise BadMessage(_join(field, "bits"), "shape %s needs %d hex digits of %s, got %d" % (got, n * HEX_WIDTH[dtype], dtype, len(bits)))
    return v


def out_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def check_layer(v, field, shape):
    """Check one layer spec against its input shape; returns (layer, output shape)."""
    if not isinstance(v, dict) or v.get("kind") not in LAYER_KINDS:
        raise BadMessage(_join(field, "kind"), "expected one of %s" % ", ".join("'%s'" % k for k in LAYER_KINDS))
    kind = v["kind"]
    if kind == "relu":
        check_object(v, field, ("kind",))
        return v, shape
    if kind == "maxpool":
        check_object(v, field, ("kind", "kernel", "stride", "padding"))
    else:
        check_object(v, field, ("kind", "outChannels", "kernel", "stride", "padding", "bias"))
        check_int(v["outChannels"], _join(field, "outChannels"), 1)
        if not isinstance(v["bias"], bool):
            raise BadMessage(_join(field, "bias"), "expected true or false")
    k = check_pair(v["kernel"], _join(field, "kernel"), 1)
    s = check_pair(v["stride"], _join(field, "stride"), 1)
    p = check_pair(v["padding"], _join(field, "padding"), 0)
    if kind == "maxpool" and (2 * p[0] > k[0] or 2 * p[1] > k[1]):
        raise BadMessage(_join(field, "padding"), "must be at most half the kernel")
    oh, ow = out_size(shape[2], k[0], s[0], p[0]), out_size(shape[3], k[1], s[1], p[1])
    if oh < 1 or ow < 1:
        raise BadMessage(field, "input %dx%d gives an empty output" % (shape[2], shape[3]))
    return v, [shape[0], v["outChannels"] if kind == "conv2d" else shape[1], oh, ow]


def check_problem(v, field, dtype):
    check_object(v, field, ("input", "layers", "params", "cotangent"))
    check_tensor(v["input"], _join(field, "input"), dtype, None)
    shape = v["input"]["shape"]
    if len(shape) != 4:
        raise BadMessage(_join(field, "input.shape"), "expected 4 dimensions (NCHW)")
    layers, params = v["layers"], v["params"]
    if not isinstance(layers, list) or not layers:
        raise BadMessage(_join(field, "layers"), "expected a non-empty list")
    if not isinstance(params, list) or len(params) != len(layers):
        raise BadMessage(_join(field, "params"), "expected one entry per layer (%d)" % len(layers))
    shapes = [shape]
    for i, layer in enumerate(layers):
        lf = "%s.layers[%d]" % (field, i)
        _, out = check_layer(layer, lf, shapes[-1])
        pf = "%s.params[%d]" % (field, i)
        if layer["kind"] != "conv2d":
            if params[i] is not None:
                raise BadMessage(pf, "expected null: a %s layer has no parameters" % layer["kind"])
        else:
            check_object(params[i], pf, ("weight",) + (("bias",) if layer["bias"] else ()))
            k = layer["kernel"]
            check_tensor(params[i]["weight"], pf + ".weight", dtype, [layer["outChannels"], shapes[-1][1], k[0], k[1]])
            if layer["bias"]:
                check_tensor(params[i]["bias"], pf + ".bias", dtype, [layer["outChannels"]])
        shapes.append(out)
    check_tensor(v["cotangent"], _join(field, "cotangent"), dtype, shapes[-1])
    return v


def check_run(msg):
    check_object(msg, "", ("type", "id", "dtype", "problem"), ("device",))
    if not isinstance(msg["id"], str) or not msg["id"]:
        raise BadMessage("id", "expected a non-empty string")
    if msg["dtype"] not in HEX_WIDTH:
        raise BadMessage("dtype", "expected one of %s, got %s" % (", ".join(HEX_WIDTH), json.dumps(msg["dtype"])))
    if "device" in msg and not isinstance(msg["device"], str):
        raise BadMessage("device", "expected a string")
    check_problem(msg["problem"], "problem", msg["dtype"])
    return msg


def check_hello(msg):
    check_object(msg, "", ("type", "protocols", "client"))
    if not isinstance(msg["protocols"], list) or not msg["protocols"]:
        raise BadMessage("protocols", "expected a non-empty list of versions")
    check_object(msg["client"], "client", ("name", "version"))
    if PROTOCOL not in msg["protocols"]:
        raise BadMessage("protocols", "this bridge speaks protocol %d; the client offers %s" % (PROTOCOL, msg["protocols"]), "unsupported")
    return msg


# ---------------------------------------------------------------------------------------------
# Exact tensors: big-endian hex of the IEEE bit patterns <-> torch tensors.


def _codes():
    codes = {}
    for c in "HILQ":
        codes.setdefault(array.array(c).itemsize, c)
    return codes


ARRAY_CODE = _codes()


def dtypes():
    return {
        "float16": (torch.float16, torch.int16),
        "bfloat16": (torch.bfloat16, torch.int16),
        "float32": (torch.float32, torch.int32),
        "float64": (torch.float64, torch.int64),
    }


def decode(t, dtype, device):
    fdt, idt = dtypes()[dtype]
    width = HEX_WIDTH[dtype] // 2
    a = array.array(ARRAY_CODE[width])
    a.frombytes(bytes.fromhex(t["bits"]))
    if sys.byteorder == "little":
        a.byteswap()
    if len(a) == 0:
        return torch.empty(t["shape"], dtype=fdt, device=device)
    bits = torch.frombuffer(a, dtype=idt).clone()
    return bits.view(fdt).reshape(t["shape"]).to(device)


def encode(x, dtype):
    _, idt = dtypes()[dtype]
    width = HEX_WIDTH[dtype]
    mask = (1 << (4 * width)) - 1
    flat = x.detach().to("cpu").contiguous().view(idt).reshape(-1).tolist()
    fmt = "%0" + str(width) + "x"
    return {"shape": list(x.shape), "bits": "".join(fmt % (v & mask) for v in flat)}


# ---------------------------------------------------------------------------------------------
# The computation: torch's own operators, autograd's gradient, every layer's output.


def load_module(spec):
    path, _, name = spec.rpartition(":")
    if not path or not name:
        raise SystemExit("--module expects FILE.py:ClassName, got %r" % spec)
    loader = importlib.util.spec_from_file_location("adzone_user_module", path)
    if loader is None:
        raise SystemExit("--module: cannot load %s" % path)
    mod = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(mod)
    if not hasattr(mod, name):
        raise SystemExit("--module: %s defines no %s" % (path, name))
    return getattr(mod, name)


class Session:
    def __init__(self, default_device, module_spec=None):
        self.default_device = default_device
        self.module_spec = module_spec
        self.module = load_module(module_spec) if module_spec else None
        self.devices = self.probe_devices()

    def maxpool(self, a, layer):
        k, s, p = tuple(layer["kernel"]), tuple(layer["stride"]), tuple(layer["padding"])
        if self.module is None:
            return F.max_pool2d(a, k, s, p)
        return self.module(kernel_size=k, stride=s, padding=p).to(a.device)(a)

    def forward(self, problem, dtype, device):
        x = decode(problem["input"], dtype, device).requires_grad_()
        leaves, outs, a = [x], [], x
        for layer, p in zip(problem["layers"], problem["params"]):
            kind = layer["kind"]
            if kind == "conv2d":
                w = decode(p["weight"], dtype, device).requires_grad_()
                b = decode(p["bias"], dtype, device).requires_grad_() if layer["bias"] else None
                leaves += [w] + ([b] if b is not None else [])
                a = F.conv2d(a, w, b, tuple(layer["stride"]), tuple(layer["padding"]))
            elif kind == "relu":
                a = F.relu(a)
            else:
                a = self.maxpool(a, layer)
            outs.append(a)
        return leaves, outs

    def compute(self, problem, dtype, device):
        leaves, outs = self.forward(problem, dtype, device)
        cot = decode(problem["cotangent"], dtype, device)
        grads = torch.autograd.grad(outs[-1], leaves, grad_outputs=cot, allow_unused=True)
        grads = [torch.zeros_like(l) if g is None else g for l, g in zip(leaves, grads)]
        it = iter(grads[1:])
        params = []
        for layer in problem["layers"]:
            if layer["kind"] != "conv2d":
                params.append(None)
                continue
            entry = {"weight": encode(next(it), dtype)}
            if layer["bias"]:
                entry["bias"] = encode(next(it), dtype)
            params.append(entry)
        return {"forward": [encode(o, dtype) for o in outs], "grads": {"input": encode(grads[0], dtype), "params": params}}

    def probe_devices(self):
        """Which dtypes run conv2d, relu and maxpool forward and backward on each device (tried, not assumed)."""
        names = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        out = []
        for name in names:
            ok, bad = [], {}
            for dtype in HEX_WIDTH:
                try:
                    self.probe(name, dtype)
                    ok.append(dtype)
                except Exception as e:  # noqa: BLE001 - the reason is reported, not hidden
                    bad[dtype] = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            desc = torch.cuda.get_device_name(0) if name == "cuda" else "%s, torch threads: %d" % (platform.machine(), torch.get_num_threads())
            out.append({"name": name, "dtypes": ok, **({"unsupported": bad} if bad else {}), "description": desc})
        return out

    def probe(self, device, dtype):
        one = {"float16": "3c00", "bfloat16": "3f80", "float32": "3f800000", "float64": "3ff0000000000000"}[dtype]

        def t(shape):
            return {"shape": shape, "bits": one * math.prod(shape)}

        problem = {
            "input": t([1, 1, 3, 3]),
            "layers": [
                {"kind": "conv2d", "outChannels": 1, "kernel": [2, 2], "stride": [1, 1], "padding": [1, 1], "bias": True},
                {"kind": "relu"},
                {"kind": "maxpool", "kernel": [2, 2], "stride": [2, 2], "padding": [1, 1]},
            ],
            "params": [{"weight": t([1, 1, 2, 2]), "bias": t([1])}, None, None],
            "cotangent": t([1, 1, 3, 3]),
        }
        self.compute(problem, dtype, device)

    def hello(self):
        frameworks = {"torch": torch.__version__, "python": platform.python_version()}
        if torch.version.cuda:
            frameworks["cuda"] = torch.version.cuda
        caps = {
            "devices": self.devices,
            "defaultDevice": self.default_device,
            "layers": LAYER_KINDS,
            "forwardValues": True,
        }
        if self.module_spec:
            caps["maxpool"] = self.module_spec
        return {"type": "hello", "protocol": PROTOCOL, "bridge": BRIDGE, "frameworks": frameworks, "capabilities": caps}

    def run(self, msg):
        dtype = msg["dtype"]
        device = msg.get("device", self.default_device)
        dev = next((d for d in self.devices if d["name"] == device), None)
        if dev is None:
            raise BadMessage("device", "no device %r here (have %s)" % (device, ", ".join(d["name"] for d in self.devices)), "unsupported")
        if dtype not in dev["dtypes"]:
            why = dev.get("unsupported", {}).get(dtype, "not supported")
            raise BadMessage("dtype", "%s on %s: %s" % (dtype, device, why), "unsupported")
        out = self.compute(msg["problem"], dtype, device)
        return {"type": "result", "id": msg["id"], "dtype": dtype, "device": device, **out}


# ---------------------------------------------------------------------------------------------
# The session loop, shared by stdio and batch mode.


def error(id_, code, message, field=None):
    e = {"code": code, "message": message}
    if field:
        e["field"] = field
    return {"type": "error", "id": id_, "error": e}


def handle(session, line, n, state):
    """One input line -> one output message (and whether the session must end)."""
    try:
        msg = json.loads(line)
    except ValueError as e:
        return error(None, "bad-message", "line %d is not JSON: %s" % (n, e)), False
    rid = msg.get("id") if isinstance(msg, dict) and isinstance(msg.get("id"), str) else None
    try:
        mtype = msg.get("type") if isinstance(msg, dict) else None
        if not state["hello"]:
            if mtype != "hello":
                raise BadMessage("type", "expected the client's hello first, got %s" % json.dumps(mtype))
            check_hello(msg)
            state["hello"] = True
            return session.hello(), False
        if mtype != "run":
            raise BadMessage("type", "expected 'run', got %s" % json.dumps(mtype))
        return session.run(check_run(msg)), False
    except BadMessage as e:
        return error(rid, e.code, e.message, e.field), not state["hello"]
    except Exception as e:  # noqa: BLE001 - a failed computation is an answer, not a crash
        return error(rid, "failed", "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")), False


def serve(session, lines, write):
    state = {"hello": False}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        reply, end = handle(session, line, n, state)
        write(reply)
        if end:
            return 2
    return 0


def writer(stream):
    def write(msg):
        stream.write(json.dumps(msg, separators=(",", ":")) + "\n")
        stream.flush()

    return write


def main(argv):
    ap = argparse.ArgumentParser(description="adzone's PyTorch bridge (AD protocol %d)" % PROTOCOL)
    ap.add_argument("--device", default="cpu", help="default device of requests: cpu or cuda (default cpu)")
    ap.add_argument("--module", help="FILE.py:Class, an nn.Module used for every maxpool layer instead of F.max_pool2d")
    ap.add_argument("--batch", metavar="PROBLEMS", help="read a problems file (JSON Lines) instead of stdin")
    ap.add_argument("--out", metavar="RESULTS", help="with --batch: where the results file goes")
    ap.add_argument("--hello", action="store_true", help="print the hello (versions, devices, dtypes) and exit")
    args = ap.parse_args(argv)
    if args.batch and not args.out:
        ap.error("--batch needs --out RESULTS")
    global torch, F
    try:
        import torch as _torch
        import torch.nn.functional as _F
    except ImportError as e:
        sys.stderr.write("adzone-torch-bridge: cannot import torch (%s) with %s\n" % (e, sys.executable))
        return 2
    torch, F = _torch, _F
    # Problems are tiny: one thread avoids overhead and a machine-dependent summation split.
    torch.set_num_threads(1)
    session = Session(args.device, args.module)
    if not any(d["name"] == args.device for d in session.devices):
        sys.stderr.write("adzone-torch-bridge: --device %s is not available here (have %s)\n" % (args.device, ", ".join(d["name"] for d in session.devices)))
        return 2
    if args.hello:
        writer(sys.stdout)(session.hello())
        return 0
    if args.batch:
        with open(args.batch, encoding="utf-8") as src, open(args.out, "w", encoding="utf-8") as dst:
            return serve(session, src, writer(dst))
    return serve(session, sys.stdin, writer(sys.stdout))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
