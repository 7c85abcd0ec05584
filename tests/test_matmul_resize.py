"""GEMM bilinear resize against F.interpolate, and the heads' losses against mmseg's own heads."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS, DefaultScope
from mmengine.structures import PixelData
from mmseg.models.decode_heads import decode_head
from mmseg.models.losses import accuracy
from mmseg.structures import SegDataSample

from mmedit_vit.models.decode_heads import pixel_accuracy
from mmedit_vit.models.layers.bilinear_resize import bilinear_resize, interpolation_matrix

SIZES = [((32, 32), (512, 512)), ((128, 128), (512, 512)), ((7, 13), (20, 9)), ((13, 7), (5, 3)),
         ((32, 32), (500, 375)), ((1, 5), (4, 1)), ((5, 1), (1, 7))]


def _values_and_grad(resize, x: torch.Tensor, size, grad_out: torch.Tensor):
    x = x.detach().requires_grad_()
    y = resize(x, size)
    (y * grad_out).sum().backward()
    return y.detach(), x.grad


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('in_size,out_size', SIZES)
def test_bilinear_resize_equals_interpolate_values_and_gradients(in_size, out_size, align_corners):
    x = torch.randn(2, 3, *in_size, dtype=torch.float64)
    grad_out = torch.randn(2, 3, *out_size, dtype=torch.float64)
    ref = _values_and_grad(lambda t, s: F.interpolate(t, s, mode='bilinear', align_corners=align_corners),
                           x, out_size, grad_out)
    ours = _values_and_grad(lambda t, s: bilinear_resize(t, s, align_corners), x, out_size, grad_out)
    torch.testing.assert_close(ours[0], ref[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(ours[1], ref[1], rtol=0, atol=1e-12)
    # float32: the same source positions as F.interpolate's float32 kernel, sums in another order
    x32, g32 = x.float(), grad_out.float()
    ref32 = _values_and_grad(lambda t, s: F.interpolate(t, s, mode='bilinear', align_corners=align_corners),
                             x32, out_size, g32)
    ours32 = _values_and_grad(lambda t, s: bilinear_resize(t, s, align_corners), x32, out_size, g32)
    torch.testing.assert_close(ours32[0], ref32[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours32[1], ref32[1], rtol=1e-5, atol=1e-4)
    assert ours32[0].is_contiguous()


def test_bilinear_resize_dtypes_and_autocast():
    x = torch.randn(2, 4, 8, 8).bfloat16()
    y = bilinear_resize(x, (32, 32))
    assert y.dtype == torch.float32  # the interpolation of the bf16 values, not rounded back
    torch.testing.assert_close(y, F.interpolate(x.float(), (32, 32), mode='bilinear'), rtol=1e-6, atol=1e-6)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        z = bilinear_resize(x.float(), (32, 32))
    assert z.dtype == torch.float32  # autocast does not turn the GEMMs to bf16
    torch.testing.assert_close(z, y, rtol=1e-6, atol=1e-6)
    assert bilinear_resize(y, (32, 32)) is y


def test_interpolation_matrix_by_hand():
    # 2 -> 4, half-pixel centres: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (right tap clamped to 1)
    expected = torch.tensor([[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]])
    torch.testing.assert_close(interpolation_matrix(2, 4, False, torch.device('cpu')), expected)
    # 3 -> 5, corners aligned: sources 0, 0.5, 1, 1.5, 2
    expected = torch.tensor([[1.0, 0, 0], [0.5, 0.5, 0], [0, 1.0, 0], [0, 0.5, 0.5], [0, 0, 1.0]])
    torch.testing.assert_close(interpolation_matrix(3, 5, True, torch.device('cpu')), expected)
    assert torch.allclose(interpolation_matrix(32, 512, False, torch.device('cpu')).sum(1), torch.ones(512))


def _refuse_resize(*args, **kwargs):
    raise AssertionError("mmseg's resize was called in the loss")


def _samples(labels: torch.Tensor) -> list:
    return [SegDataSample(gt_sem_seg=PixelData(data=label[None])) for label in labels]


HEADS = {
    'SegmenterMaskTransformerHead': (
        dict(in_channels=32, channels=32, num_classes=5, num_layers=2, num_heads=2, embed_dims=32, dropout_ratio=0.0),
        lambda: [torch.randn(2, 32, 4, 4)]),
    'UPerHead': (
        dict(in_channels=[8, 8, 8, 8], in_index=[0, 1, 2, 3], channels=8, num_classes=5, pool_scales=(1, 2),
             dropout_ratio=0.0, align_corners=False),
        lambda: [torch.randn(2, 8, 16 // 2**i, 16 // 2**i) for i in range(4)]),
    'FCNHead': (
        dict(in_channels=8, in_index=2, channels=8, num_convs=1, concat_input=False, num_classes=5,
             dropout_ratio=0.0, align_corners=True, loss_decode=[
                 dict(type='CrossEntropyLoss', loss_weight=0.4),
                 dict(type='CrossEntropyLoss', loss_weight=0.6, avg_non_ignore=True)],
             sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=20)),
        lambda: [None, None, torch.randn(2, 8, 4, 4)]),
}


@pytest.mark.parametrize('name', list(HEADS))
def test_head_loss_equals_mmseg_head(name, monkeypatch):
    """Same weights, same inputs: the losses, accuracy and parameter gradients of mmseg's head, without
    mmseg's F.interpolate resize in the loss."""
    kwargs, make_inputs = HEADS[name]
    with DefaultScope.overwrite_default_scope('mmseg'):  # the heads build their losses in the current scope
        reference = MODELS.build(dict(type=f'mmseg.{name}', **kwargs))
        ours = MODELS.build(dict(type=f'MatmulResize{name}', **kwargs))
    assert isinstance(ours, type(reference))
    ours.load_state_dict(reference.state_dict(), strict=True)
    inputs = make_inputs()
    labels = torch.randint(0, 5, (2, 64, 64))
    labels[:, :3] = 255  # ignored pixels
    results = []
    for head in (reference, ours):
        head.train()
        logits = head(inputs)
        if head is ours:
            monkeypatch.setattr(decode_head, 'resize', _refuse_resize)
        loss = head.loss_by_feat(logits, _samples(labels))
        sum(v for k, v in loss.items() if 'loss' in k).backward()
        results.append((loss, {n: p.grad.clone() for n, p in head.named_parameters() if p.grad is not None}))
    (ref_loss, ref_grads), (our_loss, our_grads) = results
    assert ref_loss.keys() == our_loss.keys()
    for key in ref_loss:
        torch.testing.assert_close(our_loss[key], ref_loss[key], rtol=1e-5, atol=1e-5)
    assert ref_grads.keys() == our_grads.keys() and len(ref_grads) > 0
    for key in ref_grads:
        torch.testing.assert_close(our_grads[key], ref_grads[key], rtol=1e-4, atol=1e-6)


