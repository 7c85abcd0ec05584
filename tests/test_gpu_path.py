"""What tools/gpu_check.sh runs on a GPU node with torch + timm + mmengine only: the models import without
mmcv / mmseg / mmdet / opencv, the throughput tool runs, and its Segmenter stand-in is mmseg's head."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS as SEG_MODELS

from conftest import ROOT, perturb_
from mmedit_vit.models import EDITViT

BLOCK = ('mmcv', 'mmseg', 'mmdet', 'cv2', 'matplotlib')
# sitecustomize-like prelude: importing any of these raises ImportError, as on the GPU node
PRELUDE = f"import sys\nfor m in {BLOCK!r}:\n    sys.modules[m] = None\n"


def run_python(code: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': ROOT}
    return subprocess.run([sys.executable, '-c', PRELUDE + code, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_models_import_and_run_without_openmmlab_data_stack():
    code = (
        'import torch\n'
        'import mmedit_vit.models.backbones\n'
        'from mmengine.registry import MODELS\n'
        "m = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='EDITViT', arch=dict(embed_dims=32, "
        "num_heads=2, depth=2), img_size=32), num_classes=3))\n"
        "print(tuple(m(torch.randn(2, 3, 32, 32), mode='tensor').shape))\n"
        f"print(sorted(k for k in {BLOCK!r} if sys.modules.get(k) is not None))\n")
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split('\n')[:2] == ['(2, 3)', '[]']


def test_the_blocked_import_is_real():
    """The prelude does block: importing mmcv behind it fails (so the test above can fail)."""
    proc = run_python('import mmedit_vit.datasets.transforms.perturbations')
    assert proc.returncode != 0
    assert 'None in sys.modules' in proc.stderr or "'mmcv' is not a package" in proc.stderr, proc.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize('task', ['seg', 'cls'])
def test_throughput_tool_runs_without_openmmlab_data_stack(task, tmp_path):
    table = tmp_path / 'throughput.md'
    code = "import runpy\nrunpy.run_path('tools/throughput.py', run_name='__main__')\n"
    env_argv = ['--task', task, '--arch', 'tiny', '--device', 'cpu', '--dtype', 'float32', '--batch', '2',
                '--img-size', '64', '--iters', '2', '--warmup', '1', '--with-cp', '--table', str(table)]
    proc = run_python(f'sys.argv = ["throughput.py"] + {env_argv!r}\n' + code, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [r for r in table.read_text().splitlines() if r.startswith('| ') and 'images/s' not in r]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip('|').split('|')]
    name = 'segmenter_edit_t_ade20k' if task == 'seg' else 'cls_edit_t_in1k'
    assert cells[0].startswith(name) and cells[1:6] == ['64', '2', 'float32', 'yes', 'no']
    assert float(cells[6]) > 0  # images/s: a timing, whatever the machine
    # forward multiply-adds of one 64x64 image by hand: N=16 patches, d=192, 12 blocks (qkv + proj + MLP = 12Nd^2,
    # attention 2N^2d), patch embedding N·768·d; the classifier adds EDIT's decoder (K/V of N+1 tokens, 2(N+1)d^2,
    # and a single query over them, 2(N+1)d, per depth) and the 1000-class head
    n, d, depth = 16, 192, 12
    backbone = depth * (12 * n * d * d + 2 * n * n * d) + n * 3 * 16 * 16 * d
    gmacs = float(cells[9]) * 1e9
    if task == 'cls':
        by_hand = backbone + depth * (2 * (n + 1) * d * d + 2 * (n + 1) * d) + d * 1000
    else:  # mmseg's mask transformer on the dense backbone: its input projection, 2 layers over the N patches and
        # 150 class embeddings (m tokens), the patch and class projections, and the N x 150 mask products
        m = n + 150
        by_hand = backbone + n * d * d + 2 * (12 * m * d * d + 2 * m * m * d) + m * d * d + n * 150 * d
    # the table rounds to 0.01 GMACs; norms and residual adds count +0.5% beyond the hand count
    assert abs(gmacs - by_hand) <= 0.005e9 + 0.01 * by_hand, (gmacs, by_hand)


MMSEG_TO_TIMM = (('.ln1.', '.norm1.'), ('.ln2.', '.norm2.'), ('.attn.attn.in_proj_', '.attn.qkv.'),
                 ('.attn.attn.out_proj.', '.attn.proj.'), ('.ffn.layers.0.0.', '.mlp.fc1.'),
                 ('.ffn.layers.1.', '.mlp.fc2.'))


def test_segmenter_stand_in_is_mmseg_head_layer_for_layer():
    """Same parameters (renamed from mmseg's to timm's layer names) and, with mmseg's weights, the same logits."""
    from mmedit_vit.analysis.throughput import SegmenterStandIn
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'segmenter_edit_t_ade20k.py'))
    cfg.model.backbone.init_cfg = None
    reference = perturb_(SEG_MODELS.build(cfg.model), weights=True).eval()
    stand_in = SegmenterStandIn(EDITViT(arch='tiny', img_size=512)).eval()
    renamed = {}
    for name, value in reference.decode_head.state_dict().items():
        for theirs, ours in MMSEG_TO_TIMM:
            name = name.replace(theirs, ours)
        renamed[name] = value
    renamed.update({f'backbone.{k}': v for k, v in reference.backbone.state_dict().items()})
    stand_in.load_state_dict(renamed, strict=True)  # every parameter has its counterpart, shapes included
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = reference(images, mode='tensor')  # mmseg: the head's masks at 1/16
        ours = stand_in.head_logits(images)
        upsampled = stand_in(images)
    assert ours.shape == expected.shape == (2, 150, 4, 4)
    assert (ours - expected).abs().max().item() < 1e-4 * expected.abs().max().item()
    assert upsampled.shape == (2, 150, 64, 64)
    assert torch.allclose(upsampled, torch.nn.functional.interpolate(expected, size=(64, 64), mode='bilinear',
                                                                     align_corners=False), atol=1e-4)


