"""tools/analyze.py end to end: configs, checkpoints, metrics.json and the PNG figures."""
import json
import math

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS
from PIL import Image

from conftest import perturb_
from mmedit_vit.analysis import plots
from mmedit_vit.analysis.layer_stats import layer_statistics
from mmedit_vit.analysis.probes import capture_backbone
from mmedit_vit.apis import analyze
from mmedit_vit.apis.config_model import build_backbone, normalisation, normalise_images

ARCH = "dict(embed_dims=32, num_heads=2, depth=4)"


def write(path, text):
    path.write_text(text)
    return str(path)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / 'images'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (40 + 10 * i, 50, 3), dtype=np.uint8)).save(folder / f'{i}.png')
    return folder


def assert_png(path, size):
    """A PNG of exactly ``size`` (width, height) pixels with visible content."""
    img = Image.open(path)
    assert img.size == size
    pixels = np.asarray(img.convert('RGB'))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10 and (pixels < 250).any()


def test_analyze_compares_configs_and_loads_checkpoints(tmp_path, images):
    reg4 = write(tmp_path / 'reg4_bb.py',
                 f"model = dict(type='PlainViT', num_registers=4, arch={ARCH}, img_size=32)\n"
                 "data_preprocessor = dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5])\n")
    edit = write(tmp_path / 'edit_seg.py', "model = dict(type='EncoderDecoder', "
                 "data_preprocessor=dict(mean=[0., 0., 0.],"
                 f" std=[255., 255., 255.], bgr_to_rgb=True), backbone=dict(type='EDITViT', arch={ARCH}))\n")
    # a checkpoint the way this project's segmentors save them: the backbone under 'backbone.'
    trained = MODELS.build(dict(type='PlainViT', num_registers=4, arch=eval(ARCH), img_size=32))
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    state = {f'backbone.{k}': v for k, v in trained.state_dict().items()}
    state['decode_head.conv_seg.weight'] = torch.zeros(3, 32, 1, 1)
    ckpt = str(tmp_path / 'seg.pth')
    torch.save(dict(state_dict=state, meta=dict()), ckpt)

    out = tmp_path / 'out'
    result = analyze.main([reg4, edit, '--checkpoint', ckpt, 'none', '--random-init', '--images', str(images),
                           '--out', str(out), '--img-size', '32', '--map-images', '2'])

    with open(out / 'metrics.json') as f:
        saved = json.load(f)
    assert saved == json.loads(json.dumps(result))
    assert saved['settings']['norm_threshold'] == 150.0 and len(saved['settings']['images']) == 3
    m_reg, m_edit = saved['models']['reg4_bb'], saved['models']['edit_seg']
    assert m_reg['checkpoint'] == ckpt and m_reg['num_registers'] == 4 and m_reg['grid'] == [2, 2]
    assert 'register_attention_share' in m_reg['layers'] and 'decoder_cls_attention_ratio' in m_edit['layers']
    assert 'cls_attention_ratio' not in m_edit['layers']
    # the loaded weights, normalised as the config says: the same statistics as probing ``trained``
    pixels = analyze.load_images(analyze.image_files([str(images)]), 32)
    direct = layer_statistics(capture_backbone(trained, (pixels - 127.5) / 127.5))
    assert m_reg['layers']['entropy_mean'] == pytest.approx(direct['entropy_mean'], rel=1e-6)
    assert m_reg['layers']['cls_attention_ratio'] == pytest.approx(direct['cls_attention_ratio'], rel=1e-6)

    n_curves = len([k for k in plots.CURVES if k in m_reg['layers'] or k in m_edit['layers']])
    rows, cols = math.ceil(n_curves / 3), min(3, n_curves)
    assert_png(out / 'layer_curves.png', (400 * cols, 300 * rows))
    assert_png(out / 'norm_histograms.png', (1600, 300))  # 4 layers in one row of 4 panels
    for name in ('reg4_bb', 'edit_seg'):  # image + 4 layers, 2 images
        assert_png(out / f'attention_maps_{name}.png', (800, 360))


def test_plot_functions_report_their_size(tmp_path):
    stats = {'a': dict(entropy_mean=[1.0, 2.0], cls_attention_ratio=[1.0, 30.0]),
             'b': dict(entropy_mean=[1.5, 1.0], gate_score_mean=[0.5, None])}
    size = plots.plot_layer_curves(stats, str(tmp_path / 'c.png'), cols=2)
    assert size == (800, 600)
    assert_png(tmp_path / 'c.png', size)
    imgs = np.random.default_rng(0).random((1, 32, 48, 3))
    size = plots.plot_attention_maps(imgs, [np.random.rand(1, 2, 3)] * 3, str(tmp_path / 'm.png'))
    assert size == (640, 200)
    assert_png(tmp_path / 'm.png', size)
    with pytest.raises(ValueError, match='no per-layer metric'):
        plots.plot_layer_curves({'a': dict(unknown=[1.0])}, str(tmp_path / 'x.png'))


