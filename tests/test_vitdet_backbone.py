"""ViTDet backbone options: windowed attention, global blocks, relative position biases, for every variant."""
import pytest
import torch
from timm.models.vision_transformer_sam import Block as SAMBlock
from torch import nn

from mmedit_vit.converters import CheckpointMismatchError, load_pretrained
from mmedit_vit.models import PlainViT
from mmedit_vit.models.backbones import BACKBONE_VARIANTS
from mmedit_vit.models.layers import Block, capture_maps
from mmedit_vit.models.layers.windows import pad_to_windows
from mmedit_vit.registry import MODELS

ARCH = dict(embed_dims=32, num_heads=2, depth=4)


def build(variant: str, **kwargs) -> nn.Module:
    cfg = dict(BACKBONE_VARIANTS[variant], arch=ARCH, img_size=80, patch_size=16, **kwargs)
    if variant == 'cb':
        cfg['cb_layers'] = [1, 2, 3]
    if variant == 'edit':
        cfg['out_cls_token'] = True  # the decoder runs and its [CLS] is compared too
    torch.manual_seed(0)
    return MODELS.build(cfg).double().eval()


def flat(outputs) -> torch.Tensor:
    parts = [t for out in outputs for t in (out if isinstance(out, tuple) else (out,))]
    return torch.cat([t.flatten() for t in parts])