def _numel(shape) -> int:
    out = 1
    for s in shape:
        out *= s
    return out


@pytest.mark.slow
def test_gpu_check_script_keeps_its_time_budget(tmp_path):
    """GPU_CHECK_SMOKE=1 runs the same steps tiny on the CPU; a short budget skips the rest and says so."""
    site = tmp_path / 'gpu_node'  # as on the GPU node: no mmcv, mmseg, mmdet, opencv, matplotlib
    site.mkdir()
    (site / 'sitecustomize.py').write_text(PRELUDE)
    # 36 s: the environment and benchmark steps (about 10 s in the smoke) leave less than the 30 s a step needs
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHON': sys.executable, 'GPU_CHECK_SMOKE': '1',
           'GPU_CHECK_BUDGET_S': '36', 'PYTHONPATH': str(site)}
    proc = subprocess.run(['bash', 'tools/gpu_check.sh', str(tmp_path / 'out')], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode == 1, proc.stderr[-3000:]  # steps that did not run count as failed
    assert 'step(s) failed:' in proc.stderr and 'not run: budget spent' in proc.stderr
    report = (tmp_path / 'out' / 'gpu_check.md').read_text()
    assert '- environment: ok' in report and 'mmedit_vit.models imports with torch + timm + mmengine only' in report
    assert '- benchmark: ok' in report and '| tiny | edit |' in report
    assert 'skipped, the 36 s budget is spent' in report  # the later steps do not fit: reported, not run
    assert '- goals: skipped' in report


def test_gpu_check_script_exits_non_zero_and_names_the_failed_steps(tmp_path):
    """A python that fails every step: the script goes on, then exits 1 naming each failed step."""
    env = {**os.environ, 'PYTHON': 'false', 'GPU_CHECK_SMOKE': '1', 'GPU_CHECK_BUDGET_S': '120'}
    proc = subprocess.run(['bash', 'tools/gpu_check.sh', str(tmp_path / 'out')], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    failed = proc.stderr.strip().splitlines()[-1]
    assert failed.startswith('gpu_check: ') and 'environment (exit 1)' in failed and 'benchmark (exit 1)' in failed
    assert 'cls_timm (exit 1)' in failed and 'goals (exit 1)' in failed
    assert '- environment: FAILED with exit 1' in (tmp_path / 'out' / 'gpu_check.md').read_text()


def test_segmenter_stand_in_loss_is_the_same_with_either_resize():
    """The stand-in's GEMM resize (as the configs' heads) and F.interpolate give one loss and one gradient."""
    from mmedit_vit.analysis.throughput import build_seg
    gemm = build_seg('edit', dict(embed_dims=32, num_heads=2, depth=2), False, 64, 'gemm')
    interp = build_seg('edit', dict(embed_dims=32, num_heads=2, depth=2), False, 64, 'interpolate')
    interp.load_state_dict(gemm.state_dict())
    images, labels = torch.randn(2, 3, 64, 64), torch.randint(0, 150, (2, 64, 64))
    losses = []
    for model in (gemm, interp):
        model.eval()  # no drop path: the two runs see the same network
        loss = model.loss(images, labels)
        loss.backward()
        losses.append(loss.detach())
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-5, atol=1e-6)
    for (name, p), q in zip(gemm.named_parameters(), interp.parameters()):
        assert (p.grad is None) == (q.grad is None), name
        if p.grad is None:  # EDIT's [CLS] and decoder: frozen in a dense model
            continue
        scale = q.grad.abs().max().item()  # some entries are 0 up to rounding (the key bias)
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-4 * scale, msg=name)
    with pytest.raises(ValueError, match="resize='nearest' is not supported"):
        build_seg('edit', 'tiny', False, 64, 'nearest')


