"""Classification pieces: heads against timm, Mixup/CutMix + BCE, robustness inputs, ImageNet-A/R
mapping, top-k accuracy, data pipeline, sampler, optimiser, checkpoint hand-over to dense backbones."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DATA_SAMPLERS, MODELS, TRANSFORMS
from mmengine.structures import BaseDataElement
from PIL import Image
from timm.models.vision_transformer import VisionTransformer

from conftest import ROOT, perturb_
from mmedit_vit.apis import robustness
from mmedit_vit.converters import convert_vit_state_dict, load_pretrained
from mmedit_vit.datasets import make_synthetic_folder
from mmedit_vit.datasets.imagenet_subset_dataset import ImageNetSubsetDataset
from mmedit_vit.datasets.imagenet_subsets import named_synsets, subset_indices_in_1k
from mmedit_vit.evaluation import topk_accuracy
from mmedit_vit.models.classifiers import center_occlusion, fgsm

ARCH = dict(embed_dims=32, num_heads=2, depth=2)


def classifier(num_classes=5, **backbone):
    cfg = dict(type='ImageClassifier', num_classes=num_classes,
               backbone=dict(dict(type='PlainViT', arch=ARCH, img_size=32), **backbone))
    return MODELS.build(cfg)


def samples(labels):
    return [BaseDataElement(gt_label=torch.tensor([int(y)])) for y in labels]


def timm_vit(**kwargs):
    model = VisionTransformer(img_size=32, patch_size=16, embed_dim=32, depth=2, num_heads=2, num_classes=5,
                              init_values=1e-6, **kwargs)
    return perturb_(model, weights=True).eval()


def load_from_timm(model, reference):
    state = reference.state_dict()
    conversion = convert_vit_state_dict(state, model.backbone)
    model.backbone.load_state_dict(conversion.state_dict, strict=True)
    model.head.load_state_dict({'weight': state['head.weight'], 'bias': state['head.bias']})
    return model.eval()


@pytest.mark.parametrize('pool', ['cls', 'gap'])
def test_logits_match_timm_vit(pool):
    """[CLS] after the final norm (timm global_pool='token') and mean of normed tokens ('avg', no fc_norm)."""
    if pool == 'cls':
        reference = timm_vit(no_embed_class=True, global_pool='token')
        model = load_from_timm(classifier(), reference)
    else:
        reference = timm_vit(class_token=False, global_pool='avg', fc_norm=False)
        model = load_from_timm(classifier(with_cls_token=False), reference)
    assert model.pool == pool
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert (model(x, mode='tensor') - reference(x)).abs().max() < 1e-5


def test_edit_head_reads_the_decoder_output():
    model = classifier(type='EDITViT')
    assert model.pool == 'cls'
    x = torch.randn(2, 3, 32, 32)
    decoder_cls = model.backbone(x)[0][1]  # EDIT: [CLS] refined by the shared decoder after the last block
    assert torch.equal(model.extract_feat(x), decoder_cls)
    model(x, samples([0, 3]), mode='loss')['loss'].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.backbone.decoder.parameters())
    # the final norm is applied to the decoder's [CLS] (as timm norms every token), so DDP finds it in the graph
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.backbone.norm.parameters())


def test_modes_and_bad_values():
    model = classifier()
    x = torch.randn(4, 3, 32, 32)
    assert model(x).shape == (4, 5)
    loss = model(x, samples([0, 1, 2, 4]), mode='loss')['loss']
    assert torch.isclose(loss, F.cross_entropy(model(x), torch.tensor([0, 1, 2, 4])), atol=1e-6)
    preds = model(x, samples([0, 1, 2, 4]), mode='predict')
    assert torch.allclose(preds[0].pred_score.sum(), torch.tensor(1.0)) and preds[0].pred_label.shape == (1,)
    with pytest.raises(ValueError, match='outside'):
        model(x, samples([0, 1, 2, 5]), mode='loss')
    with pytest.raises(ValueError, match='pool'):
        MODELS.build(dict(type='ImageClassifier', pool='max', backbone=dict(type='PlainViT', arch=ARCH)))
    with pytest.raises(ValueError, match='with_cls_token'):
        MODELS.build(dict(type='ImageClassifier', pool='cls',
                          backbone=dict(type='PlainViT', arch=ARCH, with_cls_token=False)))
    with pytest.raises(ValueError, match='mode'):
        model(x, mode='features')


def test_cutmix_and_bce_path():
    """CutMix pastes the partner image (batch flipped) into a box; BCE trains on the binarised targets."""
    model = MODELS.build(dict(
        type='ImageClassifier', num_classes=5, backbone=dict(type='PlainViT', arch=ARCH, img_size=32),
        data_preprocessor=dict(type='ClsDataPreprocessor',
                               mixup=dict(mixup_alpha=0.0, cutmix_alpha=1.0, label_smoothing=0.0)),
        loss=dict(type='BinaryCrossEntropy', smoothing=0.0, target_threshold=0.0)))
    images = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(4)]
    labels = [0, 1, 2, 3]
    np.random.seed(0)  # timm's Mixup draws lambda and the box from numpy
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples(labels)), training=True)
    clean = (torch.stack(images).float() - model.data_preprocessor.mean) / model.data_preprocessor.std
    mixed = data['inputs']
    own = (mixed == clean).all(dim=1)
    partner = (mixed == clean.flip(0)).all(dim=1)
    assert bool((own | partner).all()) and bool(partner.any()) and bool(own.any())
    for i, sample in enumerate(data['data_samples']):
        share = partner[i].float().mean()  # CutMix's lambda is the area left to the image itself
        expected = torch.zeros(5)
        expected[labels[i]] += 1 - share
        expected[labels[3 - i]] += share
        assert torch.allclose(sample.gt_score, expected, atol=1e-6)
    loss = model(mixed, data['data_samples'], mode='loss')['loss']
    targets = torch.stack([s.gt_score for s in data['data_samples']]).gt(0).float()
    assert torch.isclose(loss, F.binary_cross_entropy_with_logits(model(mixed), targets), atol=1e-6)
    loss.backward()


def test_mixup_with_label_smoothing_and_soft_target_ce():
    model = MODELS.build(dict(
        type='ImageClassifier', num_classes=5, backbone=dict(type='PlainViT', arch=ARCH, img_size=32),
        data_preprocessor=dict(type='ClsDataPreprocessor', random_erasing=dict(probability=1.0, mode='pixel'),
                               mixup=dict(mixup_alpha=0.8, cutmix_alpha=0.0, label_smoothing=0.1)),
        loss=dict(type='SoftTargetCrossEntropy')))
    images = [torch.full((3, 32, 32), 100, dtype=torch.uint8) for _ in range(2)]
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples([0, 1])), training=True)
    scores = torch.stack([s.gt_score for s in data['data_samples']])
    assert torch.allclose(scores.sum(1), torch.ones(2)) and scores.min() >= 0.1 / 5 - 1e-6
    clean = (torch.tensor(100.) - model.data_preprocessor.mean) / model.data_preprocessor.std
    assert not torch.allclose(data['inputs'], clean.expand(2, 3, 32, 32))  # erased boxes hold noise
    with pytest.raises(ValueError, match='even batch'):
        model.data_preprocessor(dict(inputs=images[:1], data_samples=samples([0])), training=True)
    evaluation = model.data_preprocessor(dict(inputs=images, data_samples=samples([0, 1])), training=False)
    assert torch.allclose(evaluation['inputs'], clean.expand(2, 3, 32, 32))


def test_center_occlusion_zeroes_exactly_the_centre():
    x = torch.randn(2, 3, 224, 224)
    out = center_occlusion(x, 112)
    assert torch.equal(out[..., 56:168, 56:168], torch.zeros(2, 3, 112, 112))
    outside = torch.ones(224, 224, dtype=torch.bool)
    outside[56:168, 56:168] = False
    assert torch.equal(out[..., outside], x[..., outside]) and (out != 0).sum() == outside.sum() * 6
    with pytest.raises(ValueError, match='exceeds'):
        center_occlusion(torch.zeros(1, 3, 64, 64), 112)
    small = center_occlusion(torch.ones(1, 3, 48, 64), 112, at_size=224)  # half of each side: 24 x 32
    assert small[0, 0].eq(0).nonzero().amin(0).tolist() == [12, 16] and small[0, 0].eq(0).sum() == 24 * 32
    assert torch.equal(center_occlusion(x, 112, at_size=224), out)


@pytest.mark.parametrize('fill', ['zero', 'mean'])
def test_occluded_test_input_equals_the_hand_built_one(fill):
    """'zero': the CB paper's zero-masked pixels (value 0 before normalisation); 'mean': the mean colour."""
    cfg = Config(dict(model=dict(type='ImageClassifier', num_classes=5,
                                 backbone=dict(type='PlainViT', arch=ARCH, img_size=32))))
    robustness.enable_occlusion(cfg, size=112, at_size=224, fill=fill)  # half of each side: 16 of 32
    model = MODELS.build(cfg.model).eval()
    seen = []
    model.backbone.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    images = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(2)]
    with torch.no_grad():
        model.test_step(dict(inputs=images, data_samples=samples([0, 1])))
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    pixels = torch.stack(images).float()
    pixels[:, :, 8:24, 8:24] = 0.0 if fill == 'zero' else mean
    torch.testing.assert_close(seen[0], (pixels - mean) / std)
    hub = MessageHub.get_current_instance()
    assert hub.get_info('test/test_perturbation') == [dict(type='center_occlusion', size=112, at_size=224,
                                                           fill=fill)]


