"""Per-window sink diagnostics of windowed (ViTDet) backbones: the measures by hand and tools/analyze.py."""
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmedit_vit.analysis.layer_stats import layer_statistics, window_maps
from mmedit_vit.analysis.probes import capture_backbone
from mmedit_vit.analysis.window_sinks import received_in_window, window_ids, window_sink_stats
from mmedit_vit.apis import analyze
from mmedit_vit.apis.config_model import build_backbone, normalise_images


def test_window_ids_split_the_grid_like_the_backbone():
    # 3x5 grid, 2x2 windows: 2 rows of 3 windows, the border ones partial
    assert window_ids((3, 5), 2).tolist() == [0, 0, 1, 1, 2, 0, 0, 1, 1, 2, 3, 3, 4, 4, 5]


def planted_attention():
    """4x4 grid, 2x2 windows, 1 prefix token. Every patch query gives 0.1 to the prefix; in window w the
    rest goes to its token ``top[w]`` (0.6) and evenly (0.1) to the other three."""
    grid, P, n = (4, 4), 1, 16
    ids = window_ids(grid, 2)
    top = {0: 5, 1: 2, 2: 8, 3: 15}  # row-major patch indices, one per window
    attn = torch.zeros(1, 2, P + n, P + n, dtype=torch.float64)
    attn[:, :, 0, 0] = 1.0  # the prefix query attends to itself
    for i in range(n):
        attn[:, :, P + i, 0] = 0.1
        for j in (ids == ids[i]).nonzero().flatten().tolist():
            attn[:, :, P + i, P + j] = 0.6 if j == top[int(ids[i])] else 0.1
    return attn, grid, P, top


def test_window_measures_by_hand():
    attn, grid, P, top = planted_attention()
    received = received_in_window(attn, grid, 2, patch_start=P)
    expected = torch.full((1, 16), 0.1, dtype=torch.float64)
    expected[0, list(top.values())] = 0.6
    torch.testing.assert_close(received, expected)
    norms = torch.ones(1, 17)
    norms[0, P + 5] = 400.0  # window 0's top token is high-norm
    norms[0, P + 3] = 300.0  # window 1 holds a high-norm token that is not its top one
    stats = window_sink_stats(attn, norms, grid, 2, patch_start=P, norm_threshold=150.0)
    assert stats == pytest.approx(dict(window_top_high_norm=0.25, window_high_norm=0.5, window_top_share=0.6,
                                       window_prefix_sink=0.0))
    # a prefix taking 0.7 of every query (top 0.15, others 0.05): the prefix is every window's sink
    attn[:, :, P:, 0] = 0.7
    attn[:, :, P:, P:] *= 0.25
    assert window_sink_stats(attn, norms, grid, 2, P)['window_prefix_sink'] == 1.0
    with pytest.raises(ValueError, match='prefix'):
        window_sink_stats(attn, norms, (4, 5), 2, P)


def test_uniform_windowed_attention_gives_every_token_its_share():
    attn, grid, P, _ = planted_attention()
    ids = window_ids(grid, 2)
    uniform = (ids[:, None] == ids[None, :]).double() / 4
    attn = uniform.expand(1, 2, 16, 16)
    torch.testing.assert_close(received_in_window(attn, grid, 2), torch.full((1, 16), 0.25, dtype=torch.float64))
    assert window_sink_stats(attn, torch.ones(1, 16), grid, 2)['window_top_share'] == pytest.approx(0.25)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / 'images'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (80, 80, 3), dtype=np.uint8)).save(folder / f'{i}.png')
    return folder


def test_analyze_reports_windows_of_a_tiny_windowed_backbone(tmp_path, images):
    cfg = tmp_path / 'vitdet_tiny.py'
    cfg.write_text("model = dict(type='PlainViT', num_registers=2, arch=dict(embed_dims=32, num_heads=2, depth=4), "
                   "img_size=80, window_size=2, global_attn_indexes=(2,), rel_pos=True)\n"
                   "data_preprocessor = dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5])\n")
    out = tmp_path / 'out'
    result = analyze.main([str(cfg), '--random-init', '--images', str(images), '--out', str(out),
                           '--img-size', '80', '--norm-threshold', '1.0'])
    saved = json.loads((out / 'metrics.json').read_text())['models']['vitdet_tiny']
    assert saved['window_size'] == 2 and saved['windowed_blocks'] == [0, 1, 3]
    layers = saved['layers']
    for key in ('window_top_high_norm', 'window_high_norm', 'window_top_share', 'window_prefix_sink'):
        assert len(layers[key]) == 4 and all(0 <= v <= 1 for v in layers[key])
    assert Image.open(out / 'window_maps_vitdet_tiny.png').size == (880, 260)
    assert result['models']['vitdet_tiny']['layers'] == layers

    # the capture behind it: the window maps hold all the patch attention of a windowed block's queries
    config = Config.fromfile(str(cfg))
    torch.manual_seed(0)
    backbone = build_backbone(config, random_init=True)
    pixels = analyze.load_images(analyze.image_files([str(images)]), 80)
    cap = capture_backbone(backbone, normalise_images(pixels, config))
    assert cap.window_size == 2 and len(cap.input_norms) == 4
    maps = window_maps(cap)
    assert maps[0].shape == (2, 5, 5)
    P = cap.num_prefix_tokens
    patches = cap.attentions[0][:, :, P:, P:].double().mean(1)
    ids = window_ids(cap.grid, 2)
    for w in ids.unique():
        members = ids == w
        torch.testing.assert_close(maps[0].flatten(1)[:, members].sum(1),
                                   patches[:, members].sum(-1).mean(-1))
    assert set(layer_statistics(cap, norm_threshold=1.0)) >= set(layers) - {'norm_histogram'}
