#!/usr/bin/env python3
"""adzone's PyTorch training bridge: PyTorch as a training backend (`adzone train --backend torch`).

adzone (Node) stays in charge of the run: data order, augmentation, the evaluation schedule,
checkpoints, metrics and result.json. This process holds the model and the optimizer state and does
the steps. The model is built from adzone's backend-neutral ModelSpec (PyTorch parameter names) with
the parameters adzone sends (its seeded initParams, or a checkpoint's), and computed with torch's own
operators, except where adzone's definitions decide the numbers:

  maxpool    a custom torch.autograd.Function: the forward is the window's max (exactly what
             F.max_pool2d returns); the backward sends each window's gradient to its tie set (every
             entry equal to the max) with the weights of the run's Jacobian beta(b) = b*minnorm +
             (1 - b)*first: the first tied entry gets round_p(1 - b(k-1)/k), every other round_p(b/k),
             as the engine does (src/engine/ops/maxpool2d.ts). betaMode 'mixed-forward' builds the
             paper's round_p(round_p(b*m) + round_p((1-b)*m)) from a minnorm and a first branch.
  relu       F.relu, or with ReLU'(0) = alpha != 0 a custom Function (alpha*dy where x == 0).
  optimizer  adzone's SGD / Adam (src/engine/optim/sgd.ts, adam.ts): every update op one torch op
             in the master format q (separate mul and add: no fused multiply-add, no alpha), in the
             engine's order, so that from the same gradient the update is the engine's bit for bit.
  loss       F.cross_entropy (mean), torch's own, like conv2d, linear, batch_norm and the pools.

The protocol (adzone-torch-train 1) is one message per frame, both ways: a JSON line, then, when the
line says `"bytes": n`, n bytes of arrays, laid end to end in the order of its `"arrays"` list
([{"name", "dtype": "float32"|"float64"|"int32", "shape"}]), each from a multiple of 8 bytes (zero
padding between), little-endian IEEE 754: exact, and
compact (a LeNet batch of 64 is 200 kB of float32, not 400 kB of hex text).

  client -> {"type":"hello","protocol":1,"client":{...}}
  bridge -> {"type":"hello","protocol":1,"bridge":{...},"frameworks":{"torch":...},"devices":[...]}
  client -> {"type":"init","id":...,"device","dtype","threads","spec","jacobian","optimizer"} + parameters, buffers
  client -> {"type":"step","id":...,"lr":...} + x, labels       -> "stepped" + loss, logits (training mode)
  client -> {"type":"evaluate","id":...} + x, labels            -> "evaluated" + loss, logits (inference mode)
  client -> {"type":"grads","id":...} + x, labels               -> "grads" + loss, logits, grad/<name> (no step)
  client -> {"type":"export","id":...}                          -> "state" + param/, buffer/, opt/ arrays
  client -> {"type":"import","id":...,"optimizer":{...}} + param/, buffer/, opt/ arrays -> "imported"
  client -> {"type":"bound","id":...} + x, labels               -> "bound": float32 rounding bounds (adzone_torch_bound.py)
  any    -> {"type":"error","id":...,"error":{"code":"unsupported"|"bad-message"|"failed","message":...,"field"?:...}}

The client ends the session by closing stdin. Needs Python 3 and torch (numpy, which torch brings,
for writing arrays). Shares the verification bridge's device probe (adzone_torch_bridge.py).
"""

import json
import math
import os
import platform
import sys
import time

PROTOCOL = 1
BRIDGE = {"name": "adzone-torch-train", "version": "1.0.0"}
DTYPES = ("float16", "bfloat16", "float32", "float64")
# Significand bits (with the hidden one), minimum and maximum exponent of each training dtype.
FORMATS = {"float16": (11, -14, 15), "bfloat16": (8, -126, 127), "float32": (24, -126, 127)}

torch = None  # imported in main(), so that a missing torch is one line, not a traceback
F = None


