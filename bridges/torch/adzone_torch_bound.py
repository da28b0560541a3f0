"""Rounding bounds for one training step of a sequential network (the 'bound' request of adzone_torch_train.py).

Question answered: two implementations (adzone's engine and PyTorch, say) compute the loss and the
gradient of the same network at the same parameters theta and batch x (values of the format p, unit
roundoff u), each with its own summation order, fused or separate multiply-adds, its own faithful exp
and log. How far apart can they be? A running error analysis (Higham, Accuracy and Stability of
Numerical Algorithms, ch. 3) carries, for every value of the forward and backward pass:

  a   its exact value (computed here in float64 from the same theta and x: its own error is ~1e-16
      relative, covered by a 1e-6 relative margin on every bound),
  e   a bound on |computed - exact| for any implementation (what the magnitudes below use: a
      computed value is at most |a| + e),
  D   a bound on |computed by one - computed by the other|.

D is not 2e: where both implementations apply the same correctly rounded elementwise operation to
identical inputs (the mixed forward's products and sum, MaxPool's weight * gradient), they get the
same result and D stays 0 although e grows. Everywhere else D = 2 * (the operation's own rounding) +
(the inputs' D carried through the operation).

The one rule for sums: a sum of m nonzero terms in any order, with or without fused multiply-adds,
is within gamma_m * sum|terms| of the exact sum (gamma_m = m u / (1 - m u)), gamma_{m-1} when every
product is exact. A term that is exactly zero in both implementations (a zero weight, an input known
to be exactly 0) rounds nothing; a product by an input known to be 0 or a power of two is exact.

Forward, layer by layer:
  conv2d / linear   eps = the sum rule over each output (m = its nonzero terms, the bias one of them);
                    e' = eps + |W| e,  D' = 2 eps + |W| D
  relu              e, D kept where the exact input is > 0, 0 where it is < 0
  maxpool           e, D: their max over the window's tie set (beta backward mode); mixed forward
                    y = round(round(b m) + round((1-b) m)): e' = e + eps_mix, D' = 0 where D = 0
                    (the same three roundings of the same m), else D + 2 eps_mix
  flatten           a reshape
Loss, mean cross-entropy over N rows of K logits z: a row moves by at most (||s - y||_1 + 2 e_inf)
times the logits' difference (s = softmax, y = one-hot; the gradient's 1-norm near z); its own
rounding (z - max: u A with A = max|z - max|; exp and log faithful, 2u relative each; the sum of K
exponentials gamma_{K-1}; log-softmax's subtractions) is bounded by 1.01 u (2A + 2|log S| + |l| + K + 4);
the mean adds gamma_{N+1} mean|l| and u |L|.
Backward, dL/dz = (s - y)/N computed either as e_k/S (the engine) or as exp(log-softmax) (torch):
relative error rho = 1.01 u (2A + |log s| + 2|log S| + K + 6) of s, the subtraction of the one-hot
and the /N; s moves by at most s (exp(2 dz_inf) - 1) when the logits move by dz_inf.
  conv2d / linear   input gradient W^T d, t = out*kh*kw (or out) terms: eps = gamma_t |W|^T (|d| + e_d),
                    D' = 2 eps + |W|^T D_d; weight gradient sum of d (x) a over M = N*H*W (or N)
                    terms: eps = gamma_M sum (|d| + e_d)(|a| + e_a),
                    D = 2 eps + sum D_d (|a| + e_a) + sum (|d| + e_d) D_a; bias alike
  relu              masked (ReLU'(0) = alpha at exact zeros: one more product)
  maxpool           the tie weights w (rounded to p: the same in both) times d, each product rounded
                    (the same in both when D_d = 0) and at most c windows adding into one input
                    (gamma_c, in any order, when c > 1); mixed forward: round(b d) through the
                    minnorm branch, round((1-b) d) through the first branch, the two added in p

Routing: every bound assumes both implementations route as the exact pass does. Reported:
'uncertain' decisions (a ReLU input within e of 0, a MaxPool window whose max is within the errors
of a value outside its tie set: the bound may not hold there) and 'assumedTies' (tie sets of two or
more entries that carry an error: the bound assumes both implementations keep them, which holds when
the tied entries come from the same operations on the same operands, as identical input patches do).
Only conv2d, relu, maxpool, flatten and linear layers are analysed.
"""

import math

UNIT = {"float16": 2.0**-11, "bfloat16": 2.0**-8, "float32": 2.0**-24, "float64": 2.0**-53}
MARGIN = 1 + 1e-6  # the float64 evaluation's own rounding, far below this


