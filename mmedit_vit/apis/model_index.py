"""OpenMMLab's model index: ``model-index.yml`` and one ``configs/<family>/metafile.yaml`` per task family.

    python tools/model_index.py            # rewrite the files from the configs and the paper tables
    python tools/model_index.py --check    # exit status 1 if the files differ from what the sources give

Every top-level config (``configs/*.py``) is listed with its parameters and FLOPs (multiply-adds, as
``tools/get_flops.py`` counts them, at its default input size), its training data, and the number the papers
report for it (``mmedit_vit/analysis/paper_tables.py``), marked as the paper's. No weights are published.
The files are generated, never edited: ``tests/test_model_index.py`` regenerates them, counting every config
(``ShapeCounter``, shown equal to ``tools/get_flops.py``'s full count on a sample), and compares them.
"""
import argparse
import contextlib
import functools
import json
import os
import os.path as osp
import re
import sys
from typing import Callable, Dict, List, Optional, Tuple
from unittest import mock

from ..analysis import paper_tables as paper

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
INDEX_FILE = 'model-index.yml'
FAMILIES = {  # family: (config name pattern, task name)
    'segmentation': (r'(segmenter|upernet)_', 'Semantic Segmentation'),
    'detection': (r'(vitdet_)?maskrcnn_', 'Instance Segmentation'),
    'classification': (r'cls_', 'Image Classification'),
}
PAPERS = {
    'EDIT': 'EDIT: Enhancing Vision Transformers by Mitigating Attention Sink through an Encoder-Decoder '
            'Architecture',
    'CB': "Scratching Visual Transformer's Back with Uniform Attention",
    'gated': 'Eliminating High-Norm Artifacts in Vision Transformers via Gated Attention (proposal)',
}
README = {'segmentation': 'configs/README_segmentation.md', 'detection': 'configs/README_detection.md',
          'classification': 'configs/README_classification.md'}
CLS_DATA = {'in1k': 'ImageNet-1k', 'in100': 'ImageNet-100', 'in21k': 'ImageNet-21k', 'cifar10': 'CIFAR-10',
            'cifar100': 'CIFAR-100', 'flowers102': 'Flowers-102', 'dtd': 'DTD', 'caltech256': 'Caltech-256'}
SIZE_ROW = {'t': 'Ti', 's': 'S', 'b': 'B'}
PAPER_SOURCE = 'paper'  # every number in Results is the paper's, none is a run of this project
CB_CONTROL = ("the CB paper's ViT has no LayerScale: this config with "
              '--cfg-options model.backbone.layer_scale_init=None (configs/PROTOCOLS.md)')

# (params, flops, (H, W)) of a config's model
Counter = Callable[[str], Tuple[int, int, Tuple[int, int]]]


def top_level_configs(root: str = ROOT) -> List[str]:
    """``configs/<name>.py`` of every experiment (not the ``_base_`` pieces, not the demos), sorted."""
    return sorted(f'configs/{f}' for f in os.listdir(osp.join(root, 'configs')) if f.endswith('.py'))


def family_of(config: str) -> str:
    name = osp.basename(config)
    for family, (pattern, _) in FAMILIES.items():
        if re.match(pattern, name):
            return family
    raise ValueError(f'{config!r} belongs to no family; names start with segmenter_, upernet_, maskrcnn_, '
                     'vitdet_maskrcnn_ or cls_')


def parse_name(config: str) -> Tuple[str, str, str, str, str]:
    """``{method}_{variant}_{size}_{data}[_{option}]`` of a config file name."""
    m = re.fullmatch(r'(segmenter|upernet|vitdet_maskrcnn|maskrcnn|cls)_([a-z0-9]+)_([tsb])_([a-z0-9-]+)(?:_(.+))?',
                     osp.basename(config)[:-3])
    if m is None:
        raise ValueError(f'{config!r} does not follow {{method}}_{{variant}}_{{size}}_{{data}}[_{{option}}].py')
    return m.group(1), m.group(2), m.group(3), m.group(4), m.group(5) or ''


def training_data(config: str) -> List[str]:
    method, _, _, data, _ = parse_name(config)
    if method in ('segmenter', 'upernet'):
        return ['ADE20K']
    if method in ('maskrcnn', 'vitdet_maskrcnn'):
        return ['COCO']
    if data == 'in21k-ft-in1k':
        return ['ImageNet-21k', 'ImageNet-1k']
    if data not in CLS_DATA:
        raise ValueError(f'{config!r}: training data {data!r} is not known; known: {sorted(CLS_DATA)}')
    return [CLS_DATA[data]]