def randomise_(model: nn.Module) -> nn.Module:
    """Non-trivial weights (LayerScale 1e-6 and zero tables would hide differences)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * (0.5 if 'gamma' in name or 'rel_pos' in name else 0.2) + (
                1.0 if name.endswith(('norm1.weight', 'norm2.weight', 'norm.weight')) else 0.0))
    return model


@pytest.mark.parametrize('variant', sorted(BACKBONE_VARIANTS))
@pytest.mark.parametrize('window_size', [5, 7])  # 5: the 5x5 grid exactly; 7: one window padded by 2
def test_one_window_covering_the_image_is_global_attention(variant, window_size):
    reference = randomise_(build(variant))
    windowed = build(variant, window_size=window_size, global_attn_indexes=(2,))
    windowed.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 80, 80, dtype=torch.float64)
    assert windowed.windowed_blocks == [0, 1, 3]
    torch.testing.assert_close(flat(windowed(x)), flat(reference(x)), rtol=1e-12, atol=1e-12)


def test_small_windows_change_the_output():
    """The converse of the test above: real windows (2x2 on a 5x5 grid) are not global attention."""
    reference = randomise_(build('deit3'))
    windowed = build('deit3', window_size=2)
    windowed.load_state_dict(reference.state_dict())
    x = torch.randn(1, 3, 80, 80, dtype=torch.float64)
    assert (flat(windowed(x)) - flat(reference(x))).abs().max() > 1e-3


def reference_window_attention(attn, x, grid, num_prefix, window_size, prefix_in_windows):
    """Window by window, on the real tokens only (border windows are smaller), plain softmax attention;
    relative biases computed entry by entry from the tables."""
    B, N, C = x.shape
    heads, d = attn.num_heads, attn.head_dim
    q, k, v = attn.qkv(x).reshape(B, N, 3, heads, d).permute(2, 0, 3, 1, 4)
    H, W = grid
    out = torch.zeros(B, heads, N, d, dtype=x.dtype)
    prefix = list(range(num_prefix))
    for r0 in range(0, H, window_size):
        for c0 in range(0, W, window_size):
            cells = [(r, c) for r in range(r0, min(r0 + window_size, H)) for c in range(c0, min(c0 + window_size, W))]
            ids = [num_prefix + r * W + c for r, c in cells]
            keys = (prefix if prefix_in_windows == 'every_window' else []) + ids
            logits = q[:, :, ids] @ k[:, :, keys].transpose(-2, -1) * d ** -0.5
            if attn.rel_pos_h is not None:
                bias = torch.zeros(B, heads, len(ids), len(keys), dtype=x.dtype)
                for a, (ra, ca) in enumerate(cells):
                    for b, (rb, cb) in enumerate(cells):
                        col = len(keys) - len(ids) + b
                        qa = q[:, :, ids[a]]
                        bias[:, :, a, col] = ((qa * attn.rel_pos_h[ra - rb + window_size - 1]).sum(-1)
                                              + (qa * attn.rel_pos_w[ca - cb + window_size - 1]).sum(-1))
                logits = logits + bias
            out[:, :, ids] = logits.softmax(-1) @ v[:, :, keys]
    if num_prefix:
        keys = list(range(N)) if prefix_in_windows == 'every_window' else prefix
        logits = q[:, :, prefix] @ k[:, :, keys].transpose(-2, -1) * d ** -0.5
        out[:, :, prefix] = logits.softmax(-1) @ v[:, :, keys]
    return attn.proj(out.transpose(1, 2).reshape(B, N, C))


def windowed_block(window_size, rel_pos=False, prefix_in_windows='every_window', gate='none'):
    from functools import partial

    from mmedit_vit.models.layers import Attention
    torch.manual_seed(0)
    attn = partial(Attention, window_size=window_size, prefix_in_windows=prefix_in_windows, gate=gate,
                   rel_pos_size=(window_size, window_size) if rel_pos else None)
    return randomise_(Block(32, 2, attn_layer=attn).double())


@pytest.mark.parametrize('grid', [(6, 6), (5, 7)])  # whole windows; padded to 6x9
@pytest.mark.parametrize('num_prefix', [0, 3])
@pytest.mark.parametrize('prefix_in_windows', ['every_window', 'global_blocks'])
@pytest.mark.parametrize('rel_pos', [False, True])
def test_windowed_attention_equals_a_window_by_window_reference(grid, num_prefix, prefix_in_windows, rel_pos):
    block = windowed_block(3, rel_pos, prefix_in_windows)
    x = torch.randn(2, num_prefix + grid[0] * grid[1], 32, dtype=torch.float64)
    ours = block._attention(x, grid, num_prefix)
    expected = reference_window_attention(block.attn, x, grid, num_prefix, 3, prefix_in_windows)
    torch.testing.assert_close(ours, expected, rtol=1e-10, atol=1e-12)


def test_padding_neither_reaches_nor_takes_gradient_from_real_tokens():
    """The attention of a padded grid (5x7 in 6x9, 3x3 windows, 2 registers), fed arbitrary padding values:
    (1) the real tokens' outputs do not depend on the padding values; (2) the gradient of the real outputs
    w.r.t. every padded token is exactly zero; (3) the gradient w.r.t. the real tokens does not depend on
    the padding values."""
    block = windowed_block(3, rel_pos=True, gate='elementwise')
    grid, P = (5, 7), 2
    x = torch.randn(1, P + 35, 32, dtype=torch.float64)
    padded_zero, padded = pad_to_windows(x, grid, P, 3)
    assert padded == (6, 9)
    real = torch.zeros(6, 9, dtype=torch.bool)
    real[:5, :7] = True
    real = torch.cat([torch.ones(P, dtype=torch.bool), real.flatten()])
    results = []
    for fill in (padded_zero, padded_zero.masked_scatter(~real[None, :, None], torch.randn(1, 19, 32).double() * 9)):
        inp = fill.clone().requires_grad_(True)
        out = block.attn(inp, grid=padded, num_prefix_tokens=P, valid_grid=grid)[:, real]
        weights = torch.randn_like(out, generator=torch.Generator().manual_seed(0))
        (grad,) = torch.autograd.grad((out * weights).sum(), inp)
        assert torch.equal(grad[:, ~real], torch.zeros_like(grad[:, ~real]))
        results.append((out, grad[:, real]))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=0, atol=1e-13)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=0, atol=1e-13)


def sam_pair(window_size, input_size, our_rel_size):
    from functools import partial

    from mmedit_vit.models.layers import Attention
    torch.manual_seed(0)
    theirs = SAMBlock(32, 2, use_rel_pos=True, window_size=window_size, input_size=input_size).double().eval()
    ours = Block(32, 2, norm_layer=nn.LayerNorm, attn_layer=partial(
        Attention, window_size=window_size, rel_pos_size=our_rel_size)).double().eval()
    randomise_(theirs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


@pytest.mark.parametrize('window_size, grid', [(3, (6, 9)), (0, (4, 6)), (0, (6, 5))])
def test_relative_positions_match_timm_sam_blocks(window_size, grid):
    """timm's ViTDet / SAM block with the same weights: a windowed block on whole windows, a global block at
    its table size, and a global block whose tables are interpolated (tables for 4x6, input 6x5)."""
    table = (window_size, window_size) if window_size else (4, 6)
    ours, theirs = sam_pair(window_size, (4, 6), table)
    x = torch.randn(2, *grid, 32, dtype=torch.float64)
    expected = theirs(x).flatten(1, 2)
    torch.testing.assert_close(ours(x.flatten(1, 2), grid=grid), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('q_size, k_size, rows', [(7, 7, 13), (7, 7, 9), (4, 8, 15), (8, 3, 5)])
def test_relative_table_is_timms_lookup_with_the_index_built_once_on_the_device(q_size, k_size, rows):
    """timm's ``get_rel_pos`` (same and different query/key sizes, tables resampled or not); after the first
    call the index is reused: a lookup dispatches no ``arange`` and no host copy, only the gather."""
    from timm.models.vision_transformer_sam import get_rel_pos

    from mmedit_vit.analysis.op_count import OpCounter
    from mmedit_vit.models.layers.constants import clear_constants
    from mmedit_vit.models.layers.windows import relative_table
    table = torch.randn(rows, 5, dtype=torch.float64)
    clear_constants()
    with torch.inference_mode():  # first built during inference: must still serve autograd
        relative_table(q_size, k_size, table)
    table.requires_grad_(True)
    with OpCounter() as ops:
        ours = relative_table(q_size, k_size, table)
    torch.testing.assert_close(ours, get_rel_pos(q_size, k_size, table), rtol=0, atol=1e-12)
    names = {name.split('.')[1] for name in ops.by_name}
    assert not names & {'arange', '_to_copy', 'copy_', 'lt', 'sub', 'mul'}, ops.by_name
    ours.sum().backward()
    assert table.grad is not None and table.grad.abs().sum() > 0


def test_vitdet_backbone_builds_the_vit_b_layout():
    model = PlainViT(arch='base', img_size=1024, window_size=14, global_attn_indexes=(2, 5, 8, 11), rel_pos=True)
    assert model.windowed_blocks == [0, 1, 3, 4, 6, 7, 9, 10]
    assert model.blocks[0].attn.rel_pos_h.shape == (27, 64)
    assert model.blocks[2].attn.rel_pos_h.shape == (127, 64)  # the 64x64 grid of a 1024 input
    assert all(b.attn.rel_pos_h.abs().sum() == 0 for b in model.blocks)


@pytest.mark.parametrize('kwargs, message', [
    (dict(window_size=-1), 'window_size'),
    (dict(window_size=2.5), 'window_size'),
    (dict(window_size=2, global_attn_indexes=(4,)), r'global_attn_indexes entry 4 .*\[0, 3\]'),
    (dict(window_size=2, global_attn_indexes=(-1,)), r'global_attn_indexes entry -1 .*\[0, 3\]'),
    (dict(window_size=2, global_attn_indexes=(1, 1)), r'repeats \[1\]'),
    (dict(window_size=2, global_attn_indexes=('2',)), 'global_attn_indexes'),
    (dict(global_attn_indexes=(1,)), 'needs window_size > 0'),
    (dict(window_size=2, prefix_in_windows='window'), r"prefix_in_windows='window'.*every_window"),
    (dict(prefix_in_windows='global_blocks'), 'needs windowed attention'),
    (dict(rel_pos='yes'), 'rel_pos'),
])
def test_bad_window_arguments_are_named(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        PlainViT(arch=ARCH, img_size=80, **kwargs)


def test_global_checkpoint_loads_into_a_rel_pos_model_naming_the_tables(tmp_path):
    glob = randomise_(build('reg4'))
    path = tmp_path / 'global.pth'
    torch.save({'state_dict': glob.state_dict()}, path)
    model = build('reg4', window_size=3, global_attn_indexes=(1,), rel_pos=True)
    notes = load_pretrained(model, checkpoint=str(path))
    tables = [f'blocks.{i}.attn.rel_pos_{a}' for i in range(4) for a in 'hw']
    note = [n for n in notes if 'relative position' in n]
    assert len(note) == 1 and all(t in note[0] for t in tables), notes
    assert all(model.state_dict()[t].abs().sum() == 0 for t in tables)
    # zero tables: a window covering the image is the global model again
    one_window = build('reg4', window_size=5, rel_pos=True)
    load_pretrained(one_window, checkpoint=str(path))
    x = torch.randn(1, 3, 80, 80, dtype=torch.float64)
    torch.testing.assert_close(flat(one_window.eval()(x)), flat(glob(x)), rtol=1e-12, atol=1e-12)

    state = glob.state_dict()
    del state['blocks.1.attn.qkv.weight']
    torch.save(state, path)
    with pytest.raises(CheckpointMismatchError, match=r'missing in the checkpoint: blocks\.1\.attn\.qkv\.weight'):
        load_pretrained(model, checkpoint=str(path))
    partial_tables = dict(glob.state_dict(), **{'blocks.0.attn.rel_pos_h': torch.zeros(5, 16)})
    torch.save(partial_tables, path)
    with pytest.raises(CheckpointMismatchError, match='rel_pos_w'):
        load_pretrained(model, checkpoint=str(path))


def test_with_cp_and_drop_path_keep_windowed_gradients():
    x = torch.randn(2, 3, 80, 96, dtype=torch.float64)
    grads = []
    for with_cp in (False, True):
        model = randomise_(build('reg4', window_size=2, global_attn_indexes=(1,), rel_pos=True,
                                 drop_path_rate=0.3, with_cp=with_cp)).train()
        torch.manual_seed(3)
        flat(model(x)).square().sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-10, atol=1e-12)
    assert grads[0].abs().sum() > 0


@pytest.mark.parametrize('prefix_in_windows', ['every_window', 'global_blocks'])
def test_probes_expose_dense_windowed_maps(prefix_in_windows):
    """The probed forward equals the fused one; each block's map is (B, heads, N, N) over the real tokens,
    rows summing to 1 and zero between patches of different windows."""
    model = randomise_(build('reg4', window_size=2, global_attn_indexes=(1,), rel_pos=True,
                             prefix_in_windows=prefix_in_windows))
    x = torch.randn(1, 3, 80, 80, dtype=torch.float64)
    with capture_maps(model) as maps:
        probed = flat(model(x))
    torch.testing.assert_close(probed, flat(model(x)), rtol=1e-12, atol=1e-12)
    P, n = 5, 25
    window = torch.tensor([(r // 2) * 3 + c // 2 for r in range(5) for c in range(5)])
    for i in range(4):
        attn = maps[f'blocks.{i}.attn.attn_probe'][0]
        assert attn.shape == (1, 2, P + n, P + n)
        torch.testing.assert_close(attn.sum(-1), torch.ones(1, 2, P + n, dtype=torch.float64))
        patches = attn[:, :, P:, P:]
        if i == 1:
            assert (patches > 0).all()
        else:
            assert torch.equal(patches > 0, (window[:, None] == window[None, :]).expand_as(patches))
            to_prefix = attn[:, :, P:, :P]
            assert (to_prefix > 0).all() if prefix_in_windows == 'every_window' else (to_prefix == 0).all()


def test_rel_pos_tables_of_another_img_size_are_resampled(tmp_path):
    """Global blocks' tables follow img_size (5x5 grid: 9 rows; 7x7: 13 rows) and are resampled linearly on
    loading; windowed blocks' tables (window 2: 3 rows) load unchanged."""
    source = build('deit3', window_size=2, global_attn_indexes=(1,), rel_pos=True)
    with torch.no_grad():
        for name, p in source.named_parameters():
            if 'rel_pos' in name:
                p.copy_(torch.randn(p.shape[1]).expand_as(p) if name.startswith('blocks.1.') else torch.randn_like(p))
    path = tmp_path / 'rel.pth'
    torch.save(source.state_dict(), path)
    target = PlainViT(arch=ARCH, img_size=112, window_size=2, global_attn_indexes=(1,), rel_pos=True).double()
    notes = load_pretrained(target, checkpoint=str(path))
    assert any('blocks.1.attn.rel_pos_h 9->13' in n for n in notes), notes
    loaded, saved = target.state_dict(), source.state_dict()
    assert loaded['blocks.1.attn.rel_pos_h'].shape == (13, 16)
    torch.testing.assert_close(loaded['blocks.1.attn.rel_pos_h'], saved['blocks.1.attn.rel_pos_h'][:1].expand(13, -1))
    assert torch.equal(loaded['blocks.0.attn.rel_pos_w'], saved['blocks.0.attn.rel_pos_w'])