def gamma(n, u):
    if n * u >= 1:
        raise ValueError("a sum of %d terms is too long for the unit roundoff %g" % (n, u))
    return n * u / (1 - n * u)


class Bound:
    def __init__(self, net, torch, F, windows):
        self.net, self.torch, self.F, self.windows = net, torch, F, windows
        self.u = UNIT[net.dtype]
        self.f64 = torch.float64
        self.P = {k: v.detach().to(self.f64) for k, v in net.params.items()}
        self.uncertain = {"relu": 0, "maxpool": 0}
        self.assumed = 0

    # ---- helpers ------------------------------------------------------------------------------

    def weight(self, l):
        return self.P[l["name"] + ".weight"]

    def bias(self, l):
        return self.P.get(l["name"] + ".bias") if l.get("bias") else None

    def affine(self, l, a, W, b=None):
        if l["kind"] == "conv2d":
            return self.F.conv2d(a, W, b, tuple(l["stride"]), tuple(l["padding"]))
        return self.F.linear(a, W, b)

    @staticmethod
    def per_channel(b, like):
        return b.view(1, -1, *([1] * (like.dim() - 2)))

    def gammas(self, n):
        n = n.clamp_min(0)
        if float((n * self.u).max()) >= 1:
            raise ValueError("a sum too long for the unit roundoff %g" % self.u)
        return n * self.u / (1 - n * self.u)

    def zeros(self, t):
        return self.torch.zeros_like(t)

    # ---- forward ------------------------------------------------------------------------------

    def affine_rounding(self, l, a, e):
        """The sum rule over each output of a conv2d / linear whose inputs are within e of a."""
        torch = self.torch
        W, b = self.weight(l), self.bias(l)
        known = e == 0
        frac, _ = torch.frexp(a.abs())
        exact_product = known & ((a == 0) | (frac == 0.5))
        count = self.affine(l, ((a != 0) | ~known).to(self.f64), (W != 0).to(self.f64))
        mag_in = a.abs() + e
        mag = self.affine(l, mag_in, W.abs())
        if b is not None:
            count = count + self.per_channel(b != 0, count).to(self.f64)
            mag = mag + self.per_channel(b.abs(), mag)
        inexact = self.affine(l, torch.where(exact_product, self.zeros(mag_in), mag_in), W.abs())
        g_exact = self.gammas(count - 1)
        return g_exact * mag + (self.gammas(count) - g_exact) * inexact

    def forward(self, x):
        a = x.to(self.f64)
        e, D = self.zeros(a), self.zeros(a)
        tape = []
        for l in self.net.spec["layers"]:
            kind = l["kind"]
            tape.append((l, a, e, D))
            if kind in ("conv2d", "linear"):
                eps = self.affine_rounding(l, a, e)
                absW = self.weight(l).abs()
                a, e, D = self.affine(l, a, self.weight(l), self.bias(l)), eps + self.affine(l, e, absW), 2 * eps + self.affine(l, D, absW)
            elif kind == "relu":
                self.uncertain["relu"] += int((((a.abs() <= e) & (a != 0)) | ((a == 0) & (e > 0))).sum())
                on = a > 0
                a, e, D = self.F.relu(a), self.torch.where(on, e, self.zeros(e)), self.torch.where(on, D, self.zeros(D))
            elif kind == "maxpool":
                a, e, D = self.pool_forward(l, a, e, D)
            elif kind == "flatten":
                a, e, D = (t.reshape(t.shape[0], -1) for t in (a, e, D))
            else:
                raise ValueError("the bound analyses conv2d, relu, maxpool, flatten and linear layers, not %r" % kind)
        return a, e, D, tape

    def pool_windows(self, l, t, fill):
        torch = self.torch
        cols, real, _ = self.windows(t, tuple(l["kernel"]), tuple(l["stride"]), tuple(l["padding"]))
        return cols if real is None else torch.where(real, cols, torch.full_like(cols, fill))

    def pool_forward(self, l, a, e, D):
        torch, u = self.torch, self.u
        cols, ecols, dcols = self.pool_windows(l, a, -math.inf), self.pool_windows(l, e, 0.0), self.pool_windows(l, D, 0.0)
        m = cols.amax(dim=2, keepdim=True)
        tie = cols == m
        over_tie = lambda t: torch.where(tie, t, self.zeros(t)).amax(dim=2)  # noqa: E731
        e_m, D_m = over_tie(ecols), over_tie(dcols)
        others = torch.where(tie, torch.full_like(cols, math.inf), m - cols - ecols)
        self.uncertain["maxpool"] += int((others <= e_m.unsqueeze(2)).any(dim=2).sum())
        self.assumed += int(((tie.sum(dim=2) >= 2) & (e_m > 0)).sum())
        oh, ow = self.out_size(l, a)
        shape = (a.shape[0], a.shape[1], oh, ow)
        m, e_m, D_m = m.reshape(shape), e_m.reshape(shape), D_m.reshape(shape)
        if not self.net.mixed:
            return m, e_m, D_m
        # round(round(b m) + round((1 - b) m)) = m exactly over the reals; three roundings, the same in both where m is.
        b, c = float(self.net.beta_p), float(self.net.one_minus_beta_p)
        eps = 2.01 * u * (abs(b) + abs(c)) * (m.abs() + e_m)
        return m, e_m + eps, torch.where(D_m > 0, D_m + 2 * eps, self.zeros(D_m))

    @staticmethod
    def out_size(l, a):
        (kh, kw), (sh, sw), (ph, pw) = l["kernel"], l["stride"], l["padding"]
        return (a.shape[2] + 2 * ph - kh) // sh + 1, (a.shape[3] + 2 * pw - kw) // sw + 1

    # ---- loss and its gradient ----------------------------------------------------------------

    def loss(self, z, ez, Dz, labels):
        """Exact loss, its bounds e and D, and dL/dz with its e and D."""
        torch, u = self.torch, self.u
        n, k = z.shape
        y = torch.nn.functional.one_hot(labels, k).to(self.f64)
        m = z.amax(dim=1, keepdim=True)
        A = (z - m).abs().amax(dim=1, keepdim=True)
        log_S = torch.logsumexp(z - m, dim=1, keepdim=True)
        ls = z - m - log_S
        s = ls.exp()
        rows = -(ls * y).sum(dim=1, keepdim=True)
        loss = float(rows.mean())
        e_inf, D_inf = ez.amax(dim=1, keepdim=True), Dz.amax(dim=1, keepdim=True)
        lip = (s - y).abs().sum(dim=1, keepdim=True) + 2 * e_inf
        row_round = 1.01 * u * (2 * A + 2 * log_S.abs() + rows.abs() + k + 4)
        mean_round = gamma(n + 1, u) * float(rows.abs().mean()) + u * abs(loss)
        e_loss = float((lip * e_inf + row_round).mean()) + mean_round
        D_loss = float((lip * D_inf + 2 * row_round).mean()) + 2 * mean_round
        rho = 1.01 * u * (2 * A + ls.abs() + 2 * log_S.abs() + k + 6)
        near = s * torch.exp(2 * e_inf)  # s at any logits within e of z
        rounding = (near * rho + u * (near + 3 * ((s - y).abs() + near - s))) / n * (1 + 2 * u)
        dz = (s - y) / n
        e_dz = s * (torch.exp(2 * e_inf) - 1) / n + rounding
        D_dz = near * (torch.exp(2 * D_inf) - 1) / n + 2 * rounding
        return loss, e_loss, D_loss, (dz, e_dz, D_dz)

    # ---- backward -----------------------------------------------------------------------------

    def backward(self, tape, g):
        out = {}
        for l, a, e, D in reversed(tape):
            kind = l["kind"]
            if kind in ("conv2d", "linear"):
                self.affine_grads(l, (a, e, D), g, out)
                g = self.affine_input(l, a, g)
            elif kind == "relu":
                g = self.relu_back(a, g)
            elif kind == "maxpool":
                g = self.pool_back(l, a, g)
            elif kind == "flatten":
                g = tuple(t.reshape(a.shape) for t in g)
        return out

    def affine_grads(self, l, x, g, out):
        torch = self.torch
        (a, e, Da), (d, ed, Dd) = x, g
        mag_d, mag_a = d.abs() + ed, a.abs() + e
        name = l["name"]
        if l["kind"] == "conv2d":
            terms = d.shape[0] * d.shape[2] * d.shape[3]
            wshape = self.P[name + ".weight"].shape
            outer = lambda p, q: torch.nn.grad.conv2d_weight(q, wshape, p, tuple(l["stride"]), tuple(l["padding"]))  # noqa: E731
            total = lambda p: p.sum(dim=(0, 2, 3))  # noqa: E731
        else:
            terms = d.shape[0]
            outer = lambda p, q: p.t() @ q  # noqa: E731
            total = lambda p: p.sum(dim=0)  # noqa: E731
        eps = gamma(terms, self.u) * outer(mag_d, mag_a)
        out[name + ".weight"] = (outer(d, a), eps + outer(ed, mag_a) + outer(d.abs(), e), 2 * eps + outer(Dd, mag_a) + outer(mag_d, Da))
        if l.get("bias"):
            eps = gamma(terms, self.u) * total(mag_d)
            out[name + ".bias"] = (total(d), eps + total(ed), 2 * eps + total(Dd))

    def affine_input(self, l, a, g):
        d, ed, Dd = g
        W = self.weight(l)
        if l["kind"] == "conv2d":
            back = lambda w, p: self.torch.nn.grad.conv2d_input(a.shape, w, p, tuple(l["stride"]), tuple(l["padding"]))  # noqa: E731
            terms = l["outChannels"] * l["kernel"][0] * l["kernel"][1]
        else:
            back = lambda w, p: p @ w  # noqa: E731
            terms = l["outFeatures"]
        eps = gamma(terms, self.u) * back(W.abs(), d.abs() + ed)
        return back(W, d), eps + back(W.abs(), ed), 2 * eps + back(W.abs(), Dd)

    def relu_back(self, a, g):
        torch, u = self.torch, self.u
        on = a > 0
        d, ed, Dd = (torch.where(on, t, self.zeros(t)) for t in g)
        if self.net.alpha is not None:
            al = float(self.net.alpha)
            zero = a == 0
            mag = g[0].abs() + g[1]
            d = torch.where(zero, al * g[0], d)
            ed = torch.where(zero, al * g[1] + u * al * mag, ed)
            Dd = torch.where(zero & (g[2] > 0), al * g[2] + 2 * u * al * mag, Dd)
        return d, ed, Dd

    def pool_back(self, l, a, g):
        """Each tie weight times the gradient, through the bridge's own Function in float64 (tables of the p-rounded weights)."""
        torch, u = self.torch, self.u
        kernel, stride, padding = tuple(l["kernel"]), tuple(l["stride"]), tuple(l["padding"])
        window = kernel[0] * kernel[1]
        c = math.ceil(kernel[0] / stride[0]) * math.ceil(kernel[1] / stride[1])
        g_c = gamma(c, u) if c > 1 else 0.0

        def scatter(tab, t):
            x = a.detach().clone().requires_grad_(True)
            y = self.net.pool_fn.apply(x, kernel, stride, padding, tab)
            return torch.autograd.grad(y, x, grad_outputs=t)[0]

        d, ed, Dd = g
        mag = d.abs() + ed
        branches = [("run", 1.0)] if not self.net.mixed else [("minnorm", float(self.net.beta_p)), ("first", float(self.net.one_minus_beta_p))]
        value, error, rounding, size, linear = 0, 0, 0, 0, 0
        for key, k in branches:
            tab = self.net.table(key, window).to(self.f64)
            w = tab.abs()
            # round(k d) (mixed only), then round(w * that) per tie entry, then at most c of those added per input
            mag_k = abs(k) * mag * (1 + u)
            first = u * abs(k) * mag if k != 1 else self.zeros(mag)
            value = value + scatter(tab, k * d)
            error = error + scatter(w, abs(k) * ed + first + u * mag_k) + g_c * scatter(w, mag_k)
            rounding = rounding + scatter(w, torch.where(Dd > 0, 2 * (first + u * mag_k), self.zeros(mag))) + 2 * g_c * scatter(w, mag_k)
            size = size + scatter(w, mag_k) * (1 + g_c + u)
            linear = linear + k * tab
        # Both implementations' gradients differ by at most Dd: the branches carry k_b (d1 - d2) each, so their sum
        # carries it through the combined weights |sum_b k_b w_b| (the run's beta weights), not through sum_b |k_b| |w_b|.
        D = scatter(linear.abs(), Dd) + rounding
        if len(branches) == 1:
            return value, error, D
        return value, error + u * size, torch.where(D > 0, D + 2 * u * size, self.zeros(D))

def bound(net, x, labels, torch, F, windows):
    """The 'bound' reply: the exact loss and gradient, their bounds e (either implementation against exact) and D (one against the other), routing counts."""
    b = Bound(net, torch, F, windows)
    with torch.enable_grad():
        z, ez, Dz, tape = b.forward(x)
        loss, e_loss, D_loss, g = b.loss(z, ez, Dz, labels)
        grads = b.backward(tape, g)
    scalar = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
    arrays = [("exact/loss", scalar(loss)), ("error/loss", scalar(e_loss * MARGIN)), ("diff/loss", scalar(D_loss * MARGIN))]
    for name in net.params:
        value, e, D = grads[name]
        arrays += [("exact/" + name, value), ("error/" + name, e * MARGIN), ("diff/" + name, D * MARGIN)]
    head = {"type": "bound", "unit": b.u, "uncertain": b.uncertain, "assumedTies": b.assumed}
    return head, arrays
