"""Training-step cost of every backbone against timm's VisionTransformer of the same size.

    python tools/benchmark.py [--sizes tiny small base] [--batch 8] [--reps 7] [--device cpu|cuda]
                              [--dtype float32|bfloat16] [--threads N] [--block-study] [--out DIR]
                              [--cp-study [--cp-img-size 512] [--cp-batch 2]]
                              [--window-study [--window-img-size 1024] [--window-batch 1] [--window-arch base]]
                              [--inference-study [--no-compile] [--ort-provider CPUExecutionProvider|CUDA...]]

One forward + backward pass at 224x224 per measurement. EDIT is measured both ways it is used: for
classification its decoder refines [CLS] after every block (``out_cls_token=True``, the loss reads the
map and the decoder's [CLS]); for dense prediction nothing reads [CLS], so the decoder does not run.
Models are run interleaved (one of each per repetition, in rotating order); times are medians over
repetitions and each ratio is the median of the per-repetition ratios, so both sides of a ratio are
measured under the same conditions.
Launches: the aten operators one forward + backward dispatches (``op_count``; on a GPU each that is not a
view is a kernel launch), and the multiply-adds of one forward pass (FLOPs), both against PlainViT's.
Memory: peak allocated memory on CUDA; on the CPU, the bytes autograd saves for the backward pass
(activations), which is what grows with the model's token count and width.
``--cp-study`` measures activation checkpointing (``with_cp``) of the dense backbones (blocks 3, 5, 7,
11 out, as UperNet reads them) at a segmentation crop: saved-activation memory (on CUDA also the
peak) and time with and without it.
``--window-study`` measures ViTDet's windowed attention (window 14, global blocks 2, 5, 8, 11, relative
position biases; ``vitdet``) against global attention in every block (``global``, and ``global_rel_pos``
with the biases), at ``--window-img-size`` (ViTDet: 1024; rows chosen with ``--window-rows``):
forward+backward time, saved activations, on CUDA the peak memory. ``--window-only`` runs only it.
``--inference-study`` times inference of each variant's classifier in eager PyTorch, ``torch.compile`` and
onnxruntime, interleaved, as ratios to eager (``mmedit_vit.deploy.inference_benchmark``); ``--inference-only``
runs only it.
"""
import argparse
import os
import statistics
import time
from functools import partial
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.registry import MODELS
from timm.models.vision_transformer import VisionTransformer

from ..models.backbones import ARCH_SETTINGS, BACKBONE_VARIANTS
from ..models.layers import Attention, Block
from .complexity import count_flops
from .op_count import count_ops


def timm_reference(size: str, img_size: int = 224) -> torch.nn.Module:
    s = ARCH_SETTINGS[size]
    return VisionTransformer(img_size=img_size, embed_dim=s['embed_dims'], depth=s['depth'], num_heads=s['num_heads'],
                             no_embed_class=True, init_values=1e-6, num_classes=0)


# EDIT's two uses: the name of each row and the backbone options that make it
EDIT_USES = {'edit, dense (no decoder)': dict(out_cls_token=False),
             'edit, classification (decoder)': dict(out_cls_token=True)}


def benchmarked_models(size: str, img_size: int = 224) -> Dict[str, Tuple[torch.nn.Module, bool]]:
    """Row name -> (model, is timm's): timm's ViT, every backbone variant, EDIT once per use."""
    models = {'timm ViT': (timm_reference(size, img_size), True)}
    for name, cfg in BACKBONE_VARIANTS.items():
        uses = EDIT_USES if cfg['type'] == 'EDITViT' else {name: {}}
        for row, options in uses.items():
            models[row] = (MODELS.build(dict(cfg, arch=size, img_size=img_size, **options)), False)
    return models


def step_fn(model: torch.nn.Module, x: torch.Tensor, is_timm: bool) -> Callable[[], None]:
    def step() -> None:
        if is_timm:
            loss = model.forward_features(x).float().mean()
        else:
            out = model(x)[-1]
            # (map, cls) with out_cls_token: the loss reads both, as a classifier's would read cls
            loss = sum(t.float().mean() for t in out) if isinstance(out, tuple) else out.float().mean()
        loss.backward()
    return step


def saved_activation_bytes(step: Callable[[], None]) -> int:
    """Bytes of distinct tensors autograd keeps for backward during one step."""
    seen: Dict[Tuple[int, int], int] = {}

    def pack(t: torch.Tensor):
        storage = t.untyped_storage()
        seen[(storage.data_ptr(), t.device.index or 0)] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return sum(seen.values())


