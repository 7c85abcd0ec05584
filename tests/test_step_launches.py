"""One training step of each family's shipped config: aten operators, host-device syncs, graph breaks.

``model.train_step`` (data preprocessing, forward, loss, backward, optimiser step) runs once under an
``OpCounter``: the operators dispatched must stay within 5 % of the budget written here (a change that
adds launches has to update it on purpose), and no operator may make the host wait for the device
(scalar reads of host-resident tensors, e.g. the optimisers' step counters, are told apart and allowed).
``torch._dynamo.explain`` over the model's loss must find one graph.

The counts depend on neither the widths nor (within 1 %) the image size: the tests below show it for
Segmenter and UperNet at Tiny and Base width. So the fast tier runs the shipped Segmenter-B config at a
64x64 crop, and the slow tier runs each family at its training size, the ADE20K ones at Tiny width (UperNet's
head narrowed to 64 channels), where the same step costs seconds instead of minutes on a CPU.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement, PixelData

from conftest import ROOT
from mmedit_vit.analysis.op_count import OpCounter
from mmedit_vit.apis.run_config import defer_scalar_reads
from mmedit_vit.engine.scalar_readback import attach_queue, detach_queue

pytestmark = pytest.mark.usefixtures('one_thread')

# (config, crop) -> aten operators of one training step, batch 2
OP_BUDGETS = {
    ('segmenter_edit_b_ade20k', 64): 2570,
    ('segmenter_edit_t_ade20k', 512): 2559,
    ('upernet_cb_t_ade20k', 512): 3694,
    ('cls_edit_b_in1k', 224): 5259,
}
HEAD_CHANNELS = 64  # UperNet's head is 512 channels at every size: at a 512 crop it is most of a CPU step


def build(name: str, side: int, head_channels: int = 0):
    """The shipped config's model (no pretrained file), its optimiser wrapper and a batch of two images;
    ``head_channels`` narrows the decode and auxiliary heads."""
    cfg = Config.fromfile(f'{ROOT}/configs/{name}.py')
    if head_channels:
        cfg.model.decode_head.channels = cfg.model.auxiliary_head.channels = head_channels
    defer_scalar_reads(cfg)  # as the tools run it: the clipped gradient norm is logged without a sync
    cfg.model.backbone.init_cfg = None
    seg = 'ade20k' in name
    scope = 'mmseg' if seg else 'mmedit_vit'
    with DefaultScope.overwrite_default_scope(scope):
        if seg:
            from mmseg.registry import MODELS
            cfg.model.data_preprocessor.size = (side, side)
        else:
            from mmedit_vit.registry import MODELS
        model = MODELS.build(cfg.model)
        model.init_weights()
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return model.train(), optim_wrapper, scope


def batch(scope: str, side: int) -> dict:
    g = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, side, side), dtype=torch.uint8, generator=g) for _ in range(2)]
    if scope == 'mmseg':
        from mmseg.structures import SegDataSample
        samples = []
        for _ in range(2):
            sample = SegDataSample(metainfo=dict(img_shape=(side, side), ori_shape=(side, side),
                                                 pad_shape=(side, side)))
            sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, side, side), generator=g))
            samples.append(sample)
        return dict(inputs=images, data_samples=samples)
    return dict(inputs=images, data_samples=[BaseDataElement(gt_label=torch.tensor([i])) for i in range(2)])


def count_train_step(name: str, side: int, head_channels: int = 0) -> OpCounter:
    model, optim_wrapper, scope = build(name, side, head_channels)
    hub = MessageHub.get_current_instance()
    queue = attach_queue(hub)  # as DeferredRuntimeInfoHook does for a run
    try:
        with DefaultScope.overwrite_default_scope(scope):
            model.train_step(batch(scope, side), optim_wrapper)  # optimiser state exists from here on
            with OpCounter() as counter:
                losses = model.train_step(batch(scope, side), optim_wrapper)
        updates = 2 // optim_wrapper._accumulative_counts  # of the two calls (gradient accumulation: fewer)
        assert len(queue) == updates * bool(optim_wrapper.clip_grad_kwargs)  # each update's gradient norm
    finally:
        detach_queue(hub)
    assert all(torch.isfinite(v).all() for v in losses.values())
    return counter


def check_counts(name: str, side: int, head_channels: int = 0) -> int:
    counter = count_train_step(name, side, head_channels)
    budget = OP_BUDGETS[(name, side)]
    assert counter.total <= 1.05 * budget, f'{name}: {counter.total} aten ops per step, budget {budget}'
    assert counter.total >= 0.8 * budget, f'{name}: {counter.total} ops; lower the budget {budget} to keep it tight'
    assert counter.sync_calls == [], counter.sync_calls
    return counter.total


def test_segmenter_step_ops_and_syncs_at_a_small_crop():
    base = check_counts('segmenter_edit_b_ade20k', 64)
    assert count_train_step('segmenter_edit_t_ade20k', 64).total == base  # the width changes no launch


@pytest.mark.slow
def test_upernet_step_ops_depend_on_no_width():
    base = count_train_step('upernet_cb_b_ade20k', 64).total
    assert count_train_step('upernet_cb_t_ade20k', 64).total == base
    assert count_train_step('upernet_cb_t_ade20k', 64, head_channels=HEAD_CHANNELS).total == base


@pytest.mark.slow
@pytest.mark.parametrize('name,side,head_channels', [
    ('segmenter_edit_t_ade20k', 512, 0), ('upernet_cb_t_ade20k', 512, HEAD_CHANNELS), ('cls_edit_b_in1k', 224, 0)])
def test_training_step_ops_and_syncs(name, side, head_channels):
    check_counts(name, side, head_channels)


def test_counter_sees_syncs():
    """The counter itself: each kind of host-device sync is counted, a host-only read is told apart."""
    x = torch.randn(6)
    with OpCounter() as counter:
        x.sum().item()
        x[x > 0]
        x.nonzero()
        bool(x.max() > 0)
        torch.repeat_interleave(torch.tensor([1, 2]))
        x[torch.tensor([0, 2])]  # integer indexing: no sync
    assert counter.syncs == 5, counter.sync_calls
    with OpCounter() as counter:
        opt = torch.optim.AdamW([torch.nn.Parameter(torch.ones(2))], foreach=False)
        opt.param_groups[0]['params'][0].grad = torch.ones(2)
        opt.step()
    assert counter.syncs == 0 and len(counter.host_reads) == 1  # the host-resident step counter


def test_labels_are_checked_on_the_host_before_the_step():
    model, _, scope = build('cls_edit_b_in1k', 32)
    data = batch(scope, 32)
    data['data_samples'][1].gt_label = torch.tensor([1000])
    with pytest.raises(ValueError, match=r'label 1000 outside \[0, 1000\)'):
        model.data_preprocessor(data, True)


def loss_fn(name: str, side: int):
    model, _, scope = build(name, side)
    with DefaultScope.overwrite_default_scope(scope):
        data = model.data_preprocessor(batch(scope, side), True)
    if scope == 'mmseg':
        return lambda: model.loss(data['inputs'], data['data_samples'])
    targets = model.targets(data['data_samples'], data['inputs'].device)
    return lambda: model.loss_module(model(data['inputs'], mode='tensor'), targets)


@pytest.mark.slow
@pytest.mark.parametrize('name', ['segmenter_edit_b_ade20k', 'upernet_cb_b_ade20k', 'cls_edit_b_in1k'])
def test_loss_traces_as_one_graph(name):
    torch._dynamo.reset()
    explained = torch._dynamo.explain(loss_fn(name, 64))()
    assert explained.graph_break_count == 0, [b.reason for b in explained.break_reasons]
    assert explained.graph_count == 1
