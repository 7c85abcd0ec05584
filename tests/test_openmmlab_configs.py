"""Our backbones dropped into mmseg's and mmdet's own shipped configs (their ``.mim/configs``).

mmseg's configs give the pretrained weights as ``model.pretrained``, which its EncoderDecoder hands to
the backbone; the backbone takes it as mmseg's do (a ``Pretrained`` init_cfg, loaded strictly). Each
test swaps ``model.backbone`` for ours with the fewest other changes (neck / head input widths),
builds, loads the file, trains one step on a tiny input and predicts.
"""
import copy
import os.path as osp

import mmdet
import mmseg
import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData, PixelData

from conftest import perturb_
from mmedit_vit.models import EDITViT, GatedViT

pytestmark = pytest.mark.usefixtures('one_thread')  # 5-8 s each on one thread

MMSEG_CONFIGS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')
MMDET_CONFIGS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')
SEGMENTER = osp.join(MMSEG_CONFIGS, 'segmenter', 'segmenter_vit-t_mask_8xb1-160k_ade20k-512x512.py')
UPERNET = osp.join(MMSEG_CONFIGS, 'vit', 'vit_vit-b16_mln_upernet_8xb2-160k_ade20k-512x512.py')
MASK_RCNN = osp.join(MMDET_CONFIGS, 'mask_rcnn', 'mask-rcnn_r50_fpn_1x_coco.py')
SIDE = 64  # the tiny input


def saved_backbone(cls, path: str, **kwargs) -> dict:
    """A ViT-Tiny of ``cls`` with non-trivial weights, saved as a plain state dict; returns the state."""
    state = perturb_(cls(arch='tiny', **kwargs), weights=True).state_dict()
    torch.save(state, path)
    return state


def assert_backbone_loaded(model, state: dict) -> None:
    for key, value in state.items():
        assert torch.equal(model.backbone.state_dict()[key], value), key


def seg_batch(num_classes: int = 150) -> dict:
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(2):
        inputs.append(torch.randint(0, 256, (3, SIDE, SIDE), dtype=torch.uint8, generator=g))
        sample = SegDataSample(metainfo=dict(img_shape=(SIDE, SIDE), ori_shape=(SIDE, SIDE),
                                             pad_shape=(SIDE, SIDE)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, SIDE, SIDE), generator=g))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def train_step_and_predict(registry, scope: str, cfg: Config, state: dict, make_batch) -> tuple:
    """Builds ``cfg.model`` in ``scope`` (its ``pretrained`` path loads our backbone), trains one step and
    predicts: returns the losses, the names of the parameters that step moved, and the predictions."""
    with DefaultScope.overwrite_default_scope(scope):
        with pytest.warns(UserWarning, match='pretrained is deprecated'):
            model = revert_sync_batchnorm(registry.build(cfg.model))
        model.init_weights()
        assert_backbone_loaded(model, state)
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        model.train()
        losses = model.train_step(make_batch(), optim_wrapper)
        assert all(torch.isfinite(v).all() for v in losses.values())
        moved = {n for n, p in model.named_parameters() if p.requires_grad and not torch.equal(p, before[n])}
        assert 'backbone.blocks.0.attn.qkv.weight' in moved
        model.eval()
        with torch.no_grad():
            preds = model.test_step(make_batch())
    return losses, moved, preds


def train_step_and_predict_segmentation(cfg: Config, state: dict) -> None:
    from mmseg.registry import MODELS
    losses, moved, preds = train_step_and_predict(MODELS, 'mmseg', cfg, state, seg_batch)
    assert 'decode.loss_ce' in losses and any(n.startswith('decode_head.') for n in moved)
    assert len(preds) == 2
    assert preds[0].pred_sem_seg.data.shape == (1, SIDE, SIDE)
    assert preds[0].seg_logits.data.shape == (150, SIDE, SIDE)