class Refused(Exception):
    """A request this bridge answers with an error message: code 'unsupported', 'bad-message' or 'failed'; `field` the request's field at fault."""

    def __init__(self, code, message, field=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


# ---------------------------------------------------------------------------------------------
# Frames: a JSON line, then the arrays it lists.

WIRE = {"float32": 4, "float64": 8, "int32": 4}


def read_exactly(stream, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = stream.readinto(view[got:])
        if not k:
            raise EOFError("the stream ended %d bytes into a %d-byte payload" % (got, n))
        got += k
    return buf


def read_frame(stream):
    """(header, {name: tensor}) or (None, None) at the end of the stream."""
    line = stream.readline()
    if not line:
        return None, None
    head = json.loads(line)
    if not isinstance(head, dict):
        raise Refused("bad-message", "a frame's line must be a JSON object")
    n = head.get("bytes", 0)
    payload = read_exactly(stream, n) if n else bytearray()
    arrays, at = {}, 0
    for a in head.get("arrays", []):
        at = (at + 7) & ~7  # every array starts at a multiple of 8 bytes
        wire = {"float32": torch.float32, "float64": torch.float64, "int32": torch.int32}.get(a.get("dtype"))
        if wire is None:
            raise Refused("bad-message", "array %r: dtype must be float32, float64 or int32" % a.get("name"))
        count = math.prod(a["shape"])
        size = count * WIRE[a["dtype"]]
        if at + size > n:
            raise Refused("bad-message", "array %r runs past the payload (%d bytes)" % (a["name"], n))
        t = torch.frombuffer(payload, dtype=wire, count=count, offset=at) if count else torch.empty(0, dtype=wire)
        arrays[a["name"]] = t.reshape(a["shape"])
        at += size
    if at != n:
        raise Refused("bad-message", "the arrays take %d bytes, the payload has %d" % (at, n))
    return head, arrays


def write_frame(stream, head, arrays=()):
    """Write a header and (name, tensor) pairs; float tensors go as float32 when exact (16/32-bit dtypes), else float64."""
    import numpy

    parts, listing, at = [], [], 0
    for name, t in arrays:
        t = t.detach().to("cpu")
        if t.dtype in (torch.float16, torch.bfloat16):
            t = t.to(torch.float32)  # exact: every 16-bit value is a float32
        wire = {torch.float32: "float32", torch.float64: "float64", torch.int32: "int32"}[t.dtype]
        pad = -at % 8  # every array starts at a multiple of 8 bytes
        data = numpy.ascontiguousarray(t.numpy()).astype("<" + {"float32": "f4", "float64": "f8", "int32": "i4"}[wire], copy=False).tobytes()
        parts += [b"\0" * pad, data]
        at += pad + len(data)
        listing.append({"name": name, "dtype": wire, "shape": list(t.shape)})
    body = b"".join(parts)
    head = dict(head, arrays=listing, bytes=len(body))
    stream.write(json.dumps(head, separators=(",", ":")).encode("utf-8") + b"\n")
    stream.write(body)
    stream.flush()


# ---------------------------------------------------------------------------------------------
# Exact rounding of a double to a training format (round to nearest, ties to even), as
# src/precision rounds: the constants of the update and of the Jacobians are made as the engine makes them.


def round_to(x, dtype):
    if dtype == "float64" or x == 0 or x != x or math.isinf(x):
        return x
    p, emin, emax = FORMATS[dtype]
    _, e = math.frexp(x)
    quantum = math.ldexp(1.0, max(e - 1, emin) - (p - 1))
    r = round(x / quantum) * quantum  # x / quantum is exact; round() is half-to-even
    if abs(r) > (2 - 2.0 ** (1 - p)) * 2.0**emax:
        return math.copysign(math.inf, x)
    return math.copysign(r, x) if r == 0 else r


def scalar(x, dtype, device):
    """A 0-dim tensor holding round_dtype(x): a Python scalar cast by torch could round twice (double -> float -> 16 bits)."""
    return torch.tensor(round_to(float(x), dtype), dtype=torch.float64).to(getattr(torch, dtype)).to(device)


# ---------------------------------------------------------------------------------------------
# The MaxPool Jacobian family and ReLU'(0) as autograd Functions.


def tie_weights(member, k):
    """Exact weights (first, others) of a member over a tie set of size k (src/jacobians/family.ts tieWeights)."""
    kind = member["kind"]
    if kind == "first" or k == 1:
        return (1.0, 0.0)
    if kind == "minnorm":
        return (1.0 / k, 1.0 / k)
    b = member["beta"]
    return (float(k - b * (k - 1)) / float(k), float(b) / float(k))


def weight_table(member, window, dtype, device):
    """[window + 1, 2]: row k holds round_p(first's weight), round_p(the others') for a tie set of size k (row 0 unused)."""
    rows = [(0.0, 0.0)] + [tuple(round_to(w, dtype) for w in tie_weights(member, k)) for k in range(1, window + 1)]
    return torch.tensor(rows, dtype=torch.float64).to(getattr(torch, dtype)).to(device)


def windows(x, kernel, stride, padding):
    """[N, C, K, L] view of every pooling window (row-major within the window, as the engine's tie sets), and which taps are real (not padding)."""
    n, c, h, w = x.shape
    ph, pw = padding
    if ph or pw:
        xp = F.pad(x, (pw, pw, ph, ph), value=-math.inf)
        real = F.unfold(F.pad(torch.ones(1, 1, h, w, dtype=x.dtype, device=x.device), (pw, pw, ph, ph)), kernel, stride=stride) != 0
        real = real.view(1, 1, kernel[0] * kernel[1], -1)
    else:
        xp, real = x, None
    cols = F.unfold(xp, kernel, stride=stride)
    return cols.view(n, c, kernel[0] * kernel[1], -1), real, xp.shape[2:]


def make_functions():
    """The autograd Functions, defined once torch is imported."""

    class MaxPoolTies(torch.autograd.Function):
        """y = the window's max; dx = the tie set's weights (first / others, by tie-set size) times dy."""

        @staticmethod
        def forward(ctx, x, kernel, stride, padding, table):
            n, c, h, w = x.shape
            cols, real, padded = windows(x, kernel, stride, padding)
            m = cols.amax(dim=2, keepdim=True)
            tie = cols == m
            if real is not None:
                tie = tie & real  # padding never attains the max
            nan = torch.isnan(cols)
            if bool(nan.any()):  # the engine's convention: a window holding NaN outputs NaN, its tie set is the first NaN
                first_nan = nan & (nan.cumsum(dim=2) == 1)
                tie = torch.where(nan.any(dim=2, keepdim=True), first_nan, tie)
            k = tie.sum(dim=2, keepdim=True)
            rank = tie.cumsum(dim=2)
            w_first = table[:, 0][k]
            w_other = table[:, 1][k]
            weights = torch.where(tie, torch.where(rank == 1, w_first, w_other), torch.zeros((), dtype=x.dtype, device=x.device))
            ctx.save_for_backward(weights)
            ctx.geometry = (kernel, stride, padding, (n, c, h, w), padded)
            oh = (padded[0] - kernel[0]) // stride[0] + 1
            ow = (padded[1] - kernel[1]) // stride[1] + 1
            return m.view(n, c, oh, ow)

        @staticmethod
        def backward(ctx, gy):
            (weights,) = ctx.saved_tensors
            kernel, stride, padding, (n, c, h, w), padded = ctx.geometry
            g = gy.reshape(n, c, 1, -1)
            # Zero weights are structural zeros: 0 * inf is not NaN here, as in the engine.
            gcols = torch.where(weights != 0, weights * g, torch.zeros((), dtype=gy.dtype, device=gy.device))
            dx = F.fold(gcols.view(n, c * kernel[0] * kernel[1], -1), padded, kernel, stride=stride)
            ph, pw = padding
            return dx[:, :, ph : ph + h, pw : pw + w], None, None, None, None

    class ReluAlpha(torch.autograd.Function):
        """ReLU with ReLU'(0) = alpha: dx = dy where x > 0, round_p(alpha * dy) where x == 0, 0 elsewhere."""

        @staticmethod
        def forward(ctx, x, alpha):
            ctx.save_for_backward(x, alpha)
            return F.relu(x)

        @staticmethod
        def backward(ctx, gy):
            x, alpha = ctx.saved_tensors
            zero = torch.zeros((), dtype=gy.dtype, device=gy.device)
            return torch.where(x > 0, gy, torch.where(x == 0, alpha * gy, zero)), None

    return MaxPoolTies, ReluAlpha


# ---------------------------------------------------------------------------------------------
# The network of a ModelSpec.


def params_of(layers, out=None):
    """PyTorch names and shapes in src/models/spec.ts paramsOf order (depth first, body before shortcut)."""
    out = [] if out is None else out
    for l in layers:
        kind = l["kind"]
        if kind == "conv2d":
            out.append(("%s.weight" % l["name"], [l["outChannels"], l["inChannels"]] + list(l["kernel"])))
            if l["bias"]:
                out.append(("%s.bias" % l["name"], [l["outChannels"]]))
        elif kind == "linear":
            out.append(("%s.weight" % l["name"], [l["outFeatures"], l["inFeatures"]]))
            if l["bias"]:
                out.append(("%s.bias" % l["name"], [l["outFeatures"]]))
        elif kind == "batchnorm2d":
            out += [("%s.weight" % l["name"], [l["channels"]]), ("%s.bias" % l["name"], [l["channels"]])]
        elif kind == "residual":
            params_of(l["body"], out)
            params_of(l["shortcut"], out)
    return out


def buffers_of(layers, out=None):
    out = [] if out is None else out
    for l in layers:
        if l["kind"] == "batchnorm2d":
            out += [("%s.running_mean" % l["name"], [l["channels"]]), ("%s.running_var" % l["name"], [l["channels"]])]
        elif l["kind"] == "residual":
            buffers_of(l["body"], out)
            buffers_of(l["shortcut"], out)
    return out


class Net:
    """Parameters (leaf tensors of the dtype, requiring grad) and BN buffers by PyTorch name, and the forward of the spec."""

    def __init__(self, spec, dtype, device, jacobian, values, functions):
        self.spec, self.dtype, self.device = spec, dtype, device
        self.tdtype = getattr(torch, dtype)
        self.pool_fn, self.relu_fn = functions
        self.param_specs = params_of(spec["layers"])
        self.buffer_specs = buffers_of(spec["layers"])
        self.params = {}
        self.buffers = {}
        self.load(values, required=True)
        self.jacobian = jacobian
        self.tables = {}
        member = {"kind": "beta", "beta": jacobian["beta"]}
        self.mixed = jacobian.get("betaMode") == "mixed-forward"
        self.members = {"minnorm": {"kind": "minnorm"}, "first": {"kind": "first"}} if self.mixed else {"run": member}
        self.beta_p = scalar(jacobian["beta"], dtype, device)
        self.one_minus_beta_p = scalar(1 - jacobian["beta"], dtype, device)
        alpha = round_to(float(jacobian.get("reluAlpha", 0)), dtype)
        self.alpha = None if alpha == 0 else scalar(alpha, dtype, device)

    def load(self, values, required=False):
        """Set parameters and buffers from adzone's values (values of p, so the cast is exact)."""
        for name, shape in self.param_specs + self.buffer_specs:
            v = values.get(name)
            if v is None:
                if required and (name, shape) in self.param_specs:
                    raise Refused("bad-message", "no values for parameter %r" % name)
                if required:  # a BN buffer: mean 0, var 1, as initBuffers
                    v = (torch.ones if name.endswith("running_var") else torch.zeros)(shape, dtype=torch.float64)
                else:
                    continue
            if list(v.shape) != list(shape) and v.numel() == math.prod(shape):
                v = v.reshape(shape)
            if list(v.shape) != list(shape):
                raise Refused("bad-message", "%r has shape %s, expected %s" % (name, list(v.shape), shape))
            t = v.to(self.tdtype).to(self.device)
            if (name, shape) in self.param_specs:
                self.params[name] = t.clone().requires_grad_(True)
            else:
                self.buffers[name] = t.clone()

    def table(self, key, window):
        t = self.tables.get((key, window))
        if t is None:
            t = weight_table(self.members[key], window, self.dtype, self.device)
            self.tables[(key, window)] = t
        return t

    def maxpool(self, l, a):
        kernel, stride, padding = tuple(l["kernel"]), tuple(l["stride"]), tuple(l["padding"])
        window = kernel[0] * kernel[1]
        if not self.mixed:
            return self.pool_fn.apply(a, kernel, stride, padding, self.table("run", window))
        # The paper's code: two pools with the same max, mixed in the forward pass; each product and the sum rounded to p.
        m1 = self.pool_fn.apply(a, kernel, stride, padding, self.table("minnorm", window))
        m2 = self.pool_fn.apply(a, kernel, stride, padding, self.table("first", window))
        return torch.add(torch.mul(self.beta_p, m1), torch.mul(self.one_minus_beta_p, m2))

    def layer(self, l, a, training):
        kind = l["kind"]
        p = self.params.get
        if kind == "conv2d":
            return F.conv2d(a, p(l["name"] + ".weight"), p(l["name"] + ".bias"), tuple(l["stride"]), tuple(l["padding"]))
        if kind == "linear":
            return F.linear(a, p(l["name"] + ".weight"), p(l["name"] + ".bias"))
        if kind == "relu":
            return F.relu(a) if self.alpha is None else self.relu_fn.apply(a, self.alpha)
        if kind == "maxpool":
            return self.maxpool(l, a)
        if kind == "batchnorm2d":
            rm, rv = self.buffers[l["name"] + ".running_mean"], self.buffers[l["name"] + ".running_var"]
            return F.batch_norm(a, rm, rv, p(l["name"] + ".weight"), p(l["name"] + ".bias"), training, l["momentum"], l["eps"])
        if kind == "avgpool":
            return F.avg_pool2d(a, tuple(l["kernel"]), tuple(l["stride"]))
        if kind == "globalavgpool":
            return a.mean(dim=(2, 3), keepdim=True)
        if kind == "flatten":
            return a.reshape(a.shape[0], -1)
        if kind == "residual":
            return self.run(l["body"], a, training) + self.run(l["shortcut"], a, training)
        raise Refused("unsupported", "layer kind %r" % kind)

    def run(self, layers, a, training):
        for l in layers:
            a = self.layer(l, a, training)
        return a

    def forward(self, x, training):
        return self.run(self.spec["layers"], x, training)


# ---------------------------------------------------------------------------------------------
# adzone's optimizers (src/engine/optim): one torch op per rounded op of the engine, in its order.


class Optimizer:
    """SGD (momentum, weight decay, Nesterov; dampening 0) or Adam (L2 added to the gradient), per parameter state in q."""

    def __init__(self, o, dtype, device):
        self.kind = o["kind"]
        self.o = o
        self.p = dtype
        masters = o.get("masterWeights", "p") == "32" and dtype in ("float16", "bfloat16")
        self.q = "float32" if masters else dtype
        self.device = device
        self.state = {}  # name -> {"step", "master" (tensor or None), "buffers": {name: tensor}}, in order of first step
        self.constants = {}

    def c(self, x):
        """round_q(x) as a 0-dim tensor, made once per value."""
        t = self.constants.get(x)
        if t is None:
            if len(self.constants) > 64:  # Adam's step sizes change every step: keep the hyperparameters', not theirs
                self.constants.clear()
            t = self.constants[x] = scalar(x, self.q, self.device)
        return t

    def step(self, params, grads, lr):
        for name, param in params.items():
            g = grads[name]
            e = self.state.get(name)
            if e is None:
                e = {"step": 0, "master": param.detach().to(getattr(torch, self.q)).clone() if self.q != self.p else None, "buffers": {}}
                self.state[name] = e
            w = e["master"] if e["master"] is not None else param.detach()
            g = g.to(getattr(torch, self.q))
            new_w = self.sgd(e, w, g, lr) if self.kind == "sgd" else self.adam(e, w, g, lr)
            if e["master"] is not None:
                e["master"] = new_w
                new_w = new_w.to(param.dtype)  # round_p(master)
            with torch.no_grad():
                param.copy_(new_w)

    def sgd(self, e, w, g, lr):
        o = self.o
        mu, wd = o.get("momentum", 0), o.get("weightDecay", 0)
        if wd != 0:
            g = torch.add(g, torch.mul(self.c(wd), w))
        if mu != 0:
            buf = e["buffers"].get("momentum")
            buf = g.clone() if buf is None else torch.add(torch.mul(self.c(mu), buf), g)
            e["buffers"]["momentum"] = buf
            g = torch.add(g, torch.mul(self.c(mu), buf)) if o.get("nesterov") else buf
        return torch.sub(w, torch.mul(self.c(lr), g))

    def adam(self, e, w, g, lr):
        o = self.o
        b1, b2, eps, wd = o.get("beta1", 0.9), o.get("beta2", 0.999), o.get("eps", 1e-8), o.get("weightDecay", 0)
        if wd != 0:
            g = torch.add(g, torch.mul(self.c(wd), w))
        m = e["buffers"].get("exp_avg")
        m = torch.zeros_like(w) if m is None else m
        v = e["buffers"].get("exp_avg_sq")
        v = torch.zeros_like(w) if v is None else v
        e["step"] += 1
        t = e["step"]
        # In double, then rounded to q, as the engine computes them (Math.pow here is C's pow).
        step_size = self.c(lr / (1 - b1**t))
        c2s = self.c(math.sqrt(1 - b2**t))
        m = torch.add(m, torch.mul(self.c(1 - b1), torch.sub(g, m)))
        v = torch.add(torch.mul(self.c(b2), v), torch.mul(self.c(1 - b2), torch.mul(g, g)))
        e["buffers"]["exp_avg"], e["buffers"]["exp_avg_sq"] = m, v
        denom = torch.add(torch.div(torch.sqrt(v), c2s), self.c(eps))
        return torch.sub(w, torch.mul(step_size, torch.div(m, denom)))

    def export(self):
        """adzone's OptimizerState params and arrays (`${name}/master`, `${name}/${buffer}`)."""
        entries, arrays = [], []
        for name, e in self.state.items():
            if e["master"] is not None:
                arrays.append(("opt/%s/master" % name, e["master"]))
            for b, t in e["buffers"].items():
                arrays.append(("opt/%s/%s" % (name, b), t))
            entries.append({"name": name, "step": e["step"], "master": e["master"] is not None, "buffers": list(e["buffers"])})
        return entries, arrays

    def load(self, entries, arrays, params):
        """Replace the state by adzone's export (arrays flat, in the parameters' shapes once here)."""
        qd = getattr(torch, self.q)
        state = {}
        for p in entries:
            if p["name"] not in params:
                raise Refused("bad-message", "optimizer state for %r, which is no parameter of the model" % p["name"])
            shape = params[p["name"]].shape

            def get(k, name=p["name"], shape=shape):
                a = arrays.get("opt/%s/%s" % (name, k))
                if a is None or a.numel() != math.prod(shape):
                    raise Refused("bad-message", "optimizer array opt/%s/%s is missing or has the wrong size" % (name, k))
                return a.reshape(shape).to(qd).to(self.device).clone()

            state[p["name"]] = {
                "step": int(p["step"]),
                "master": get("master") if p["master"] else None,
                "buffers": {b: get(b) for b in p["buffers"]},
            }
        self.state = state


# ---------------------------------------------------------------------------------------------
# The session.


class Session:
    def __init__(self, devices):
        self.devices = devices
        self.net = None
        self.opt = None
        self.functions = make_functions()

    def hello(self):
        frameworks = {"torch": torch.__version__, "python": platform.python_version()}
        if torch.version.cuda:
            frameworks["cuda"] = torch.version.cuda
        return {"type": "hello", "protocol": PROTOCOL, "bridge": BRIDGE, "frameworks": frameworks, "devices": self.devices}

    def init(self, head, arrays):
        device, dtype = head.get("device", "cpu"), head.get("dtype")
        if dtype not in DTYPES:
            raise Refused("bad-message", "dtype must be one of %s, got %r" % (", ".join(DTYPES), dtype))
        dev = next((d for d in self.devices if d["name"] == device), None)
        if dev is None:
            have = ", ".join(d["name"] for d in self.devices)
            why = "torch %s here has no CUDA device (torch.cuda.is_available() is false)" % torch.__version__ if device == "cuda" else "no such device"
            raise Refused("unsupported", "%s; devices here: %s" % (why, have), "device")
        torch.set_num_threads(int(head.get("threads", 1)))
        if device == "cuda":
            # Deterministic kernels where torch has them, so that a resumed run continues as it would have.
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
            torch.use_deterministic_algorithms(True, warn_only=True)
        net = Net(head["spec"], dtype, device, head["jacobian"], values_of(arrays), self.functions)
        self.probe(net)
        self.net = net
        self.opt = Optimizer(head["optimizer"], dtype, device)
        return {"type": "ready", "dtype": dtype, "device": device, "threads": torch.get_num_threads()}, ()

    def probe(self, net):
        """One forward and backward of the model on one zero image in the dtype: what the device cannot run is said now, in torch's words."""
        c, h, w = net.spec["input"]
        x = torch.zeros(2, c, h, w, dtype=net.tdtype, device=net.device)
        saved = {k: v.clone() for k, v in net.buffers.items()}
        try:
            loss = F.cross_entropy(net.forward(x, True), torch.zeros(2, dtype=torch.int64, device=net.device))
            torch.autograd.grad(loss, list(net.params.values()), allow_unused=True)
        except (RuntimeError, TypeError, NotImplementedError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise Refused("unsupported", "torch %s says: %s" % (torch.__version__, first), "dtype")
        finally:
            for k, v in saved.items():
                net.buffers[k].copy_(v)

    def batch(self, arrays):
        x, labels = arrays.get("x"), arrays.get("labels")
        if x is None or labels is None:
            raise Refused("bad-message", "a batch needs arrays 'x' and 'labels'")
        return x.to(self.net.tdtype).to(self.net.device), labels.to(torch.int64).to(self.net.device)

    def gradients(self, x, labels):
        net = self.net
        logits = net.forward(x, True)
        loss = F.cross_entropy(logits, labels)
        names = list(net.params)
        gs = torch.autograd.grad(loss, [net.params[n] for n in names], allow_unused=True)
        grads = {n: (torch.zeros_like(net.params[n]) if g is None else g) for n, g in zip(names, gs)}
        return loss.detach(), logits.detach(), grads

    def step(self, head, arrays):
        self.need_net()
        x, labels = self.batch(arrays)
        t0 = time.perf_counter()
        loss, logits, grads = self.gradients(x, labels)
        self.opt.step(self.net.params, grads, float(head["lr"]))
        if self.net.device == "cuda":
            torch.cuda.synchronize()
        ms = 1000 * (time.perf_counter() - t0)
        return {"type": "stepped", "ms": ms}, (("loss", loss.reshape(1)), ("logits", logits))

    def grads(self, head, arrays):
        """The step's loss, logits and gradient without the step (BN running statistics left as they were)."""
        self.need_net()
        x, labels = self.batch(arrays)
        saved = {k: v.clone() for k, v in self.net.buffers.items()}
        loss, logits, grads = self.gradients(x, labels)
        for k, v in saved.items():
            self.net.buffers[k].copy_(v)
        return {"type": "grads"}, [("loss", loss.reshape(1)), ("logits", logits)] + [("grad/" + n, g) for n, g in grads.items()]

    def evaluate(self, head, arrays):
        self.need_net()
        x, labels = self.batch(arrays)
        with torch.no_grad():
            logits = self.net.forward(x, False)
            loss = F.cross_entropy(logits, labels)
        return {"type": "evaluated"}, (("loss", loss.reshape(1)), ("logits", logits))

    def export(self, head, arrays):
        self.need_net()
        entries, opt = self.opt.export()
        out = [("param/" + n, t) for n, t in self.net.params.items()] + [("buffer/" + n, t) for n, t in self.net.buffers.items()]
        return {"type": "state", "optimizer": {"params": entries}}, out + opt

    def load(self, head, arrays):
        self.need_net()
        self.net.load(values_of(arrays))
        self.opt.load(head.get("optimizer", {}).get("params", []), arrays, self.net.params)
        return {"type": "imported"}, ()

    def bound(self, head, arrays):
        self.need_net()
        import adzone_torch_bound

        x, labels = self.batch(arrays)
        try:
            return adzone_torch_bound.bound(self.net, x, labels, torch, F, windows)
        except ValueError as e:
            raise Refused("unsupported", str(e))

    def need_net(self):
        if self.net is None:
            raise Refused("bad-message", "no model yet: send 'init' first")

    def handle(self, head, arrays):
        kind = head.get("type")
        ops = {"init": self.init, "step": self.step, "grads": self.grads, "evaluate": self.evaluate, "export": self.export, "import": self.load, "bound": self.bound}
        if kind not in ops:
            raise Refused("bad-message", "unknown message type %r" % kind)
        return ops[kind](head, arrays)


def values_of(arrays):
    """Parameters and buffers by PyTorch name from arrays named param/<name> and buffer/<name>."""
    return {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(("param/", "buffer/"))}


def error(rid, code, message, field=None):
    return {"type": "error", "id": rid, "error": dict({"code": code, "message": message}, **({"field": field} if field else {}))}


def serve(session, src, dst):
    head, _ = read_frame(src)
    if head is None:
        return 0
    if head.get("type") != "hello" or PROTOCOL not in ([head.get("protocol")] + list(head.get("protocols", []))):
        write_frame(dst, error(head.get("id"), "unsupported", "expected a hello offering protocol %d" % PROTOCOL))
        return 2
    write_frame(dst, session.hello())
    while True:
        rid = None
        try:
            head, arrays = read_frame(src)
            if head is None:
                return 0
            rid = head.get("id")
            reply, out = session.handle(head, arrays)
            write_frame(dst, dict(reply, id=rid), out)
        except Refused as e:
            write_frame(dst, error(rid, e.code, e.message, e.field))
        except (EOFError, ValueError) as e:  # a torn frame: the session cannot go on
            write_frame(dst, error(rid, "bad-message", "%s: %s" % (type(e).__name__, e)))
            return 2
        except Exception as e:  # noqa: BLE001 - a failed computation is an answer, not a crash
            first = (str(e).strip().splitlines() or [""])[0][:300]
            write_frame(dst, error(rid, "failed", "%s: %s" % (type(e).__name__, first)))


def main(argv):
    global torch, F
    if "--help" in argv or "-h" in argv:
        print(__doc__)
        return 0
    try:
        import torch as _torch
        import torch.nn.functional as _F
    except ImportError as e:
        sys.stderr.write("adzone-torch-train: cannot import torch (%s) with %s\n" % (e, sys.executable))
        return 2
    torch, F = _torch, _F
    # The sibling modules are imported without writing __pycache__ beside them (an installed package's folder).
    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import adzone_torch_bridge as verification

    # The verification bridge's probe: which dtypes run conv2d, relu and maxpool, forward and backward, on each device.
    verification.torch, verification.F = torch, F
    torch.set_num_threads(1)
    devices = verification.Session("cpu").devices
    session = Session(devices)
    if "--hello" in argv:
        write_frame(sys.stdout.buffer, session.hello())
        return 0
    return serve(session, sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
