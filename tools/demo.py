"""Main job: build every backbone at Tiny/Small/Base, print parameters and FLOPs, run a real image.

    python tools/demo.py [--image demo/demo.png] [--skip-flops]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mmengine.registry import MODELS  # noqa: E402

import mmedit_vit  # noqa: E402,F401
from mmedit_vit.analysis import LinearClassifier, count_flops, count_parameters  # noqa: E402
from mmedit_vit.models.backbones.variants import BACKBONE_VARIANTS  # noqa: E402

IMAGENET_MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
IMAGENET_STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def load_image(path: str) -> torch.Tensor:
    if not os.path.isfile(path):
        raise SystemExit(f'image not found: {path}')
    img = np.asarray(Image.open(path).convert('RGB'), dtype=np.float32)
    return torch.from_numpy((img - IMAGENET_MEAN) / IMAGENET_STD).permute(2, 0, 1)[None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--image', default='demo/demo.png')
    parser.add_argument('--skip-flops', action='store_true', help='only count parameters (no tracing)')
    args = parser.parse_args()
    torch.manual_seed(0)
    image = load_image(args.image)

    print(f'{"backbone":<10} {"size":<6} {"params (M)":>11} {"GFLOPs":>8}   (1000-class linear head, 224x224)')
    for name, cfg in BACKBONE_VARIANTS.items():
        for size in ('tiny', 'small', 'base'):
            model = LinearClassifier(MODELS.build(dict(cfg, arch=size, out_cls_token=True)))
            flops = '-' if args.skip_flops else f'{count_flops(model) / 1e9:8.2f}'
            print(f'{name:<10} {size:<6} {count_parameters(model) / 1e6:11.2f} {flops:>8}', flush=True)

    print(f'\nforward pass on {args.image} {tuple(image.shape[2:])} (Small, random weights, out_indices 3/5/7/11):')
    for name, cfg in BACKBONE_VARIANTS.items():
        backbone = MODELS.build(dict(cfg, arch='small', out_indices=(3, 5, 7, 11))).eval()
        start = time.perf_counter()
        with torch.no_grad():
            feats = backbone(image)
        shapes = ', '.join(str(tuple(f.shape)) for f in feats)
        print(f'{name:<10} {shapes}  {1000 * (time.perf_counter() - start):.0f} ms')


if __name__ == '__main__':
    main()
