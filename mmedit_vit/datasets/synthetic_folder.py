"""A small generated ImageNet-style folder dataset, for the classification demo and tests.

Each class is a texture a ViT can tell apart from 32-64 px images in a few dozen steps, under
3-Augment's grayscale/solarize/blur, flips and crops: stripes at a class-specific orientation and
frequency, with random phase, colours and noise.
"""
import os
import os.path as osp
from typing import Dict

import numpy as np
from PIL import Image


def _texture(rng: np.random.Generator, label: int, size: int) -> np.ndarray:
    # horizontal or vertical stripes (a flip keeps them apart) at 2, 5, 12.5, ... cycles per image
    # (random-resized crops rescale by less than the 2.5x between classes)
    vertical = label % 2
    cycles = 2 * 2.5 ** (label // 2)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    coord = xx if vertical else yy
    wave = np.sin(2 * np.pi * cycles * coord / size + rng.uniform(0, 2 * np.pi))
    low, high = rng.uniform(0, 90, 3), rng.uniform(165, 255, 3)
    img = low + (high - low) * (wave[..., None] + 1) / 2
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_synthetic_folder(root: str, num_classes: int = 4, train_per_class: int = 48, val_per_class: int = 16,
                          size: int = 48, seed: int = 0) -> Dict[str, int]:
    """Writes ``root/{train,val}/class_XX/*.png``; returns the number of images per split.

    Each image is a function of (seed, split, class, index) alone; existing files are kept, so repeated
    calls are cheap and give the same dataset.
    """
    if not 2 <= num_classes <= 6:
        raise ValueError(f'num_classes={num_classes} must be in [2, 6] (stripe frequencies must fit {size} px)')
    counts = {}
    for split_id, (split, per_class) in enumerate((('train', train_per_class), ('val', val_per_class))):
        for label in range(num_classes):
            folder = osp.join(root, split, f'class_{label:02d}')
            os.makedirs(folder, exist_ok=True)
            for i in range(per_class):
                path = osp.join(folder, f'{i:04d}.png')
                if not osp.exists(path):
                    rng = np.random.default_rng([seed, split_id, label, i])
                    Image.fromarray(_texture(rng, label, size)).save(path)
        counts[split] = num_classes * per_class
    return counts