def test_normalisation_follows_the_config():
    cfg = Config(dict(model=dict(backbone=dict(type='PlainViT'),
                                 data_preprocessor=dict(mean=[10., 20., 30.], std=[2., 4., 5.], bgr_to_rgb=False))))
    assert normalisation(cfg) == ([10., 20., 30.], [2., 4., 5.], False)
    rgb = torch.tensor([100., 60., 20.]).view(1, 3, 1, 1)
    # the model sees BGR: (20 - 10) / 2, (60 - 20) / 4, (100 - 30) / 5
    assert normalise_images(rgb, cfg).flatten().tolist() == [5.0, 10.0, 14.0]
    assert normalisation(Config(dict(model=dict(type='PlainViT'))))[2] is True  # ImageNet RGB by default


def test_model_level_pretrained_is_loaded_and_checked(tmp_path):
    """An mmseg-style config (``model.pretrained``): the analysis loads it into the backbone, train.py's
    check names it when the file is missing."""
    from mmedit_vit.apis import check_pretrained_files
    source = perturb_(MODELS.build(dict(type='PlainViT', arch=eval(ARCH))), weights=True)
    torch.save(source.state_dict(), tmp_path / 'vit.pth')
    cfg = Config(dict(model=dict(type='EncoderDecoder', pretrained=str(tmp_path / 'vit.pth'),
                                 backbone=dict(type='PlainViT', arch=eval(ARCH)))))
    check_pretrained_files(cfg)
    with pytest.warns(UserWarning, match='pretrained is deprecated'):
        backbone = build_backbone(cfg)
    assert all(torch.equal(backbone.state_dict()[k], v) for k, v in source.state_dict().items())
    cfg.model.pretrained = 'pretrain/nope.pth'
    with pytest.raises(FileNotFoundError, match=r"model.pretrained: 'pretrain/nope.pth'"):
        check_pretrained_files(cfg)
    cfg.model.backbone.pretrained = 'other.pth'
    with pytest.raises(ValueError, match='both set'):
        build_backbone(cfg)


def test_missing_pretrained_file_is_named(tmp_path):
    cfg = Config(dict(model=dict(backbone=dict(type='PlainViT', arch=eval(ARCH),
                                               init_cfg=dict(type='Pretrained', checkpoint='pretrain/nope.pth')))))
    with pytest.raises(FileNotFoundError, match='pretrain/nope.pth'):
        build_backbone(cfg)
    with pytest.raises(ValueError, match='has no backbone'):
        build_backbone(Config(dict(optimizer=dict(type='SGD'))))
    with pytest.raises(SystemExit):
        analyze.parse_args(['a.py', 'b.py', '--checkpoint', 'x', 'y', 'z', '--images', 'i', '--out', 'o'])


def test_timm_checkpoint_gives_timm_attention(tmp_path, images):
    """A timm DeiT-III-style file through --checkpoint: entropies equal those of timm's own attention."""
    from timm.models.vision_transformer import VisionTransformer
    timm_vit = VisionTransformer(img_size=32, patch_size=16, embed_dim=32, depth=4, num_heads=2, init_values=1e-6,
                                 no_embed_class=True, num_classes=5).eval()
    with torch.no_grad():
        for p in timm_vit.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    ckpt = str(tmp_path / 'timm.pth')
    torch.save(timm_vit.state_dict(), ckpt)
    cfg = write(tmp_path / 'deit3_bb.py', f"model = dict(type='PlainViT', arch={ARCH}, img_size=32)\n")
    result = analyze.main([cfg, '--checkpoint', ckpt, '--images', str(images), '--out', str(tmp_path / 'out'),
                           '--img-size', '32'])

    probs = []
    for block in timm_vit.blocks:
        block.attn.fused_attn = False  # timm then passes the probabilities through attn_drop
        block.attn.attn_drop.register_forward_hook(lambda _, inp, __: probs.append(inp[0]))
    pixels = analyze.load_images(analyze.image_files([str(images)]), 32)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    with torch.no_grad():
        timm_vit((pixels - mean) / std)
    from mmedit_vit.analysis.sink_metrics import entropy_stats
    expected = [entropy_stats(p)[0] for p in probs]
    assert result['models']['deit3_bb']['layers']['entropy_mean'] == pytest.approx(expected, rel=1e-5)
