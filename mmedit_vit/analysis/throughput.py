"""Training throughput on generated data: images/s, peak memory and model FLOP utilisation (MFU).

    python tools/throughput.py --task seg|cls [--variant edit] [--impl ours|timm] [--arch base]
        [--batch N] [--img-size N] [--iters 200] [--warmup 20] [--dtype bfloat16|float16|float32]
        [--with-cp] [--compile [MODE]] [--resize gemm|interpolate] [--device cuda] [--peak-tflops T]
        [--table FILE] [--json FILE] [--profile DIR]

``--task cls --impl timm`` runs timm's own ``VisionTransformer`` (DeiT-III: LayerScale, no position embedding
for [CLS]) of the same size through the same step as ``cls_deit3_{arch}_in1k`` (preprocessing, Mixup/CutMix,
BCE, LAMB, clipping, dtype, compile mode), the reference our step is measured against.

``--task cls`` is the classifier of ``configs/cls_{variant}_{arch}_in1k.py`` (its model, Mixup/CutMix in
the data preprocessor, BCE, LAMB with gradient clipping); ``--task seg`` is the Segmenter of
``configs/segmenter_{variant}_{arch}_ade20k.py``: the same backbone with a stand-in for mmseg's
``SegmenterMaskTransformerHead`` (same layers and widths; tests/test_gpu_path.py checks its parameter
count against mmseg's head) and SGD, so that it runs where only torch + timm + mmengine are installed. Its
loss resizes the logits to the labels as the configs' heads do (``bilinear_resize``, GEMMs); ``--resize
interpolate`` uses mmseg's ``F.interpolate`` instead, to compare the two.
Each step is mmengine's: ``optim_wrapper.optim_context`` (autocast through ``AmpOptimWrapper(dtype=...)``
as ``tools/train.py --amp-dtype``) and ``update_params``. Data loading is not part of the measurement.

MFU = images/s x 6 x forward multiply-adds per image / peak FLOP/s of the card (forward + backward
= 3 forward passes, 2 FLOPs per multiply-add; the multiply-adds counted as ``tools/get_flops.py`` does,
for the Segmenter up to its 32x32 logits). Recomputation under ``--with-cp`` is not credited (model FLOPs,
not hardware FLOPs).

``--profile DIR`` runs 10 more steps under ``torch.profiler`` and writes the operators by self time
(device time on a GPU) to ``DIR/profile_<model>.txt``: where a step's time goes.
"""
import argparse
import inspect
import json
import os
import os.path as osp
import time
from typing import List, Optional, Tuple

import timm
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import MODELS
from mmengine.structures import BaseDataElement
from timm.layers import trunc_normal_
from timm.models.vision_transformer import VisionTransformer
from torch import nn

import mmedit_vit  # noqa: F401  (registers the models)
from mmedit_vit.analysis.complexity import count_flops
from mmedit_vit.models.backbones import ARCH_SETTINGS
from mmedit_vit.models.backbones.variants import BACKBONE_VARIANTS
from mmedit_vit.models.layers import Block
from mmedit_vit.models.layers.bilinear_resize import bilinear_resize
from mmedit_vit.utils import check_compile_mode

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# dense bf16/fp16 tensor-core peak, TFLOP/s, by device name (vendor data sheets)
PEAK_TFLOPS = (('H200', 989.0), ('H100 PCIe', 756.0), ('H100 NVL', 835.0), ('H100', 989.0), ('A100', 312.0),
               ('L40S', 362.0), ('A10G', 125.0), ('L4', 121.0))
ARCHS = {'t': 'tiny', 's': 'small', 'b': 'base'}


