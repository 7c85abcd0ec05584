"""Pure PyTorch building blocks of the ViT family (no OpenMMLab imports); timm's layers reused."""
from .attention import Attention
from .attention_gate import GATE_MODES, GATE_POSITIONS, AttentionGate
from .block import Block
from .context_broadcast import CB_MODES, BroadcastMlp, ContextBroadcast
from .edit_decoder import EDITDecoderLayer
from .probe import MapProbe, capture_maps

__all__ = [
    'Attention', 'AttentionGate', 'Block', 'GATE_MODES', 'GATE_POSITIONS', 'ContextBroadcast', 'BroadcastMlp',
    'CB_MODES', 'EDITDecoderLayer', 'MapProbe', 'capture_maps',
]