def test_profile_writes_the_operator_table(tmp_path):
    from mmedit_vit.analysis.throughput import profile_steps
    layer = torch.nn.Linear(8, 8)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)

    def step():
        optimizer.zero_grad()
        layer(torch.randn(4, 8)).square().sum().backward()
        optimizer.step()

    path = profile_steps(step, torch.device('cpu'), str(tmp_path / 'prof'), 'toy', steps=3)
    text = open(path).read()
    assert path.endswith('profile_toy.txt') and text.startswith('3 training steps of toy')
    addmm = [line for line in text.splitlines() if line.strip().startswith('aten::addmm')]
    assert addmm and addmm[0].split()[-1] == '3'  # one forward matmul per step


def test_lamb_kind_names_the_implementation_that_runs():
    from timm.optim import Lamb

    from mmedit_vit.analysis.throughput import lamb_kind
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert lamb_kind(torch.optim.SGD(params, lr=1.0), torch.device('cpu')) == 'SGD'
    assert lamb_kind(Lamb(params), torch.device('cpu')).startswith('LAMB per tensor, timm ')
    assert lamb_kind(Lamb(params), torch.device('cuda')).startswith('LAMB foreach, timm ')  # timm >= 1.0.31


@pytest.mark.parametrize('variant', ['deit3', 'reg4', 'gated', 'cb', 'edit'])
def test_segmenter_stand_in_backbone_is_the_segmenter_configs_backbone(variant):
    """The stand-in's backbone is built from the one variant table: same type, LayerScale, registers, gate and
    CB layers as the backbone of configs/segmenter_{variant}_t_ade20k.py."""
    from mmedit_vit.analysis.throughput import build_seg
    from mmedit_vit.models.backbones.variants import BACKBONE_VARIANTS
    ours = build_seg(variant, 'tiny', False, 64).backbone
    cfg = Config.fromfile(osp.join(ROOT, 'configs', f'segmenter_{variant}_t_ade20k.py')).model.backbone
    theirs = {k: v for k, v in cfg.items() if k not in ('init_cfg', 'pretrained')}
    theirs.update(img_size=64, drop_path_rate=0.1, out_indices=-1, final_norm=True)
    init_default_scope('mmseg')
    reference = SEG_MODELS.build(theirs)
    assert type(ours) is type(reference) and type(ours).__name__ == BACKBONE_VARIANTS[variant]['type']
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}
    has_ls = any('.ls1.' in k for k in ours.state_dict())
    assert has_ls == (variant != 'cb')  # the CB paper's ViTs have no LayerScale


def test_gpu_check_goals_from_results():
    """The goals are ratios of the runs' images/s (and the compiled DeiT-III-B MFU), paired by compile mode."""
    from mmedit_vit.analysis.throughput import goal_lines

    def run(task='cls', impl='ours', variant='deit3', compile=None, ips=100.0, mfu=None, resize=None):
        return dict(task=task, impl=impl, variant=variant if impl == 'ours' else 'timm', compile=compile,
                    with_cp=False, images_per_s=ips, mfu=mfu, resize=resize)

    lines = goal_lines([run(ips=110.0), run(impl='timm', ips=100.0), run(variant='edit', ips=80.0),
                        run(compile='default', ips=200.0, mfu=41.5), run(impl='timm', compile='default', ips=250.0),
                        run(task='seg', variant='edit', resize='gemm', ips=30.0),
                        run(task='seg', variant='edit', resize='interpolate', ips=20.0)])
    assert '- DeiT-III-B images/s ours / timm, eager: 1.100, goal >= 1.000 (met)' in lines
    assert '- EDIT-B / DeiT-III-B images/s, eager: 0.727, goal >= 0.870 (NOT met)' in lines
    assert '- DeiT-III-B images/s ours / timm, compiled: 0.800, goal >= 1.000 (NOT met)' in lines
    assert '- EDIT-B / DeiT-III-B images/s, CUDA graphs: not measured' in lines
    assert '- ViT-B (DeiT-III-B) classification MFU, compiled: 41.500 %, goal >= 40.000 % (met)' in lines
    assert '- segmenter_edit_b_ade20k images/s, GEMM resize / F.interpolate: 1.500' in lines


def test_timm_classifier_is_the_deit3_configs_model_in_size_and_flops():
    """--impl timm: timm's VisionTransformer with the DeiT-III-T config's settings has our parameter count."""
    from mmedit_vit.analysis.throughput import build_cls, build_timm_cls
    classifier, _ = build_cls('deit3', 'tiny', False)
    backbone_cfg = Config.fromfile(osp.join(ROOT, 'configs', 'cls_deit3_t_in1k.py')).model.backbone
    net = build_timm_cls('tiny', backbone_cfg, classifier.num_classes, False)
    ours = sum(p.numel() for p in classifier.parameters())
    assert sum(p.numel() for p in net.parameters()) == ours
    assert net.blocks[0].ls1.gamma.flatten()[0].item() == pytest.approx(backbone_cfg.layer_scale_init)
    assert net(torch.randn(1, 3, 224, 224)).shape == (1, classifier.num_classes)
