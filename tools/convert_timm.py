"""Convert a timm / DeiT / DeiT-III / AugReg / DINOv2-reg (timm format) checkpoint to this project's layout.

    python tools/convert_timm.py SRC DST [--type PlainViT] [--arch small] [--img-size 224]
                                 [--cfg-options layer_scale_init=None] [--missing-ok decoder]

SRC is a file or a hub name resolved as timm does (Hugging Face hub and its cache; HF_HUB_OFFLINE=1 works
with a filled cache): timm/deit3_small_patch16_224.fb_in1k, timm/vit_small_patch14_reg4_dinov2.lvd142m, ...

The backbone is built (width inferred from the checkpoint unless --arch is given; patch size and
register count likewise), the checkpoint is converted and loaded strictly, and DST holds
``{'state_dict': ..., 'meta': ...}`` that ``init_cfg=dict(type='Pretrained', checkpoint=DST)`` loads
as it is. Anything that does not fit stops the conversion with the keys named.
"""
import argparse
import os

import torch
from mmengine.config import DictAction
from mmengine.registry import MODELS

import mmedit_vit  # noqa: F401
from mmedit_vit.converters import (
    CheckpointMismatchError,
    convert_vit_state_dict,
    is_hub_name,
    read_checkpoint,
    unwrap_state_dict,
)
from mmedit_vit.models.backbones import ARCH_SETTINGS


def infer_backbone_cfg(state: dict, args: argparse.Namespace) -> dict:
    """Width, patch size and registers come from the tensors; the rest from the options."""
    cfg = dict(type=args.type, img_size=args.img_size)
    proj = next((v for k, v in state.items() if k.endswith('patch_embed.proj.weight')), None)
    if proj is None:
        raise SystemExit('the checkpoint has no patch_embed.proj.weight: not a ViT checkpoint')
    cfg['patch_size'] = proj.shape[-1]
    if args.arch:
        cfg['arch'] = args.arch
    else:
        by_width = {s['embed_dims']: name for name, s in ARCH_SETTINGS.items()}
        if proj.shape[0] not in by_width:
            raise SystemExit(f'embed dim {proj.shape[0]} matches none of {sorted(by_width)}: pass --arch')
        cfg['arch'] = by_width[proj.shape[0]]
    reg = state.get('reg_token', state.get('register_tokens'))
    if reg is not None:
        cfg['num_registers'] = reg.shape[1]
    cfg.update(args.cfg_options or {})
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='checkpoint file, or a hub name such as timm/deit3_small_patch16_224.fb_in1k')
    parser.add_argument('dst')
    parser.add_argument('--type', default='PlainViT', help='registered backbone: PlainViT, GatedViT, CBViT, EDITViT')
    parser.add_argument('--arch', default=None, help='tiny | small | base (default: inferred from the width)')
    parser.add_argument('--img-size', type=int, default=224, help='grid the position embedding is stored at')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='further backbone arguments')
    parser.add_argument('--missing-ok', nargs='+', default=[], metavar='REGEX',
                        help="model keys allowed to be absent (new modules keep their initialisation), e.g. decoder")
    args = parser.parse_args()

    try:
        state = unwrap_state_dict(read_checkpoint(args.src))
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(str(error))
    prefixed = any(k.startswith('backbone.') for k in state)
    cfg = infer_backbone_cfg({k.removeprefix('backbone.'): v for k, v in state.items()} if prefixed else state, args)
    model = MODELS.build(cfg)
    try:
        conversion = convert_vit_state_dict(state, model, missing_ok=args.missing_ok)
    except CheckpointMismatchError as error:
        raise SystemExit(f'{args.src}: {error}')
    model.load_state_dict(conversion.state_dict, strict=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    source = args.src if is_hub_name(args.src) else os.path.basename(args.src)
    torch.save({'state_dict': model.state_dict(), 'meta': {'backbone': cfg, 'source': source}}, args.dst)
    print(f'{args.src} -> {args.dst} as {cfg}')
    for note in conversion.notes:
        print(f'  - {note}')


if __name__ == '__main__':
    main()