def test_pixel_accuracy_equals_mmseg_accuracy():
    logits = torch.randn(2, 5, 16, 16)
    labels = torch.randint(0, 5, (2, 16, 16))
    labels[0, :4] = 255
    expected = accuracy(logits, labels, ignore_index=255)
    torch.testing.assert_close(pixel_accuracy(logits, labels, 255), expected, rtol=1e-6, atol=1e-5)
    labels[:] = 255  # nothing labelled: mmseg's eps keeps it finite
    torch.testing.assert_close(pixel_accuracy(logits, labels, 255), accuracy(logits, labels, ignore_index=255))
    hand = torch.tensor([[[[2.0, 0.0]], [[1.0, 3.0]]]])  # (1, 2 classes, 1, 2): predicts 0, 1
    assert pixel_accuracy(hand, torch.tensor([[[0, 0]]]), 255).item() == pytest.approx(50.0)


def test_interpolation_matrices_are_built_once_and_serve_autograd_after_inference_mode():
    from mmedit_vit.models.layers import constants
    constants.clear_constants()
    with torch.inference_mode():
        bilinear_resize(torch.randn(1, 2, 5, 7), (9, 11))  # first built here
    assert len(constants._CONSTANTS) == 2
    x = torch.randn(1, 2, 5, 7, requires_grad=True)
    bilinear_resize(x, (9, 11)).sum().backward()  # the cached matrices are saved for backward
    assert len(constants._CONSTANTS) == 2
    torch.testing.assert_close(x.grad, torch.autograd.grad(
        F.interpolate(x, (9, 11), mode='bilinear').sum(), x)[0], rtol=1e-5, atol=1e-5)
