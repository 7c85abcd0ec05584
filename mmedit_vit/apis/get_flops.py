"""Parameters and FLOPs (multiply-adds, as timm / fvcore / the papers count them) of a config's model.

    python tools/get_flops.py CONFIG [--shape H [W]] [--cfg-options k=v ...]
    python tools/get_flops.py --all [--variants deit3 edit ...] [--sizes tiny small base]

CONFIG: a classification, segmentation or detection config of this project, or a bare backbone
config. Default input: 224x224 (classification), the crop size (segmentation), 800x1280 (detection).
``--all`` prints every backbone variant and size as an ImageNet classifier (1000 classes, 224x224)
next to the EDIT paper's Table 1.
"""
import argparse
import os.path as osp


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', nargs='?', help='config file')
    p.add_argument('--shape', type=int, nargs='+', help='input height [width]')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries')
    p.add_argument('--all', action='store_true', help='table of every backbone variant and size')
    p.add_argument('--variants', nargs='+', help='with --all: variants to count (default: all)')
    p.add_argument('--sizes', nargs='+', help='with --all: sizes to count (default: tiny small base)')
    args = p.parse_args(argv)
    if args.all == bool(args.config):
        p.error('give a CONFIG or --all (not both)')
    if args.shape is not None and (len(args.shape) not in (1, 2) or min(args.shape) < 1):
        p.error(f'--shape takes H or H W (positive), got {args.shape}')
    return args


def main(argv=None):
    args = parse_args(argv)
    import mmedit_vit  # noqa: F401  (registers the models)
    from mmedit_vit.apis.config_complexity import SIZES, backbone_table, count_config, format_table
    from mmedit_vit.models.backbones.variants import BACKBONE_VARIANTS

    if args.all:
        rows = backbone_table(args.variants or list(BACKBONE_VARIANTS), args.sizes or list(SIZES))
        print('ImageNet classifiers, 224x224, 1000 classes; FLOPs = multiply-adds')
        print(format_table(rows))
        return rows

    from mmengine.config import Config
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    result = count_config(cfg, args.shape)
    h, w = result['shape']
    print(f"{args.config} ({result['task']}, {result['model']})\n"
          f'input shape: 1x3x{h}x{w}\n'
          f"params: {result['params'] / 1e6:.2f}M\n"
          f"flops:  {result['flops'] / 1e9:.2f}G (multiply-adds)")
    return result