def measure(step: Callable[[], None], device: torch.device) -> float:
    if device.type == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    step()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    return time.perf_counter() - start


def benchmark_size(size: str, args, device: torch.device, dtype: torch.dtype) -> List[dict]:
    models = benchmarked_models(size, args.img_size)
    x = torch.randn(args.batch, 3, args.img_size, args.img_size, device=device)
    steps, memory, ops, flops = {}, {}, {}, {}
    for name, (model, is_timm) in models.items():
        ops[name] = count_ops(step_fn(model.train(), torch.randn(1, 3, args.img_size, args.img_size), is_timm)).total
        flops[name] = count_flops(model.eval(), args.img_size)
        model.to(device).train()
        step = step_fn(model, x, is_timm)
        if dtype != torch.float32:
            plain = step
            step = lambda plain=plain: _autocast(plain, device, dtype)  # noqa: E731
        for _ in range(args.warmup):
            step()
        if device.type == 'cuda':
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            step()
            memory[name] = torch.cuda.max_memory_allocated() - base
        else:
            memory[name] = saved_activation_bytes(step)
        model.zero_grad(set_to_none=True)
        steps[name] = step
    times: Dict[str, List[float]] = {name: [] for name in models}
    names = list(models)
    for rep in range(args.reps):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            times[name].append(measure(steps[name], device))
        print(f'  {size}: repetition {rep + 1}/{args.reps}', flush=True)
    def ratio(name: str, reference: str) -> float:
        return statistics.median(a / b for a, b in zip(times[name], times[reference]))

    rows = []
    for name in names:
        rows.append(dict(size=size, model=name, ms=1000 * statistics.median(times[name]),
                         mem_mb=memory[name] / 2**20, vs_timm=ratio(name, 'timm ViT'), vs_plain=ratio(name, 'deit3'),
                         mem_vs_plain=memory[name] / memory['deit3'], ops=ops[name],
                         ops_vs_plain=ops[name] / ops['deit3'], flops_vs_plain=flops[name] / flops['deit3']))
    for model, _ in models.values():
        model.cpu()
    return rows


def block_study(args, device: torch.device) -> List[str]:
    """One Small block in isolation: what a headwise gate costs, and what 4 more tokens cost."""
    dim, heads = ARCH_SETTINGS['small']['embed_dims'], ARCH_SETTINGS['small']['num_heads']
    plain = Block(dim, heads, layer_scale_init=1e-6).to(device)
    gated = Block(dim, heads, layer_scale_init=1e-6, attn_layer=partial(Attention, gate='headwise')).to(device)
    cases = {'plain, N=197': (plain, 197), 'headwise gate, N=197': (gated, 197),
             'plain, N=201 (4 registers)': (plain, 201), 'plain, N=200': (plain, 200)}
    steps = {}
    for name, (block, tokens) in cases.items():
        x = torch.randn(args.batch, tokens, dim, device=device, requires_grad=True)
        steps[name] = lambda block=block, x=x: block(x).sum().backward()
        for _ in range(args.warmup):
            steps[name]()
    times: Dict[str, List[float]] = {name: [] for name in cases}
    for _ in range(5 * args.reps):
        for name in cases:
            times[name].append(measure(steps[name], device))
    lines = ['', 'single Small block, forward+backward:', '', '| case | ms | x plain N=197 |', '|---|---:|---:|']
    for name in cases:
        ratio = statistics.median(a / b for a, b in zip(times[name], times['plain, N=197']))
        lines.append(f'| {name} | {1000 * statistics.median(times[name]):.1f} | {ratio:.3f} |')
    return lines