def test_occlusion_fill_is_checked():
    with pytest.raises(ValueError, match=r"fill='grey'.*\('zero', 'mean'\)"):
        robustness.enable_occlusion(Config(dict(model=dict(type='ImageClassifier'))), fill='grey')
    backbone = dict(type='PlainViT', arch=ARCH, img_size=32)
    with pytest.raises(ValueError, match=r"fill='black'"):
        MODELS.build(dict(type='ImageClassifier', backbone=backbone,
                          test_perturbation=dict(type='center_occlusion', fill='black')))
    with pytest.raises(ValueError, match=r"unknown keys \['value'\]"):
        MODELS.build(dict(type='ImageClassifier', backbone=backbone,
                          test_perturbation=dict(type='center_occlusion', value=0)))
    x = torch.randn(1, 3, 8, 8)
    out = center_occlusion(x, 4, value=torch.tensor([1., 2., 3.]).view(3, 1, 1))
    assert out[0, :, 2:6, 2:6].flatten(1).unique(dim=1).flatten().tolist() == [1., 2., 3.]


def test_fgsm_moves_every_pixel_by_eps_against_the_label():
    model = classifier().eval()
    pre = model.data_preprocessor
    images = torch.randint(0, 256, (2, 3, 32, 32)).float()
    x = (images - pre.mean) / pre.std
    labels = torch.tensor([1, 3])
    eps = 4 / 255
    adv = fgsm(lambda t: model(t), x, labels, eps, pre.mean, pre.std)
    x_req = x.clone().requires_grad_(True)
    grad, = torch.autograd.grad(F.cross_entropy(model(x_req), labels), x_req)
    expected = (images + 4 * grad.sign()).clamp(0, 255)
    assert torch.allclose(adv * pre.std + pre.mean, expected, atol=1e-3)
    assert F.cross_entropy(model(adv), labels) > F.cross_entropy(model(x), labels)
    assert all(p.grad is None for p in model.parameters())