def test_windowed_layers_need_the_grid():
    block = windowed_block(3)
    x = torch.randn(1, 2 + 36, 32, dtype=torch.float64)
    with pytest.raises(ValueError, match='needs the patch grid'):
        block(x)
    with pytest.raises(ValueError, match=r'38 tokens do not match num_prefix_tokens=0 \+ grid=\(6, 6\)'):
        block.attn(x, grid=(6, 6))
    with pytest.raises(ValueError, match='not a whole number of 3x3 windows'):
        block.attn(x[:, :2 + 35], grid=(5, 7), num_prefix_tokens=2)
    with pytest.raises(ValueError, match="prefix_in_windows='x'"):
        windowed_block(3, prefix_in_windows='x')


# ------------------------------------------------------------------------- ViTDet's token set: no [CLS]
def vitdet_token_set(variant: str, **kwargs) -> nn.Module:
    """A 4-block windowed backbone (2x2 windows on the 5x5 grid of an 80x80 input: padded to 6x6; blocks 0, 1
    windowed) with ViTDet's token set: no [CLS] in the sequence, registers out of the windows. Returns the map
    after block 1. CB broadcasts the mean of every token by design, so its CB block is a global one here."""
    cfg = dict(BACKBONE_VARIANTS[variant], arch=ARCH, img_size=80, window_size=2, global_attn_indexes=(2, 3),
               rel_pos=True, out_indices=(1,), prefix_in_windows='global_blocks',
               with_cls_token=variant == 'edit')  # EDIT's [CLS] is never in the sequence
    if variant == 'cb':
        cfg['cb_layers'] = [3]
    cfg.update(kwargs)
    torch.manual_seed(0)
    return randomise_(MODELS.build(cfg).double().eval())