def checkpoint_study(args, device: torch.device, dtype: torch.dtype) -> List[str]:
    """with_cp=False vs True for DeiT-III and EDIT backbones used densely, at ``--cp-img-size``."""
    size = args.cp_img_size
    x = torch.randn(args.cp_batch, 3, size, size, device=device)
    cuda = device.type == 'cuda'
    lines = ['', f'activation checkpointing (with_cp), forward+backward, batch {args.cp_batch}, {size}x{size}, '
             f'{args.dtype}, out_indices (3, 5, 7, 11), median of {args.reps}:', '',
             '| size | backbone | with_cp | ms | saved act. MiB |' + (' peak MiB |' if cuda else '')
             + ' saved x with_cp=False |', '|---|---|---|---:|---:|' + ('---:|' if cuda else '') + '---:|']
    for arch in args.sizes:
        for name in ('deit3', 'edit'):
            results = {}
            for with_cp in (False, True):
                model = MODELS.build(dict(BACKBONE_VARIANTS[name], arch=arch, img_size=size, with_cp=with_cp,
                                          out_indices=(3, 5, 7, 11))).to(device).train()

                def step(model=model) -> None:
                    with torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype != torch.float32):
                        outs = model(x)
                    sum(o.float().mean() for o in outs).backward()

                results[with_cp] = step_cost(step, device, args.reps, args.warmup)
                model.cpu()
                del model
            for with_cp, (sec, saved, peak) in results.items():
                ratio = saved / results[False][1]
                lines.append(f'| {arch} | {name} | {with_cp} | {1000 * sec:.1f} | {saved / 2**20:.0f} |'
                             + (f' {peak / 2**20:.0f} |' if cuda else '') + f' {ratio:.3f} |')
            print(f'  {arch} {name}: with_cp measured', flush=True)
    return lines


# ViTDet's ViT-B layout (Li et al. 2022; mmdet projects/ViTDet): the rows of the window study
WINDOW_STUDY = {
    'global': dict(),
    'global_rel_pos': dict(rel_pos=True),
    'vitdet': dict(window_size=14, global_attn_indexes=(2, 5, 8, 11), rel_pos=True),
}
WINDOW_STUDY_LABELS = {'global': 'global attention', 'global_rel_pos': 'global attention + rel_pos',
                       'vitdet': 'ViTDet: window 14, global 2/5/8/11, rel_pos'}


def step_cost(step: Callable[[], None], device: torch.device, reps: int, warmup: int) -> Tuple[float, int, int]:
    """Median seconds of ``reps`` steps, bytes saved for backward, and on CUDA the peak memory above the
    memory allocated before the step (else None)."""
    for _ in range(warmup):
        step()
    saved = saved_activation_bytes(step)
    peak = None
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        peak = torch.cuda.max_memory_allocated() - base
    return statistics.median(measure(step, device) for _ in range(reps)), saved, peak


def window_study_results(args, device: torch.device, dtype: torch.dtype,
                         rows: Optional[Dict[str, dict]] = None) -> Dict[str, Tuple[float, int, Optional[int]]]:
    """Row name -> ``step_cost`` of the backbone with the row's options, at ``--window-img-size`` (no [CLS],
    as ViTDet's backbone; the last block's map is the output, as the simple feature pyramid reads it)."""
    size = args.window_img_size
    x = torch.randn(args.window_batch, 3, size, size, device=device)
    results = {}
    rows = {name: WINDOW_STUDY[name] for name in args.window_rows} if rows is None else rows
    for name, options in rows.items():
        model = MODELS.build(dict(type='PlainViT', arch=args.window_arch, img_size=size, with_cls_token=False,
                                  **options)).to(device).train()

        def step(model=model) -> None:
            with torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype != torch.float32):
                out = model(x)[-1]
            out.float().mean().backward()

        results[name] = step_cost(step, device, args.reps, args.warmup)
        model.cpu()
        del model
        print(f'  {name}: measured', flush=True)
    return results


def window_study(args, device: torch.device, dtype: torch.dtype) -> List[str]:
    """The window study's table: global attention against ViTDet's windows for one backbone size."""
    results = window_study_results(args, device, dtype)
    cuda = device.type == 'cuda'
    lines = ['', f'windowed attention, {args.window_arch}, forward+backward, batch {args.window_batch}, '
             f'{args.window_img_size}x{args.window_img_size}, {args.dtype}, median of {args.reps}:', '',
             '| attention | ms | saved act. MiB |' + (' peak MiB |' if cuda else '') + ' saved x global |',
             '|---|---:|---:|' + ('---:|' if cuda else '') + '---:|']
    reference = results['global'][1] if 'global' in results else None
    for name, (sec, saved, peak) in results.items():
        ratio = f'{saved / reference:.3f}' if reference else '-'
        memory = f' {saved / 2**20:.0f} |' + (f' {peak / 2**20:.0f} |' if cuda else '')
        lines.append(f'| {WINDOW_STUDY_LABELS[name]} | {1000 * sec:.0f} |{memory} {ratio} |')
    return lines