def test_robustness_config_switches():
    cfg = Config(dict(model=dict(type='ImageClassifier', backbone=dict(type='PlainViT', arch=ARCH, img_size=32),
                                 num_classes=5)))
    robustness.enable_occlusion(cfg, size=16, at_size=32)
    robustness.enable_fgsm(cfg, eps=0.01)
    assert cfg.model.test_perturbation == [dict(type='center_occlusion', size=16, at_size=32, fill='zero'),
                                           dict(type='fgsm', eps=0.01)]
    model = perturb_(MODELS.build(cfg.model), weights=True).eval()
    images = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(2)]
    data = dict(inputs=images, data_samples=samples([0, 1]))
    clean = model.val_step(dict(inputs=images, data_samples=samples([0, 1])))
    with torch.no_grad():  # as in mmengine's test loop: FGSM re-enables gradients for the input only
        attacked = model.test_step(data)
    assert not torch.allclose(clean[0].pred_score, attacked[0].pred_score)
    with pytest.raises(ValueError, match='ImageClassifier'):
        robustness.enable_occlusion(Config(dict(model=dict(type='EncoderDecoder'))))
    with pytest.raises(ValueError, match='eps'):
        MODELS.build(dict(cfg.model, test_perturbation=dict(type='fgsm', eps=8)))