def _result(task: str, dataset: str, metrics: Dict[str, float], paper_name: str, table: str,
            row: str, note: str = '') -> dict:
    out = {'Task': task, 'Dataset': dataset, 'Metrics': metrics, 'Source': PAPER_SOURCE,
           'Paper': PAPERS[paper_name], 'Table': table, 'Row': row}
    if note:
        out['Note'] = note
    return out


def paper_results(config: str) -> List[dict]:
    """The papers' numbers for a config (``paper_tables``), each marked as the paper's; [] if none."""
    method, variant, size, data, option = parse_name(config)
    out = []
    cb_row = f'ViT-{SIZE_ROW[size]}' + (' + CB' if variant == 'cb' else '')
    note = CB_CONTROL if variant == 'deit3' else ''
    seg_row = f'Seg-{size.upper()} {"DeiT3" if variant == "deit3" else "EDIT"}'
    if method == 'segmenter' and variant in ('deit3', 'edit') and seg_row in paper.EDIT_TABLE5:
        ss, ms = paper.EDIT_TABLE5[seg_row]
        out.append(_result('Semantic Segmentation', 'ADE20K', {'mIoU': ss, 'mIoU (ms+flip)': ms}, 'EDIT',
                           'Table 5', seg_row))
    if method == 'upernet' and variant in ('deit3', 'cb') and option in ('', '40k'):
        miou = paper.CB_TABLE6[cb_row][0 if option == '40k' else 1]
        out.append(_result('Semantic Segmentation', 'ADE20K', {'mIoU': miou}, 'CB', 'Table 6',
                           f'{cb_row}, {"40K" if option else "160K"}', note))
        if size == 's' and not option:
            column = 0 if variant == 'deit3' else 1
            perturbed = {f'mIoU ({k})': v[column] for k, v in paper.CB_TABLE9.items() if k != 'Nothing'}
            out.append(_result('Semantic Segmentation', 'ADE20K', perturbed, 'CB', 'Table 9',
                               'ViT-S' if variant == 'deit3' else 'CB', note))
    if method == 'maskrcnn' and variant in ('deit3', 'cb') and not option and cb_row in paper.CB_TABLE7:
        names = ('box AP', 'box AP50', 'box AP75', 'mask AP', 'mask AP50', 'mask AP75')
        out.append(_result('Instance Segmentation', 'COCO', dict(zip(names, paper.CB_TABLE7[cb_row])), 'CB',
                           'Table 7', cb_row, note))
    if method == 'cls':
        row = f'{"DeiT3" if variant == "deit3" else "EDIT"}-{size.upper()}'
        if variant in ('deit3', 'edit') and data == 'in1k' and not option:
            if variant == 'edit':
                params, flops = paper.EDIT_TABLE1[{'t': 'tiny', 's': 'small', 'b': 'base'}[size]]
                out.append(_result('Image Classification', 'ImageNet-1k',
                                   {'Params (M)': params, 'FLOPs (G)': flops}, 'EDIT', 'Table 1', row))
            out.append(_result('Image Classification', 'ImageNet-1k',
                               {'Top 1 Accuracy': paper.EDIT_TABLE3_IN1K[row]}, 'EDIT', 'Table 3 (a)', row))
        if variant in ('deit3', 'edit') and data == 'in21k-ft-in1k' and row in paper.EDIT_TABLE3_IN21K:
            top1 = paper.EDIT_TABLE3_IN21K[row][1 if option == '384' else 0]
            out.append(_result('Image Classification', 'ImageNet-1k', {'Top 1 Accuracy': top1}, 'EDIT',
                               'Table 3 (b)', f'{row}, {384 if option == "384" else 224}'))
        transfer = {CLS_DATA[k]: k for k in ('cifar10', 'cifar100', 'flowers102', 'dtd', 'caltech256')}
        if variant in ('deit3', 'edit') and CLS_DATA.get(data) in transfer.keys() and row in paper.EDIT_TABLE4:
            out.append(_result('Image Classification', CLS_DATA[data],
                               {'Top 1 Accuracy': paper.EDIT_TABLE4[row][CLS_DATA[data]]}, 'EDIT', 'Table 4', row))
        cb8 = {'deit': 'ViT-S', 'cb': 'ViT-S + CB'}
        if variant in cb8 and size == 's' and data == 'in1k':
            occ, adv, fgsm = paper.CB_TABLE8[cb8[variant]]
            out.append(_result('Image Classification', 'ImageNet-1k',
                               {'Top 1 Accuracy (centre occlusion)': occ, 'Top 1 Accuracy (ImageNet-A)': adv,
                                'Top 1 Accuracy (FGSM)': fgsm}, 'CB', 'Table 8', cb8[variant]))
    return out