class SegmenterStandIn(nn.Module):
    """Backbone + Segmenter mask transformer (mmseg's ``SegmenterMaskTransformerHead`` layer for layer).

    Class embeddings join the projected patch tokens through ``num_layers`` transformer layers; masks
    are the cosine products of projected patches and classes, layer-normed over classes, upsampled
    to the input (``resize``: 'gemm' as the configs' heads, or 'interpolate' as mmseg's) and scored with
    cross-entropy.
    """

    def __init__(self, backbone: nn.Module, num_classes: int = 150, num_layers: int = 2,
                 drop_path_rate: float = 0.1, resize: str = 'gemm') -> None:
        super().__init__()
        if resize not in RESIZES:
            raise ValueError(f'resize={resize!r} is not supported; choose one of {RESIZES}')
        self.resize = resize
        dim, heads = backbone.embed_dims, backbone.num_heads
        self.backbone = backbone
        self.num_classes = num_classes
        self.dec_proj = nn.Linear(dim, dim)
        self.cls_emb = nn.Parameter(torch.zeros(1, num_classes, dim))
        rates = torch.linspace(0, drop_path_rate, num_layers).tolist()
        self.layers = nn.ModuleList([Block(dim, heads, drop_path=r, norm_layer=nn.LayerNorm) for r in rates])
        self.decoder_norm = nn.LayerNorm(dim)
        self.patch_proj = nn.Linear(dim, dim, bias=False)
        self.classes_proj = nn.Linear(dim, dim, bias=False)
        self.mask_norm = nn.LayerNorm(num_classes)
        trunc_normal_(self.cls_emb, std=0.02)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, num_classes, H, W) logits."""
        logits = self.head_logits(images)
        if self.resize == 'gemm':
            return bilinear_resize(logits, images.shape[-2:])
        return F.interpolate(logits, size=images.shape[-2:], mode='bilinear', align_corners=False)

    def head_logits(self, images: torch.Tensor) -> torch.Tensor:
        """(B, num_classes, H / 16, W / 16) logits, the head's output."""
        feat = self.backbone(images)[-1]
        b, c, h, w = feat.shape
        x = self.dec_proj(feat.flatten(2).transpose(1, 2))
        x = torch.cat([x, self.cls_emb.expand(b, -1, -1)], dim=1)
        for layer in self.layers:
            x = layer(x)
        x = self.decoder_norm(x)
        patches = F.normalize(self.patch_proj(x[:, :-self.num_classes]), dim=2)
        classes = F.normalize(self.classes_proj(x[:, -self.num_classes:]), dim=2)
        masks = self.mask_norm(patches @ classes.transpose(1, 2))
        return masks.transpose(1, 2).reshape(b, self.num_classes, h, w)

    def loss(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self(images).float(), labels, ignore_index=255)


RESIZES = ('gemm', 'interpolate')


def build_seg(variant: str, arch: str, with_cp: bool, img_size: int, resize: str = 'gemm') -> SegmenterStandIn:
    """The backbone of configs/segmenter_{variant}_{arch}_ade20k.py (no pretrained weights)."""
    if variant not in BACKBONE_VARIANTS:
        raise SystemExit(f'--variant {variant!r} is not known; choose one of {sorted(BACKBONE_VARIANTS)}')
    backbone = MODELS.build(dict(BACKBONE_VARIANTS[variant], arch=arch, img_size=img_size, drop_path_rate=0.1,
                                 out_indices=-1, final_norm=True, with_cp=with_cp))
    return SegmenterStandIn(backbone, resize=resize)


def build_cls(variant: str, arch: str, with_cp: bool) -> Tuple[nn.Module, dict]:
    """The model and optim_wrapper settings of configs/cls_{variant}_{arch}_in1k.py."""
    path = osp.join(ROOT, 'configs', f'cls_{variant}_{arch[0]}_in1k.py')
    if not osp.isfile(path):
        raise SystemExit(f'no classification config {path}')
    cfg = Config.fromfile(path)
    cfg.model.backbone.with_cp = with_cp
    return MODELS.build(cfg.model), cfg.optim_wrapper


IMPLS = ('ours', 'timm')


def build_timm_cls(arch: str, backbone_cfg: dict, num_classes: int, with_cp: bool, img_size: int = 224) -> nn.Module:
    """timm's own ``VisionTransformer`` as the DeiT-III classifier of the same size: no position embedding
    for [CLS] (``no_embed_class``), LayerScale, drop path and classes as the config's backbone and head."""
    s = ARCH_SETTINGS[arch]
    net = VisionTransformer(img_size=img_size, embed_dim=s['embed_dims'], depth=s['depth'],
                            num_heads=s['num_heads'], mlp_ratio=s['mlp_ratio'], no_embed_class=True,
                            init_values=backbone_cfg.get('layer_scale_init', 1e-6),
                            drop_path_rate=backbone_cfg.get('drop_path_rate', 0.0), num_classes=num_classes)
    net.set_grad_checkpointing(with_cp)
    return net