def test_imagenet_a_r_class_mapping():
    synsets = named_synsets('imagenet-1k')
    assert len(synsets) == 1000 and synsets[0] == 'n01440764' and synsets[999] == 'n15075141'
    for subset in ('imagenet-a', 'imagenet-r'):
        indices = subset_indices_in_1k(subset)
        assert len(indices) == 200 and indices == sorted(indices)
        assert [synsets.index(s) for s in named_synsets(subset)] == indices
    a, r = subset_indices_in_1k('imagenet-a'), subset_indices_in_1k('imagenet-r')
    assert a[:3] == [6, 11, 13] and 'n01498041' == synsets[6]  # stingray, junco, house finch ...
    assert r[:3] == [1, 2, 4] and synsets[1] == 'n01443537'  # goldfish, great white shark, hammerhead


def _write_images(folder, count=2):
    folder.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(np.full((8, 8, 3), 10 * i, np.uint8)).save(folder / f'{i}.png')


def infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def test_imagenet_subset_dataset_labels(tmp_path):
    _write_images(tmp_path / 'a' / 'n01498041')  # stingray: 1k index 6
    _write_images(tmp_path / 'a' / 'n02085620', 3)  # Chihuahua: 1k index 151
    data = ImageNetSubsetDataset(subset='imagenet-a', data_root=str(tmp_path / 'a'))
    assert sorted({d['gt_label'] for d in infos(data)}) == [6, 151] and len(data) == 5
    assert data.metainfo['label_subset'] == subset_indices_in_1k('imagenet-a')
    # a 3-class model (ImageNet-100 style) that knows only the Chihuahua among the two
    data = ImageNetSubsetDataset(subset='imagenet-a', data_root=str(tmp_path / 'a'),
                                 classes=['n01440764', 'n02085620', 'n09999999'])
    assert [d['gt_label'] for d in infos(data)] == [1, 1, 1] and data.metainfo['label_subset'] == [1]
    _write_images(tmp_path / 'b' / 'n01440764')  # tench: not an ImageNet-A class
    with pytest.raises(ValueError, match='not in the class list'):
        ImageNetSubsetDataset(subset='imagenet-a', data_root=str(tmp_path / 'b'))


