"""Sigmoid gate on attention (gated attention for ViTs): O' = O * sigmoid(X W + b)."""
import torch
from torch import nn

from .probe import MapProbe

GATE_MODES = ('none', 'headwise', 'elementwise')
GATE_POSITIONS = ('sdpa', 'value')


class AttentionGate(nn.Linear):
    """Gate scores from the block's normed input: one per channel (elementwise, W is d x d, as the gated
    proposal writes O * sigmoid(X W + b)) or one per head (headwise, W is d x heads).

    A ``nn.Linear`` itself, so the parameters are ``gate.weight`` / ``gate.bias`` as in timm's gated
    attention. Initialised like any linear layer, so scores start near 0.5.
    """

    def __init__(self, dim: int, num_heads: int, mode: str = 'elementwise') -> None:
        if mode not in GATE_MODES[1:]:
            raise ValueError(f'gate={mode!r} is not supported; choose one of {GATE_MODES}')
        super().__init__(dim, num_heads if mode == 'headwise' else dim)
        self.mode = mode
        self.num_heads = num_heads
        self.expose_maps = False
        self.score_probe = MapProbe()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns scores shaped (B, N, heads, 1) headwise or (B, N, heads, head_dim) elementwise."""
        B, N, _ = x.shape
        scores = super().forward(x).sigmoid().view(B, N, self.num_heads, -1)
        if self.expose_maps:
            self.score_probe(scores)
        return scores