class ClsStep(nn.Module):
    """The classifier's training step: data preprocessing (normalise, Mixup/CutMix; eager, its random box
    sizes change every step), then forward and loss (the part ``--compile`` compiles)."""

    def __init__(self, model: nn.Module, compile_mode: Optional[str] = None, net: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.model = model
        self.net = net  # timm's network in place of the model's forward (same preprocessing, loss, optimiser)
        self.forward_loss = torch.compile(self._forward_loss, mode=compile_mode) if compile_mode else self._forward_loss

    def _forward_loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = self.net(inputs) if self.net is not None else self.model(inputs, mode='tensor')
        return self.model.loss_module(logits, targets)

    def forward(self, data: dict) -> torch.Tensor:
        data = self.model.data_preprocessor(data, True)
        targets = self.model.targets(data['data_samples'], data['inputs'].device)
        return self.forward_loss(data['inputs'], targets)


def peak_tflops(device: torch.device, given: Optional[float]) -> Optional[float]:
    if given:
        return given
    if device.type != 'cuda':
        return None
    name = torch.cuda.get_device_name(device)
    for key, value in PEAK_TFLOPS:
        if key in name:
            return value
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--task', choices=['seg', 'cls'], required=True)
    parser.add_argument('--variant', default='edit')
    parser.add_argument('--arch', default='base', help='tiny | small | base')
    parser.add_argument('--batch', type=int, default=None, help='images per step (seg 8, cls 128)')
    parser.add_argument('--img-size', type=int, default=None, help='seg 512, cls 224')
    parser.add_argument('--iters', type=int, default=200, help='timed iterations')
    parser.add_argument('--warmup', type=int, default=20, help='untimed iterations first (compilation happens here)')
    parser.add_argument('--dtype', default='bfloat16', choices=['bfloat16', 'float16', 'float32'])
    parser.add_argument('--with-cp', action='store_true', help='activation checkpointing in the backbone')
    parser.add_argument('--compile', nargs='?', const='default', metavar='MODE',
                        help='torch.compile the forward and loss (not the optimiser step, not Mixup); MODE a '
                             'torch.compile mode, e.g. reduce-overhead for CUDA graphs (without MODE: default)')
    parser.add_argument('--resize', default='gemm', choices=RESIZES,
                        help="seg: how the loss brings the logits to the labels (gemm: the configs' heads)")
    parser.add_argument('--profile', default=None, metavar='DIR',
                        help='profile 10 more steps; the operator table goes to DIR/profile_<model>.txt')
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--peak-tflops', type=float, default=None,
                        help='peak FLOP/s of the device in TFLOP/s (default: by CUDA device name, bf16 dense)')
    parser.add_argument('--table', default=None, help='append the result as a Markdown row to this file')
    parser.add_argument('--json', default=None, help='append the result as one JSON line to this file')
    parser.add_argument('--impl', default='ours', choices=IMPLS,
                        help="cls: 'timm' runs timm's own VisionTransformer (DeiT-III, same size) through the same "
                             'step: preprocessing, Mixup/CutMix, loss, optimiser, dtype, compile mode')
    args = parser.parse_args()
    arch = ARCHS.get(args.arch, args.arch)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda given but no CUDA device is available')
    if args.compile:
        try:
            check_compile_mode(args.compile)
        except ValueError as err:
            raise SystemExit(str(err))
    dtype = getattr(torch, args.dtype)
    if dtype != torch.float32 and device.type != 'cuda':
        raise SystemExit(f"--dtype {args.dtype} uses mmengine's AmpOptimWrapper, which needs CUDA; "
                         'use --dtype float32 on a CPU')
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(0)
    img = args.img_size or (512 if args.task == 'seg' else 224)
    batch = args.batch or (8 if args.task == 'seg' else 128)

    if args.task == 'seg':
        if args.impl != 'ours':
            raise SystemExit(f'--impl {args.impl} is for --task cls (timm has no Segmenter)')
        model = build_seg(args.variant, arch, args.with_cp, img, args.resize)
        counted = model
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=0.0)
        clip_grad = None
        step_module: nn.Module = model
        config = f'segmenter_{args.variant}_{arch[0]}_ade20k (stand-in head, {args.resize} resize)'
    else:
        variant = 'deit3' if args.impl == 'timm' else args.variant
        classifier, optim_cfg = build_cls(variant, arch, args.with_cp)
        net = None
        if args.impl == 'timm':
            backbone_cfg = Config.fromfile(osp.join(ROOT, 'configs', f'cls_deit3_{arch[0]}_in1k.py')).model.backbone
            net = build_timm_cls(arch, backbone_cfg, classifier.num_classes, args.with_cp, img)
        counted = net if net is not None else classifier
        opt = dict(optim_cfg.optimizer)
        opt_type = opt.pop('type')
        if opt_type == 'Lamb':
            from timm.optim import Lamb
            optimizer = Lamb(counted.parameters(), **opt)
        else:
            optimizer = getattr(torch.optim, opt_type)(counted.parameters(), **opt)
        clip_grad = optim_cfg.get('clip_grad')
        step_module = ClsStep(classifier, args.compile, net=net)
        config = f'cls_{variant}_{arch[0]}_in1k ({lamb_kind(optimizer, device)})'
        if net is not None:
            config = f'timm VisionTransformer, {config} recipe'
    macs = count_flops(counted if args.impl == 'timm' else _TensorForward(counted), img)  # one image, forward
    if args.task == 'cls':
        classifier.to(device)
    counted.to(device)  # mmengine's BaseModel.to also moves its data preprocessor's target device
    step_module.to(device).train()

    wrapper_kwargs = dict(optimizer=optimizer, clip_grad=dict(clip_grad) if clip_grad else None)
    if dtype == torch.float32:
        optim_wrapper = OptimWrapper(**wrapper_kwargs)
    else:
        optim_wrapper = AmpOptimWrapper(dtype=dtype, loss_scale='dynamic' if dtype == torch.float16 else 1.0,
                                        **wrapper_kwargs)
    if args.task == 'seg':
        images = torch.randn(batch, 3, img, img, device=device)
        labels = torch.randint(0, 150, (batch, img, img), device=device)
        loss_fn = torch.compile(step_module.loss, mode=args.compile) if args.compile else step_module.loss
        run = lambda: loss_fn(images, labels)  # noqa: E731
    else:
        data = dict(inputs=torch.randint(0, 256, (batch, 3, img, img), dtype=torch.uint8, device=device),
                    data_samples=[BaseDataElement(gt_label=torch.tensor([i % 1000])) for i in range(batch)])
        run = lambda: step_module(dict(data))  # noqa: E731

    def step() -> torch.Tensor:
        with optim_wrapper.optim_context(step_module):
            loss = run()
        optim_wrapper.update_params(loss)
        return loss

    start = time.perf_counter()
    for _ in range(args.warmup):
        step()
    sync(device)
    warm_s = time.perf_counter() - start
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(args.iters):
        loss = step()
    sync(device)
    seconds = time.perf_counter() - start
    if not torch.isfinite(loss.detach()).item():
        raise SystemExit(f'loss is {loss.item()}: the measurement is void')
    if args.profile:
        name = '_'.join([config.split(' ')[0]] + ([args.resize] if args.task == 'seg' else [])
                        + (['cp'] if args.with_cp else []) + ([f'compile-{args.compile}'] if args.compile else []))
        print(f'profile written to {profile_steps(step, device, args.profile, name)}')
    images_per_s = batch * args.iters / seconds
    achieved = images_per_s * 6 * macs / 1e12
    peak = peak_tflops(device, args.peak_tflops)
    mem = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == 'cuda' else float('nan')
    hardware = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'
    mfu = f'{100 * achieved / peak:.1f}' if peak else 'n/a'
    row = (f'| {config} | {img} | {batch} | {args.dtype} | {"yes" if args.with_cp else "no"} | '
           f'{args.compile or "no"} | {images_per_s:.1f} | {1000 * seconds / args.iters:.1f} | {mem:.1f} | '
           f'{macs / 1e9:.2f} | {achieved:.1f} | {mfu} | {warm_s:.0f} |')
    print(f'{hardware}, peak {peak} TFLOP/s')
    print(TABLE_HEADER + row)
    if args.json:
        result = dict(task=args.task, impl=args.impl, variant=args.variant if args.impl == 'ours' else 'timm',
                      arch=arch, resize=args.resize if args.task == 'seg' else None, compile=args.compile,
                      with_cp=args.with_cp, dtype=args.dtype, batch=batch, img_size=img, device=hardware,
                      images_per_s=images_per_s, mfu=100 * achieved / peak if peak else None, config=config)
        with open(args.json, 'a') as f:
            f.write(json.dumps(result) + '\n')
    if args.table:
        new = not osp.isfile(args.table)
        os.makedirs(osp.dirname(osp.abspath(args.table)), exist_ok=True)
        with open(args.table, 'a') as f:
            if new:
                f.write(f'{hardware}, peak {peak} TFLOP/s (bf16 dense), {args.iters} timed iterations after '
                        f'{args.warmup} warm-up iterations, generated data\n\n' + TABLE_HEADER)
            f.write(row + '\n')