def test_topk_accuracy_by_hand():
    scores = torch.tensor([[0.1, 0.5, 0.3, 0.1], [0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]])
    labels = torch.tensor([1, 2, 0])
    assert topk_accuracy(scores, labels, (1, 2, 3)) == {1: pytest.approx(100 / 3), 2: pytest.approx(100 / 3),
                                                         3: pytest.approx(200 / 3)}
    # only classes {0, 2} compete: row 0 (label 2) now hits (class 1 is out), row 2 (label 0) still misses
    rows, subset_labels = scores[[0, 2]], torch.tensor([2, 0])
    assert topk_accuracy(rows, subset_labels, (1,)) == {1: 0.0}
    assert topk_accuracy(rows, subset_labels, (1, 2), label_subset=[0, 2]) == {1: 50.0, 2: 100.0}
    with pytest.raises(ValueError, match='label_subset'):
        topk_accuracy(rows, torch.tensor([1, 0]), (1,), label_subset=[0, 2])


def test_pipeline_three_augment_and_simple_random_crop(tmp_path):
    make_synthetic_folder(str(tmp_path), num_classes=2, train_per_class=1, val_per_class=1, size=40)
    path = str(tmp_path / 'train' / 'class_01' / '0000.png')
    for crop in ('rrc', 'src'):
        pipeline = [TRANSFORMS.build(t) for t in (
            dict(type='LoadPILImage'),
            dict(type='TimmTransform', input_size=32, is_training=True, crop=crop, auto_augment='3a',
                 color_jitter=0.3),
            dict(type='PackClsInputs'))]
        results = dict(img_path=path, gt_label=1)
        for t in pipeline:
            results = t(results)
        assert results['inputs'].dtype == torch.uint8 and results['inputs'].shape == (3, 32, 32)
        assert results['data_samples'].gt_label.tolist() == [1]
        names = repr(pipeline[1])
        assert all(op in names for op in ('Solarize', 'Desaturate', 'GaussianBlur', 'ColorJitter'))
        assert ('RandomCrop(size=(32, 32), padding=4)' in names) == (crop == 'src')
    with pytest.raises(ValueError, match='ClsDataPreprocessor'):
        TRANSFORMS.build(dict(type='TimmTransform', input_size=32, is_training=True, re_prob=0.25))


def test_repeat_aug_sampler_repeats_each_image():
    sampler = DATA_SAMPLERS.build(dict(type='RepeatAugSampler', num_repeats=3),
                                  default_args=dict(dataset=list(range(10)), seed=5))
    first = list(sampler)
    assert len(first) == len(sampler) == 10
    assert first[0::3][:3] == first[1::3][:3] == first[2::3][:3]
    sampler.set_epoch(1)
    assert list(sampler) != first
    other_seed = DATA_SAMPLERS.build(dict(type='RepeatAugSampler'), default_args=dict(dataset=list(range(10)), seed=6))
    assert list(other_seed) != first


def test_lamb_optimizer_accumulation_and_no_decay_groups():
    cfg = Config.fromfile(f'{ROOT}/configs/cls_edit_b_in1k.py')
    assert cfg.optim_wrapper.accumulative_counts == 2 and cfg.auto_scale_lr.base_batch_size * 2 == 2048
    model = classifier(type='EDITViT')
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert type(wrapper.optimizer).__name__ == 'Lamb' and wrapper._accumulative_counts == 2
    decay = {id(p): g['weight_decay'] for g in wrapper.optimizer.param_groups for p in g['params']}
    for name, param in model.named_parameters():
        no_decay = param.ndim <= 1 or name.split('.')[-1] in ('pos_embed', 'cls_token')
        assert decay[id(param)] == (0.0 if no_decay else 0.02), name