def _autocast(step, device, dtype):
    with torch.autocast(device_type=device.type, dtype=dtype):
        step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', nargs='+', default=['tiny', 'small', 'base'], choices=list(ARCH_SETTINGS))
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--reps', type=int, default=7)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16'])
    parser.add_argument('--block-study', action='store_true',
                        help='also time one block: plain vs headwise gate, 197 vs 201 tokens')
    parser.add_argument('--cp-study', action='store_true',
                        help='also measure with_cp=False/True of the dense DeiT-III and EDIT backbones')
    parser.add_argument('--cp-only', action='store_true', help='run only the --cp-study')
    parser.add_argument('--cp-img-size', type=int, default=512, help='input size of the --cp-study')
    parser.add_argument('--cp-batch', type=int, default=2, help='batch of the --cp-study')
    parser.add_argument('--window-study', action='store_true',
                        help="also measure ViTDet's windowed attention against global attention")
    parser.add_argument('--window-only', action='store_true', help='run only the --window-study')
    parser.add_argument('--window-img-size', type=int, default=1024, help='input size of the --window-study')
    parser.add_argument('--window-batch', type=int, default=1, help='batch of the --window-study')
    parser.add_argument('--window-arch', default='base', choices=list(ARCH_SETTINGS),
                        help='backbone size of the --window-study')
    parser.add_argument('--window-rows', nargs='+', default=list(WINDOW_STUDY), choices=list(WINDOW_STUDY),
                        help='attention layouts of the --window-study (global_rel_pos keeps an N x N bias per block)')
    parser.add_argument('--inference-study', action='store_true',
                        help='also time inference of each classifier: eager, torch.compile and onnxruntime '
                             '(needs the deploy extra)')
    parser.add_argument('--inference-only', action='store_true', help='run only the --inference-study')
    parser.add_argument('--no-compile', action='store_true', help='leave torch.compile out of the --inference-study')
    parser.add_argument('--ort-provider', choices=['CPUExecutionProvider', 'CUDAExecutionProvider'],
                        help="onnxruntime's provider in the --inference-study (default: the --device's)")
    parser.add_argument('--threads', type=int, default=None, help='CPU threads (default: torch default)')
    parser.add_argument('--out', default='work_dirs/benchmark')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda given but no CUDA device is available')
    torch.manual_seed(0)

    hardware = (torch.cuda.get_device_name(device) if device.type == 'cuda'
                else f'CPU, {torch.get_num_threads()} threads')
    mem_label = 'peak MiB' if device.type == 'cuda' else 'saved act. MiB'
    lines = [f'forward+backward, batch {args.batch}, {args.img_size}x{args.img_size}, {args.dtype}, {hardware}, '
             f'median of {args.reps}', '',
             f'| size | backbone | ms | x timm | x deit3 (PlainViT) | {mem_label} | mem x deit3 | aten ops '
             '| ops x deit3 | FLOPs x deit3 |',
             '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    only = args.cp_only or args.window_only or args.inference_only
    if only:
        lines = [f'{args.dtype}, {hardware}']
    for size in ([] if only else args.sizes):
        for r in benchmark_size(size, args, device, dtype):
            lines.append(f"| {r['size']} | {r['model']} | {r['ms']:.1f} | {r['vs_timm']:.3f} | {r['vs_plain']:.3f} | "
                         f"{r['mem_mb']:.0f} | {r['mem_vs_plain']:.3f} | {r['ops']} | {r['ops_vs_plain']:.3f} | "
                         f"{r['flops_vs_plain']:.3f} |")
    if args.block_study:
        lines += block_study(args, device)
    if args.cp_study or args.cp_only:
        lines += checkpoint_study(args, device, dtype)
    if args.window_study or args.window_only:
        lines += window_study(args, device, dtype)
    if args.inference_study or args.inference_only:
        from ..deploy.inference_benchmark import inference_rows, inference_table
        rows = inference_rows(args.sizes, args.batch, args.img_size, args.reps, args.warmup, device,
                              provider=args.ort_provider, compile_model=not args.no_compile, threads=args.threads)
        lines += inference_table(rows, args.batch, args.img_size, args.reps, hardware)
        from ..deploy.parity import TOLERANCE
        off = [f"{r['size']} {r['model']} ({r['parity']:.1e})" for r in rows if r['parity'] > TOLERANCE]
    table = '\n'.join(lines)
    print(table)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f'benchmark_{device.type}_{args.dtype}.md')
    with open(path, 'w') as f:
        f.write(table + '\n')
    print(f'written to {path}')
    if args.inference_study or args.inference_only:
        if off:
            raise SystemExit(f'onnxruntime differs from eager PyTorch beyond {TOLERANCE:g}: {", ".join(off)}')