TABLE_HEADER = ('| model | size | batch | dtype | with_cp | compile | images/s | ms/iter | peak GiB | fwd GMACs/img '
                '| TFLOP/s | MFU % | warm-up s |\n|---|---:|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n')


def lamb_kind(optimizer: torch.optim.Optimizer, device: torch.device) -> str:
    """Which LAMB runs: timm's multi-tensor one (timm >= 1.0.31, its default on CUDA) or its loop over tensors."""
    name = type(optimizer).__name__
    if name != 'Lamb':
        return name
    foreach = 'foreach' in inspect.signature(type(optimizer)).parameters and device.type == 'cuda'
    return f"LAMB {'foreach' if foreach else 'per tensor'}, timm {timm.__version__}"


def profile_steps(step, device: torch.device, out_dir: str, name: str, steps: int = 10) -> str:
    """Runs ``steps`` training steps under ``torch.profiler``; writes the operators by self time."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == 'cuda':
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        sync(device)
    sort_by = 'self_device_time_total' if device.type == 'cuda' else 'self_cpu_time_total'
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, f'profile_{name}.txt')
    with open(path, 'w') as f:
        f.write(f'{steps} training steps of {name}, operators by {sort_by}\n\n')
        f.write(prof.key_averages().table(sort_by=sort_by, row_limit=40, max_name_column_width=60))
    return path


class _TensorForward(nn.Module):
    """Forward of the model on images only, for counting multiply-adds."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if isinstance(self.model, SegmenterStandIn):
            return self.model.head_logits(images)
        return self.model(images, mode='tensor')


def sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)



def goal_lines(results: List[dict]) -> List[str]:
    """The GPU check's goals from the ``--json`` results of one run of tools/gpu_check.sh."""
    def find(**keys) -> Optional[dict]:
        hits = [r for r in results if all(r.get(k) == v for k, v in keys.items())]
        return hits[-1] if hits else None

    def ratio(a: Optional[dict], b: Optional[dict]) -> Optional[float]:
        return a['images_per_s'] / b['images_per_s'] if a and b else None

    def line(goal: str, value: Optional[float], target: Optional[float], unit: str = '') -> str:
        if value is None:
            return f'- {goal}: not measured'
        verdict = '' if target is None else (' (met)' if value >= target else ' (NOT met)')
        goal_text = '' if target is None else f', goal >= {target:.3f}{unit}'
        return f'- {goal}: {value:.3f}{unit}{goal_text}{verdict}'

    lines = []
    for mode in (None, 'default', 'reduce-overhead'):
        label = {None: 'eager', 'default': 'compiled', 'reduce-overhead': 'CUDA graphs'}[mode]
        deit3 = find(task='cls', impl='ours', variant='deit3', compile=mode, with_cp=False)
        lines.append(line(f'DeiT-III-B images/s ours / timm, {label}',
                          ratio(deit3, find(task='cls', impl='timm', compile=mode, with_cp=False)), 1.0))
        lines.append(line(f'EDIT-B / DeiT-III-B images/s, {label}',
                          ratio(find(task='cls', impl='ours', variant='edit', compile=mode, with_cp=False), deit3),
                          1 / 1.15))
    compiled = find(task='cls', impl='ours', variant='deit3', compile='default', with_cp=False)
    lines.append(line('ViT-B (DeiT-III-B) classification MFU, compiled',
                      compiled['mfu'] if compiled and compiled['mfu'] is not None else None, 40.0, ' %'))
    lines.append(line('segmenter_edit_b_ade20k images/s, GEMM resize / F.interpolate',
                      ratio(find(task='seg', resize='gemm', compile=None, with_cp=False),
                            find(task='seg', resize='interpolate', compile=None, with_cp=False)), None))
    return lines


def print_goals(path: str) -> None:
    """``python -m mmedit_vit.analysis.throughput RESULTS.jsonl``: prints the goals."""
    with open(path) as f:
        results = [json.loads(line) for line in f if line.strip()]
    print('\n'.join(goal_lines(results)))


if __name__ == '__main__':
    import sys
    print_goals(sys.argv[1])
