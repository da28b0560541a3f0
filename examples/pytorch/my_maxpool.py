"""A user's MaxPool: max pooling written with unfold + amax, as export paths to runtimes without
max_pool2d sometimes do. Its forward pass equals torch.nn.functional.max_pool2d; its gradient at
ties is amax's, which adzone measures through the bridge.

The bridge builds it like torch.nn.MaxPool2d: UnfoldMaxPool2d(kernel_size=(kh, kw), stride=(sh, sw), padding=(ph, pw)).
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair


class UnfoldMaxPool2d(nn.Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel = _pair(kernel_size)
        self.stride = _pair(stride if stride is not None else kernel_size)
        self.padding = _pair(padding)

    def forward(self, x):
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        # Pad with -inf, as max_pool2d's implicit padding: a padded cell never wins.
        x = F.pad(x, (pw, pw, ph, ph), value=float("-inf"))
        oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        cols = F.unfold(x, (kh, kw), stride=(sh, sw)).view(n, c, kh * kw, oh * ow)
        return cols.amax(dim=2).view(n, c, oh, ow)


if __name__ == "__main__":
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    for k, s, p in [((2, 2), (2, 2), (0, 0)), ((3, 2), (1, 2), (1, 1))]:
        assert torch.equal(UnfoldMaxPool2d(k, s, p)(x), F.max_pool2d(x, k, s, p)), (k, s, p)
    print("forward equals F.max_pool2d")