def shrink_seg(cfg: Config) -> Config:
    """The tiny input: the preprocessor pads to it, sliding windows fit in it."""
    cfg.model.data_preprocessor.size = (SIDE, SIDE)
    if cfg.model.test_cfg.get('mode') == 'slide':
        cfg.model.test_cfg.crop_size, cfg.model.test_cfg.stride = (SIDE // 2, SIDE // 2), (SIDE // 4, SIDE // 4)
    return cfg


def test_mmseg_segmenter_config_with_edit_backbone(tmp_path):
    """The issue's case: mmseg's Segmenter ViT-T config, model.backbone = EDITViT(arch='tiny')."""
    cfg = Config.fromfile(SEGMENTER)
    assert cfg.model.pretrained.endswith('.pth') and cfg.model.backbone.type == 'VisionTransformer'
    state = saved_backbone(EDITViT, str(tmp_path / 'edit_t.pth'))
    cfg.model.pretrained = str(tmp_path / 'edit_t.pth')  # a local file instead of the download
    cfg.model.backbone = dict(type='EDITViT', arch='tiny')  # 192 wide: the head's widths already match
    train_step_and_predict_segmentation(shrink_seg(cfg), state)


def test_mmseg_upernet_config_with_gated_backbone(tmp_path):
    """mmseg's ViT UperNet config: four block outputs through its MultiLevelNeck; only the neck's input
    width changes (192 instead of 768), the neck keeps the heads' width."""
    cfg = Config.fromfile(UPERNET)
    assert cfg.model.neck.type == 'MultiLevelNeck' and cfg.model.decode_head.type == 'UPerHead'
    out_indices = tuple(cfg.model.backbone.out_indices)
    state = saved_backbone(GatedViT, str(tmp_path / 'gated_t.pth'), out_indices=out_indices)
    cfg.model.pretrained = str(tmp_path / 'gated_t.pth')
    cfg.model.backbone = dict(type='GatedViT', arch='tiny', out_indices=out_indices)
    cfg.model.neck.in_channels = [192] * 4
    train_step_and_predict_segmentation(shrink_seg(cfg), state)


def det_batch() -> dict:
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(2):
        inputs.append(torch.randint(0, 256, (3, SIDE, SIDE), dtype=torch.uint8, generator=g))
        sample = DetDataSample(metainfo=dict(img_shape=(SIDE, SIDE), ori_shape=(SIDE, SIDE), pad_shape=(SIDE, SIDE),
                                             scale_factor=(1.0, 1.0), batch_input_shape=(SIDE, SIDE)))
        masks = torch.zeros(2, SIDE, SIDE, dtype=torch.uint8)
        masks[0, 8:40, 8:30] = 1
        masks[1, 30:60, 20:62] = 1
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[8., 8., 30., 40.], [20., 30., 62., 60.]]), labels=torch.tensor([3, 17]),
            masks=BitmapMasks(masks.numpy(), SIDE, SIDE))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_mmdet_mask_rcnn_config_with_edit_backbone(tmp_path):
    """mmdet's Mask R-CNN R50-FPN: the ResNet swapped for EDIT (blocks 3, 5, 7, 11) and mmseg's
    Feature2Pyramid put in front of its FPN (strides 4-32 from the one stride-16 map); the FPN reads 192.
    mmdet 3's detectors take no model-level ``pretrained``: the path goes on the backbone (mmdet 2 style)."""
    from mmdet.registry import MODELS
    cfg = Config.fromfile(MASK_RCNN)
    assert cfg.model.backbone.type == 'ResNet' and cfg.model.neck.type == 'FPN'
    state = saved_backbone(EDITViT, str(tmp_path / 'edit_t.pth'), out_indices=(3, 5, 7, 11))
    cfg.model.backbone = dict(type='EDITViT', arch='tiny', out_indices=(3, 5, 7, 11),
                              pretrained=str(tmp_path / 'edit_t.pth'))
    fpn = copy.deepcopy(cfg.model.neck)
    fpn.in_channels = [192] * 4
    cfg.model.neck = [dict(type='mmseg.Feature2Pyramid', embed_dim=192, rescales=[4, 2, 1, 0.5]), fpn]
    losses, moved, outputs = train_step_and_predict(MODELS, 'mmdet', cfg, state, det_batch)
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask'} <= set(losses)
    assert any(n.startswith('roi_head.mask_head') for n in moved)
    assert len(outputs) == 2
    for out in outputs:
        pred = out.pred_instances
        assert pred.bboxes.shape[1] == 4 and len(pred.scores) == len(pred.labels) == len(pred.bboxes)
        assert tuple(pred.masks.shape[1:]) == (SIDE, SIDE)
