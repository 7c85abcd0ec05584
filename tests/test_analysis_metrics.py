"""Sink metrics as pure functions: known answers computed by hand."""
import math

import pytest
import torch

from mmedit_vit.analysis import sink_metrics as sm


def uniform(b=2, h=3, n=7):
    return torch.full((b, h, n, n), 1.0 / n)


def test_entropy_uniform_is_log_n_and_one_hot_is_zero():
    mean, p15 = sm.entropy_stats(uniform(n=7))
    assert mean == pytest.approx(math.log(7), abs=1e-6)
    assert p15 == pytest.approx(math.log(7), abs=1e-6)
    one_hot = torch.zeros(1, 2, 5, 5)
    one_hot[..., 0] = 1
    assert sm.entropy_stats(one_hot) == (pytest.approx(0, abs=1e-12), pytest.approx(0, abs=1e-12))


def test_entropy_p15_is_the_15th_percentile_of_rows():
    # 20 rows: 3 one-hot (entropy 0), 17 uniform over 4 keys (log 4); the 15th percentile lies between
    rows = torch.zeros(20, 4)
    rows[:3, 0] = 1
    rows[3:] = 0.25
    mean, p15 = sm.entropy_stats(rows.view(1, 1, 20, 4))
    assert mean == pytest.approx(17 / 20 * math.log(4))
    # torch.quantile, linear interpolation: position 0.15 * 19 = 2.85 between row 2 (0) and row 3 (log 4)
    assert p15 == pytest.approx(0.85 * math.log(4))


def test_cls_ratio_uniform_is_one_and_forced_attention_is_measured():
    assert sm.cls_attention_ratio(uniform(n=9)) == pytest.approx(1.0, abs=1e-12)
    n, p = 9, 0.6
    attn = torch.full((1, 2, n, n), (1 - p) / (n - 1))
    attn[..., 0] = p
    assert sm.cls_attention_ratio(attn) == pytest.approx(p / ((1 - p) / (n - 1)))
    assert sm.cls_attention_share(attn) == pytest.approx(p)


def test_cls_ratio_skips_registers_and_reads_a_trailing_cls():
    # keys: [CLS], 2 registers (0.2 each), 4 patches (0.1 each), [CLS] gets 0.2
    row = torch.tensor([0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1])
    attn = row.expand(1, 1, 7, 7)
    assert sm.cls_attention_ratio(attn, 0, patch_start=3) == pytest.approx(2.0)
    assert sm.register_attention_share(attn, start=1, num_registers=2) == pytest.approx(0.4)
    # EDIT decoder layout: patches first, previous [CLS] last
    dec = torch.tensor([0.1, 0.1, 0.1, 0.1, 0.6]).view(1, 1, 1, 5)
    assert sm.cls_attention_ratio(dec, -1, patch_start=0, patch_end=4) == pytest.approx(6.0)
    with pytest.raises(ValueError, match='do not fit'):
        sm.cls_attention_ratio(dec, 0, patch_start=3, patch_end=9)


def test_relative_distance_uniform_2x2():
    # coordinates (0,0) (0,1) (1,0) (1,1): each token sees the others at L1 distances 1, 1, 2 -> 4/3
    assert sm.relative_attention_distance(uniform(n=4), (2, 2)) == pytest.approx(4 / 3)


def test_relative_distance_hand_example_excludes_self_and_prefix():
    # [CLS] + a 1x3 grid with coordinates 0, 0.5, 1; the [CLS] row/column is ignored
    a = torch.tensor([
        [0.25, 0.25, 0.25, 0.25],
        [0.40, 0.30, 0.15, 0.15],  # patch 0: others 0.15 / 0.15 -> (0.5 + 1) / 2 = 0.75
        [0.10, 0.00, 0.90, 0.00],  # patch 1: attends only itself among patches -> no other mass, skipped
        [0.00, 0.20, 0.60, 0.20],  # patch 2: others 0.2 at 1, 0.6 at 0.5 -> (0.2 + 0.3) / 0.8 = 0.625
    ]).view(1, 1, 4, 4)
    assert sm.relative_attention_distance(a, (1, 3), patch_start=1) == pytest.approx((0.75 + 0.625) / 2)
    with pytest.raises(ValueError, match='does not match grid'):
        sm.relative_attention_distance(a, (2, 3), patch_start=1)


def test_norms_and_high_norm_count():
    tokens = torch.zeros(2, 5, 4)
    tokens[..., 0] = 3.0
    tokens[..., 1] = 4.0  # norm 5 everywhere
    tokens[1, 2] = torch.tensor([200.0, 0, 0, 0])  # one planted token above the registers paper's 150
    norms = sm.token_norms(tokens)
    assert norms.shape == (2, 5)
    assert sm.high_norm_count(norms) == 1
    assert sm.high_norm_count(norms, threshold=4.0) == 10
    s = sm.norm_summary(norms)
    assert s['high_norm_count'] == 1 and s['high_norm_fraction'] == pytest.approx(0.1)
    assert s['norm_median'] == pytest.approx(5.0) and s['norm_max'] == pytest.approx(200.0)
    assert sm.REGISTERS_PAPER_NORM_THRESHOLD == 150.0


def test_gate_and_cbs_statistics():
    assert sm.gate_stats(torch.ones(2, 5, 3, 1)) == (1.0, 0.0)
    scores = torch.tensor([0.05, 0.05, 0.5, 0.9])
    mean, sparsity = sm.gate_stats(scores)
    assert mean == pytest.approx(0.375) and sparsity == pytest.approx(0.5)
    # 11 values 0..10: the 10% and 90% quantiles are 1 and 9
    mean, ratio = sm.cbs_scale_stats(torch.arange(11.0))
    assert mean == pytest.approx(5.0) and ratio == pytest.approx(1 / 9)


def test_bad_attention_shape_is_rejected():
    with pytest.raises(ValueError, match='B, heads, queries, keys'):
        sm.attention_entropy(torch.ones(3, 3))


def test_cbs_ratio_of_an_all_zero_scale_is_none():
    assert sm.cbs_scale_stats(torch.zeros(8)) == (0.0, None)
