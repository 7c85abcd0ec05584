"""tools/test.py --test-set imagenet-c: the released layout read as released, AlexNet-normalised CE / mCE
against a hand computation, and the errors for a missing severity, an incomplete folder and a corrupt file."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmedit_vit.apis.imagenet_c import ALEXNET_CLEAN_ERROR, ALEXNET_ERRORS, alexnet_summary, check_released_folders
from mmedit_vit.apis.test_cli import main
from mmedit_vit.datasets import make_synthetic_folder
from mmedit_vit.datasets.transforms.corruptions import BENCHMARK_CORRUPTIONS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CLS_CONFIG = osp.join(ROOT, 'configs', 'demo', 'cls_edit_t_synthetic.py')
CLASSES = [f'class_{i:02d}' for i in range(4)]
pytestmark = pytest.mark.usefixtures('one_thread')  # a one-block model: one thread is fastest


def released_folder(root: str, corruptions, severities=(1, 2, 3, 4, 5), per_class: int = 1) -> str:
    """``<root>/<corruption>/<severity>/<class>/<file>.JPEG``: 224-px images, another random picture in every
    folder, the same file names everywhere (as the release has)."""
    for k, name in enumerate(corruptions):
        for severity in severities:
            rng = np.random.default_rng([k, severity])
            for label in CLASSES:
                folder = osp.join(root, name, str(severity), label)
                os.makedirs(folder, exist_ok=True)
                for i in range(per_class):
                    img = rng.integers(0, 256, (7, 7, 3), dtype=np.uint8)  # blocky: survives JPEG
                    Image.fromarray(img).resize((224, 224), Image.NEAREST).save(
                        osp.join(folder, f'ILSVRC2012_val_{i:08d}.JPEG'), quality=85)
    return root


def test_alexnet_ce_and_relative_ce_by_hand():
    top1 = {name: {str(s): 100.0 - (30 + i + s) for s in range(1, 6)} for i, name in enumerate(BENCHMARK_CORRUPTIONS)}
    top1['speckle_noise'] = {'1': 50.0, '5': 40.0}
    s = alexnet_summary(top1, clean_top1=80.0)
    assert s['clean_error'] == 20.0
    errors = {name: 30 + i + 3 for i, name in enumerate(BENCHMARK_CORRUPTIONS)}  # mean of 30+i+1 .. 30+i+5
    assert s['errors']['gaussian_noise'] == pytest.approx(33.0)
    assert s['alexnet']['CE']['fog'] == pytest.approx(100 * errors['fog'] / 81.9324)
    assert s['alexnet']['mCE'] == pytest.approx(np.mean([100 * errors[n] / (100 * ALEXNET_ERRORS[n])
                                                         for n in BENCHMARK_CORRUPTIONS]))
    assert s['alexnet']['relative_CE']['brightness'] == pytest.approx(100 * (errors['brightness'] - 20) /
                                                                      (56.4592 - 43.48))
    assert s['alexnet']['relative_mCE'] == pytest.approx(np.mean(
        [100 * (errors[n] - 20) / (100 * ALEXNET_ERRORS[n] - ALEXNET_CLEAN_ERROR) for n in BENCHMARK_CORRUPTIONS]))
    assert s['holdout_error'] == pytest.approx(55.0)  # reported apart, in no CE
    assert 'speckle_noise' not in s['alexnet']['CE']


def test_alexnet_mce_needs_all_15_at_all_5_severities():
    top1 = {'fog': {str(s): 50.0 for s in range(1, 6)}, 'contrast': {'3': 50.0}}
    s = alexnet_summary(top1, clean_top1=70.0)
    assert list(s['alexnet']['CE']) == ['fog']  # contrast lacks severities: not normalisable by AlexNet's mean
    assert 'mCE' not in s['alexnet'] and s['alexnet']['mean_CE'] == pytest.approx(100 * 50 / 81.9324)
    assert s['alexnet']['corruptions'] == 1


def test_missing_and_incomplete_folders_are_named(tmp_path):
    root = released_folder(str(tmp_path / 'c'), ['fog', 'contrast'], severities=(1, 2))
    assert check_released_folders(root, ['fog', 'contrast'], [1, 2]) == 4
    with pytest.raises(FileNotFoundError, match=r'c/fog/3 is missing'):
        check_released_folders(root, ['fog', 'contrast'], [1, 3])
    os.remove(osp.join(root, 'contrast', '2', 'class_01', 'ILSVRC2012_val_00000000.JPEG'))
    with pytest.raises(FileNotFoundError, match=r'contrast/2 is incomplete: 1 images .*class_01/ILSVRC2012_val_0000'):
        check_released_folders(root, ['fog', 'contrast'], [1, 2])


@pytest.fixture(scope='module')
def tiny_classifier(tmp_path_factory):
    """An untrained one-block EDIT classifier of the demo's 4 classes, its config and clean data."""
    from mmengine.registry import MODELS, DefaultScope
    tmp = tmp_path_factory.mktemp('cls')
    data = str(tmp / 'data')
    make_synthetic_folder(data, num_classes=4, train_per_class=1, val_per_class=2, size=48)
    config = tmp / 'tiny.py'
    config.write_text(f'_base_ = [{CLS_CONFIG!r}]\n'
                      'model = dict(backbone=dict(arch=dict(_delete_=True, embed_dims=24, num_heads=2, depth=1)))\n'
                      f'test_dataloader = dict(batch_size=8, dataset=dict(data_root={data!r}, serialize_data=False))\n')
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmedit_vit'):
        model = MODELS.build(Config.fromfile(str(config)).model)
    model.init_weights()
    ckpt = str(tmp / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    return str(config), ckpt, model.eval()


def released_run(config: str, ckpt: str, root: str, work: str, *flags: str) -> dict:
    main([config, ckpt, '--work-dir', work, '--test-set', 'imagenet-c', '--test-root', root, *flags])
    with open(osp.join(work, 'corruptions.json')) as f:
        return json.load(f)


def test_released_images_give_the_hand_computed_mce(tiny_classifier, tmp_path):
    config, ckpt, model = tiny_classifier
    root = released_folder(str(tmp_path / 'imagenet-c'), BENCHMARK_CORRUPTIONS + ['spatter'])
    r = released_run(config, ckpt, root, str(tmp_path / 'work'), '--corruptions', 'benchmark', 'spatter')
    assert r['test_set'] == 'imagenet-c' and r['complete']
    top1 = {n: [r['results'][n][str(s)]['accuracy/top1'] for s in range(1, 6)] for n in r['results']}
    # the released images are read as they are: CenterCrop(224) (a no-op) + ToTensor + the model's mean / std
    for name, severity in (('fog', 2), ('jpeg_compression', 5)):
        folder = osp.join(root, name, str(severity))
        paths = [(osp.join(folder, c, f), k) for k, c in enumerate(CLASSES)
                 for f in sorted(os.listdir(osp.join(folder, c)))]
        images = [torch.from_numpy(np.array(Image.open(p).convert('RGB'))).permute(2, 0, 1) for p, _ in paths]
        with torch.no_grad():
            data = model.data_preprocessor(dict(inputs=images, data_samples=None), False)
            predicted = model(data['inputs'], mode='tensor').argmax(1)
        by_hand = 100.0 * float((predicted == torch.tensor([k for _, k in paths])).float().mean())
        assert top1[name][severity - 1] == pytest.approx(by_hand)
    # mCE from the per-corruption errors and AlexNet's constants
    clean_error = 100.0 - r['clean']['accuracy/top1']
    errors = {n: np.mean([100.0 - v for v in top1[n]]) for n in BENCHMARK_CORRUPTIONS}
    alexnet = r['summary']['alexnet']
    assert alexnet['mCE'] == pytest.approx(np.mean([errors[n] / ALEXNET_ERRORS[n] for n in BENCHMARK_CORRUPTIONS]))
    assert alexnet['relative_mCE'] == pytest.approx(np.mean(
        [100 * (errors[n] - clean_error) / (100 * ALEXNET_ERRORS[n] - 43.48) for n in BENCHMARK_CORRUPTIONS]))
    assert r['summary']['holdout_error'] == pytest.approx(100.0 - np.mean(top1['spatter']))
    assert len(set(errors.values())) > 1  # the folders are told apart
    table = open(osp.join(tmp_path, 'work', 'corruptions.md')).read()
    assert f"mCE {alexnet['mCE']:.1f}, relative mCE {alexnet['relative_mCE']:.1f} (AlexNet = 100)" in table


def test_a_missing_severity_stops_before_the_clean_evaluation(tiny_classifier, tmp_path):
    config, ckpt, _ = tiny_classifier
    root = released_folder(str(tmp_path / 'imagenet-c'), ['fog', 'contrast'], severities=(1, 2))
    os.rename(osp.join(root, 'contrast', '2'), osp.join(root, 'contrast', 'x'))
    work = tmp_path / 'work'
    with pytest.raises(FileNotFoundError, match=r'imagenet-c/contrast/2 is missing'):
        released_run(config, ckpt, root, str(work), '--corruptions', 'fog', 'contrast', '--severities', '1', '2')
    assert not (work / 'corruptions.json').exists()


def test_a_corrupt_image_file_is_named(tiny_classifier, tmp_path):
    config, ckpt, _ = tiny_classifier
    root = released_folder(str(tmp_path / 'imagenet-c'), ['fog'], severities=(1,))
    bad = osp.join(root, 'fog', '1', 'class_02', 'ILSVRC2012_val_00000000.JPEG')
    with open(bad, 'wb') as f:
        f.write(b'\xff\xd8 not a jpeg')
    with pytest.raises(ValueError, match=f'image file {bad} cannot be read as an image'):
        released_run(config, ckpt, root, str(tmp_path / 'work'), '--corruptions', 'fog', '--severities', '1')


def test_released_set_refuses_options_that_do_not_apply(tiny_classifier, tmp_path):
    config, ckpt, _ = tiny_classifier
    root = released_folder(str(tmp_path / 'imagenet-c'), ['fog'], severities=(1,))
    with pytest.raises(SystemExit, match='needs --corruptions'):
        main([config, ckpt, '--test-set', 'imagenet-c', '--test-root', root])
    with pytest.raises(ValueError, match='--corruption-format do not apply'):
        released_run(config, ckpt, root, str(tmp_path / 'w'), '--corruptions', 'fog', '--severities', '1',
                     '--corruption-format', 'jpeg85')
