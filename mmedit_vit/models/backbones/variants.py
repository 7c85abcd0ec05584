"""The backbone variants compared throughout the project, as registry configs (callers add arch)."""
BACKBONE_VARIANTS = {
    'deit3': dict(type='PlainViT'),
    'reg4': dict(type='PlainViT', num_registers=4),
    'gated': dict(type='GatedViT'),
    'cb': dict(type='CBViT', layer_scale_init=None),  # the CB paper's ViTs are DeiT ViTs: no LayerScale
    'edit': dict(type='EDITViT'),
}