def cached_counter(root: str = ROOT, full: bool = False) -> Counter:
    """Counts a config's model, each distinct model (config's ``model`` and input size) once: the 40k / 160k
    schedules of a model have one count. ``ShapeCounter`` by default (shapes on the meta device, a detector's
    heads once per head set: every config in about a minute of CPU time); ``full``: ``count_config``,
    running every model on the CPU (``tools/get_flops.py``'s numbers, the same; most of an hour)."""
    from mmengine.config import Config
    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils

    from .config_complexity import ShapeCounter, count_config, default_shape, task_of
    model_counter = count_config if full else ShapeCounter()
    cache: Dict[str, Tuple[int, int, Tuple[int, int]]] = {}
    # for each ``mmdet::`` / ``mmseg::`` base mmengine looks the package up (pkg_resources) and reads every
    # model-index yaml of it (about a second a config): done once for all configs
    lookups = ((config_utils, 'load'), (config_module, 'is_installed'), (config_module, 'get_installed_path'))
    cached = {(module, name): functools.lru_cache(maxsize=None)(getattr(module, name)) for module, name in lookups}

    def count(config: str) -> Tuple[int, int, Tuple[int, int]]:
        with contextlib.ExitStack() as stack:
            for (module, name), function in cached.items():
                stack.enter_context(mock.patch.object(module, name, function))
            cfg = Config.fromfile(osp.join(root, config))
        key = json.dumps([cfg.get('default_scope'), cfg.model.to_dict(), default_shape(cfg, task_of(cfg))],
                         sort_keys=True, default=str)
        if key not in cache:
            result = model_counter(cfg)
            cache[key] = int(result['params']), int(result['flops']), tuple(result['shape'])
        return cache[key]
    return count


def metafile(family: str, configs: List[str], counter: Counter) -> dict:
    """One family's metafile: a collection per method, a model per config."""
    models, methods = [], []
    for config in configs:
        method, variant, size, _, _ = parse_name(config)
        params, flops, (h, w) = counter(config)
        methods.append(method)
        models.append({
            'Name': osp.basename(config)[:-3],
            'In Collection': method,
            'Config': config,
            'Metadata': {'Backbone': f'{variant}-{size}', 'Parameters': params, 'FLOPs': flops,
                         'Input Size': f'{h}x{w}', 'Training Data': training_data(config)},
            'Results': paper_results(config),
            'Weights': None,
        })
    collections = [{'Name': m, 'README': README[family],
                    'Paper': sorted({r['Paper'] for model in models if model['In Collection'] == m
                                     for r in model['Results']})}
                   for m in dict.fromkeys(methods)]
    return {'Collections': collections, 'Models': models}


def metafile_path(family: str) -> str:
    return f'configs/{family}/metafile.yaml'


def render(counter: Counter, root: str = ROOT) -> Dict[str, str]:
    """{path relative to the repository: file text} of the model index and every metafile."""
    import yaml
    by_family: Dict[str, List[str]] = {f: [] for f in FAMILIES}
    for config in top_level_configs(root):
        by_family[family_of(config)].append(config)
    header = '# Generated by `python tools/model_index.py` from the configs and mmedit_vit/analysis/paper_tables.py.\n'
    files = {INDEX_FILE: header + yaml.safe_dump({'Import': [metafile_path(f) for f in FAMILIES]}, sort_keys=False)}
    for family, configs in by_family.items():
        files[metafile_path(family)] = header + yaml.safe_dump(metafile(family, configs, counter), sort_keys=False,
                                                               allow_unicode=True, width=120)
    return files


def differences(files: Dict[str, str], root: str = ROOT) -> List[str]:
    """The generated files whose text differs from the file on disk (or that are missing)."""
    out = []
    for path, text in files.items():
        full = osp.join(root, path)
        if not osp.isfile(full):
            out.append(f'{path}: missing')
            continue
        with open(full) as f:
            if f.read() != text:
                out.append(f'{path}: differs from what the configs and paper tables give')
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    files = render(cached_counter(args.root, full=args.full), args.root)
    if args.check:
        diff = differences(files, args.root)
        print('\n'.join(diff) or 'model index up to date')
        return 1 if diff else 0
    for path, text in files.items():
        os.makedirs(osp.dirname(osp.join(args.root, path)), exist_ok=True)
        with open(osp.join(args.root, path), 'w') as f:
            f.write(text)
        print(f'wrote {path}')
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--check', action='store_true', help='compare with the files on disk; write nothing')
    parser.add_argument('--full', action='store_true',
                        help="count by running every model on the CPU (tools/get_flops.py's way; the default counts "
                             'shapes on the meta device, with the same numbers)')
    parser.add_argument('--root', default=ROOT, help='repository root (default: this checkout)')
    return parser


if __name__ == '__main__':
    sys.exit(main())
