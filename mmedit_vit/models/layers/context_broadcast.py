"""Context Broadcasting: uniform attention injected at the end of the MLP block.

``cb``:        x_i <- 0.5 x_i + 0.5 mean_j x_j                 (no parameters)
``cbs``:       x_i <- x_i + Lambda * mean_j x_j                 (Lambda in R^d, learnable)
``cb_gate``:   x_i <- x_i * (x_0 + 1)                           (x_0: the [CLS] token; appendix B.7)
``cb_hybrid``: x_i <- x_i * x_0 + 0.5 x_i + 0.5 mean_j x_j      (appendix B.7)
The mean runs over every token of the sequence, as in the paper's one-line implementation.
"""
import torch
from timm.layers import Mlp
from torch import nn

CB_MODES = ('cb', 'cbs', 'cb_gate', 'cb_hybrid')
CLS_CB_MODES = ('cb_gate', 'cb_hybrid')


class ContextBroadcast(nn.Module):
    """Adds the mean token to every token (see the module docstring for the modes)."""

    def __init__(self, dim: int, mode: str = 'cb', scale_init: float = 1.0) -> None:
        super().__init__()
        if mode not in CB_MODES:
            raise ValueError(f'cb_mode={mode!r} is not supported; choose one of {CB_MODES}')
        self.mode = mode
        self.scale = nn.Parameter(torch.full((dim,), scale_init)) if mode == 'cbs' else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == 'cb_gate':
            return x * (x[:, :1] + 1)
        mean = x.mean(dim=1, keepdim=True)
        if self.mode == 'cbs':
            return torch.addcmul(x, self.scale, mean)
        broadcast = torch.lerp(x, mean, 0.5)
        if self.mode == 'cb_hybrid':
            return torch.addcmul(broadcast, x, x[:, :1])
        return broadcast

    def extra_repr(self) -> str:
        return f'mode={self.mode}'


class BroadcastMlp(Mlp):
    """timm's ``Mlp`` followed by context broadcasting (the CB paper's 'End' position).

    Parameter names stay ``fc1`` / ``fc2`` (plus ``cb.scale`` for ``cbs``), so plain ViT checkpoints
    load into CB models.
    """

    def __init__(self, *args, cb_mode: str = 'cb', cbs_init: float = 1.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cb = ContextBroadcast(self.fc2.out_features, cb_mode, cbs_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cb(super().forward(x))