def changed_windows(model: nn.Module) -> torch.Tensor:
    """(3, 3) True for the 2x2 windows of the padded 6x6 grid whose tokens change after block 1 when the
    pixels of patch (0, 0) change."""
    x = torch.randn(1, 3, 80, 80, dtype=torch.float64)
    y = x.clone()
    y[..., :16, :16] += torch.randn(3, 16, 16, dtype=torch.float64)
    (a,), (b,) = model(x), model(y)
    moved = (a - b).abs().amax(1)[0] > 1e-12  # (5, 5) patches
    moved = torch.nn.functional.pad(moved, (0, 1, 0, 1))
    return moved.reshape(3, 2, 3, 2).any(3).any(1)


@pytest.mark.parametrize('variant', sorted(BACKBONE_VARIANTS))
def test_windowed_blocks_without_cls_are_local_also_with_padding(variant):
    """ViTDet's windowed blocks are local: after two windowed blocks only the window holding the changed patch
    changes (the 5x5 grid padded to 6x6, no exception for [CLS])."""
    model = vitdet_token_set(variant)
    assert model.num_prefix_tokens == (4 if variant == 'reg4' else 0) and model.windowed_blocks == [0, 1]
    expected = torch.zeros(3, 3, dtype=torch.bool)
    expected[0, 0] = True
    assert torch.equal(changed_windows(model), expected)