def test_classifier_checkpoint_initialises_dense_backbones(tmp_path):
    """A classification checkpoint loads strictly into segmentation/detection backbones; the head is reported."""
    model = classifier(type='EDITViT')
    perturb_(model, weights=True)
    path = tmp_path / 'cls.pth'
    torch.save(dict(meta=dict(epoch=1), state_dict=model.state_dict()), path)
    assert set(model.state_dict()) - {k for k in model.state_dict() if k.startswith('backbone.')} == \
        {'head.weight', 'head.bias'}
    dense = MODELS.build(dict(type='EDITViT', arch=ARCH, img_size=64, out_indices=(0, 1), drop_path_rate=0.1))
    notes = load_pretrained(dense, checkpoint=str(path))
    assert any("left out 2 other keys (head.bias, head.weight)" in n for n in notes)
    assert any('resampled from 2x2 to 4x4' in n for n in notes)
    for key, value in dense.state_dict().items():
        if key != 'pos_embed':
            assert torch.equal(value, model.backbone.state_dict()[key]), key


def test_imagenet_a_r_test_set_switch(tmp_path):
    """``enable_imagenet_subset`` swaps the test set; labels follow the model's class list."""
    from mmengine.registry import DATASETS
    _write_images(tmp_path / 'imagenet-r' / 'n01443537')  # goldfish: 1k index 1
    cfg = Config.fromfile(f'{ROOT}/configs/cls_deit3_s_in1k.py')
    robustness.enable_imagenet_subset(cfg, 'imagenet-r', data_root=str(tmp_path / 'imagenet-r'))
    data = DATASETS.build(cfg.test_dataloader.dataset)
    assert [d['gt_label'] for d in infos(data)] == [1, 1]
    assert data.metainfo['label_subset'] == subset_indices_in_1k('imagenet-r')
    assert cfg.test_dataloader.dataset.pipeline == cfg.val_dataloader.dataset.pipeline
    # an ImageNet-100 model: its classes are the train folders next to val
    for synset in ('n01440764', 'n01443537'):
        (tmp_path / 'in100' / 'train' / synset).mkdir(parents=True)
    cfg = Config.fromfile(f'{ROOT}/configs/cls_gated_s_in100.py')
    cfg.val_dataloader.dataset.data_root = osp.relpath(tmp_path / 'in100')
    robustness.enable_imagenet_subset(cfg, 'imagenet-r', data_root=str(tmp_path / 'imagenet-r'))
    assert cfg.test_dataloader.dataset.classes == str(tmp_path / 'in100' / 'train')
    data = DATASETS.build(cfg.test_dataloader.dataset)
    assert [d['gt_label'] for d in infos(data)] == [1, 1] and data.metainfo['label_subset'] == [1]


def test_image_folder_dataset_class_orders_and_errors(tmp_path):
    from mmedit_vit.datasets.image_folder import ImageFolderDataset
    for name in ('b', 'a'):
        _write_images(tmp_path / 'train' / name)
    data = ImageFolderDataset(data_root=str(tmp_path), data_prefix=dict(img_path='train'))
    assert data.metainfo['classes'] == ('a', 'b') and [d['gt_label'] for d in infos(data)] == [0, 0, 1, 1]
    (tmp_path / 'classes.txt').write_text('b\na\nc\n')
    data = ImageFolderDataset(data_root=str(tmp_path), data_prefix=dict(img_path='train'), classes='classes.txt')
    assert data.metainfo['classes'] == ('b', 'a', 'c') and [d['gt_label'] for d in infos(data)] == [1, 1, 0, 0]
    with pytest.raises(ValueError, match="not in the class list"):
        ImageFolderDataset(data_root=str(tmp_path), data_prefix=dict(img_path='train'), classes=['a'])
    (tmp_path / 'list.txt').write_text('a/0.png 1\nb/1.png 0\n')
    data = ImageFolderDataset(data_root=str(tmp_path), data_prefix=dict(img_path='train'), ann_file='list.txt',
                              classes=['x', 'y'])
    assert [(osp.basename(osp.dirname(d['img_path'])), d['gt_label']) for d in infos(data)] == [('a', 1), ('b', 0)]
    with pytest.raises(FileNotFoundError, match='no class folders'):
        (tmp_path / 'empty').mkdir()
        ImageFolderDataset(data_root=str(tmp_path), data_prefix=dict(img_path='empty'))