@pytest.mark.parametrize('variant', ['deit3', 'reg4'])
def test_cls_in_every_window_mixes_the_whole_image_through_cls(variant):
    """The sink study's form: [CLS] (and registers) are keys of every window and attend to the whole image, so
    after two windowed blocks a change in one window reaches every window."""
    model = vitdet_token_set(variant, with_cls_token=True, prefix_in_windows='every_window')
    assert changed_windows(model).all()


def deit3_checkpoint(model: nn.Module, cls_slot: bool) -> dict:
    """A DeiT-III-format file of a model with [CLS]: 'model', gamma_1/gamma_2, head; with ``cls_slot`` an
    AugReg-style position embedding with a [CLS] slot in front."""
    state = {}
    for key, value in randomise_(model).state_dict().items():
        state[key.replace('.ls1.gamma', '.gamma_1').replace('.ls2.gamma', '.gamma_2')] = value.float()
    if cls_slot:
        state['pos_embed'] = torch.cat([torch.randn(1, 1, state['pos_embed'].shape[-1]), state['pos_embed']], 1)
    state['head.weight'], state['head.bias'] = torch.randn(10, ARCH['embed_dims']), torch.randn(10)
    return {'model': state}


@pytest.mark.parametrize('cls_slot', [False, True], ids=['deit3', 'augreg-slot'])
@pytest.mark.parametrize('registers', [0, 2])
def test_cls_checkpoint_loads_strictly_into_the_backbone_without_cls(tmp_path, cls_slot, registers):
    """As detectron2's ViT: [CLS] and its position slot are dropped on loading, by name and in the log; every
    other weight is the checkpoint's (position embedding of the patches, registers, blocks)."""
    source = PlainViT(arch=ARCH, img_size=80, num_registers=registers)
    checkpoint = deit3_checkpoint(source, cls_slot)
    path = tmp_path / 'deit3.pth'
    torch.save(checkpoint, path)
    model = PlainViT(arch=ARCH, img_size=80, num_registers=registers, with_cls_token=False, window_size=2,
                     global_attn_indexes=(1, 3), rel_pos=True, prefix_in_windows='global_blocks')
    notes = load_pretrained(model, checkpoint=str(path))
    dropped = [n for n in notes if 'dropped the [CLS] token' in n]
    assert len(dropped) == 1 and ('position-embedding slot' in dropped[0]) == cls_slot, notes
    state, weights = model.state_dict(), checkpoint['model']
    assert 'cls_token' not in state and state['pos_embed'].shape == (1, 25, ARCH['embed_dims'])
    torch.testing.assert_close(state['pos_embed'], weights['pos_embed'][:, int(cls_slot):])
    torch.testing.assert_close(state['blocks.2.ls1.gamma'], weights['blocks.2.gamma_1'])
    if registers:
        torch.testing.assert_close(state['reg_token'], weights['reg_token'])
    # strict for everything else: a key the model does not have is still named
    weights['blocks.0.attn.extra'] = torch.zeros(1)
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointMismatchError, match=r'not in the model: blocks\.0\.attn\.extra'):
        load_pretrained(model, checkpoint=str(path))


def test_a_model_with_cls_still_folds_the_slot_and_a_checkpoint_without_cls_still_fails(tmp_path):
    """The drop is only for a model without [CLS]: a model with one keeps folding the slot into cls_token, and
    a [CLS]-less checkpoint into a model with [CLS] is a mismatch naming cls_token."""
    source = PlainViT(arch=ARCH, img_size=80)
    checkpoint = deit3_checkpoint(source, cls_slot=True)
    path = tmp_path / 'augreg.pth'
    torch.save(checkpoint, path)
    model = PlainViT(arch=ARCH, img_size=80)
    notes = load_pretrained(model, checkpoint=str(path))
    assert not any('dropped the [CLS]' in n for n in notes) and any('folded into the tokens' in n for n in notes)
    weights = checkpoint['model']
    torch.testing.assert_close(model.cls_token, weights['cls_token'] + weights['pos_embed'][:, :1])
    without = PlainViT(arch=ARCH, img_size=80, with_cls_token=False)
    torch.save(without.state_dict(), path)
    with pytest.raises(CheckpointMismatchError, match='missing in the checkpoint: cls_token'):
        load_pretrained(PlainViT(arch=ARCH, img_size=80), checkpoint=str(path))
