"""Bad inputs a new user meets: each row is one case, with the error type and the words the message must hold.

Rows call the code the tools call (model constructors, checkpoint loading, --cfg-options parsing,
the data pipelines of the demo configs after ``load_run_config``); tests/test_fault_tolerance.py runs
the faults (kills, divergence, resumes, DDP) and the tools themselves.
"""
import argparse
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import DATASETS, MODELS, init_default_scope

from mmedit_vit.apis import CfgOptionsAction, load_run_config
from mmedit_vit.converters import CheckpointMismatchError
from mmedit_vit.datasets.transforms import BadSampleError
from mmedit_vit.models.backbones.vit import PlainViT
from mmedit_vit.utils import CheckpointReadError, UnsafeCheckpointError, load_checkpoint_file

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SEG_DEMO = osp.join(ROOT, 'configs', 'demo', 'segmenter_edit_t_synthetic_ade20k.py')
CLS_DEMO = osp.join(ROOT, 'configs', 'demo', 'cls_edit_t_synthetic.py')
TINY = dict(embed_dims=32, num_heads=2, depth=2)


# ------------------------------------------------------------------------------------ helpers
class Payload:
    """Pickles as a call to os.system: what a malicious checkpoint carries."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def malicious_checkpoint(tmp_path) -> str:
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': Payload(str(tmp_path / 'PWNED'))}, path)
    return path


def tiny_vit(**kwargs) -> PlainViT:
    return PlainViT(arch=TINY, img_size=32, **kwargs)


def backbone_checkpoint(tmp_path, name='bb.pth', **kwargs) -> str:
    path = str(tmp_path / name)
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in tiny_vit(**kwargs).state_dict().items()}}, path)
    return path


def parse_options(*items):
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    return parser.parse_args(['--cfg-options', *items]).cfg_options


@pytest.fixture(scope='module')
def ade(tmp_path_factory):
    from mmedit_vit.datasets import make_synthetic_ade20k
    return make_synthetic_ade20k(str(tmp_path_factory.mktemp('ade')), num_train=2, num_val=2, size=(32, 40))


def seg_dataset(root: str, split: str = 'train'):
    """The demo config's dataset of ``split`` (its pipeline after load_run_config) on ``root``."""
    init_default_scope('mmseg')
    loader = f'{split}_dataloader'
    cfg = load_run_config(SEG_DEMO, cfg_options={f'{loader}.dataset.data_root': root})
    return DATASETS.build(cfg[loader].dataset)


def copy_of(ade: str, tmp_path) -> str:
    root = str(tmp_path / 'ade')
    shutil.copytree(ade, root)
    return root


def first_annotation(root: str, split: str = 'training') -> str:
    folder = osp.join(root, 'annotations', split)
    return osp.join(folder, sorted(os.listdir(folder))[0])


def first_image(root: str, split: str = 'training') -> str:
    folder = osp.join(root, 'images', split)
    return osp.join(folder, sorted(os.listdir(folder))[0])


def seg_case(change, split: str = 'train'):
    """A row on a copy of the generated ADE20K set: ``change(root)`` spoils it, then sample 0 is read."""
    def run(tmp_path, ade):
        root = copy_of(ade, tmp_path)
        change(root)
        dataset = seg_dataset(root, split)
        return dataset[0]
    return run


def write_label(value):
    def change(root):
        for split in ('training', 'validation'):
            path = first_annotation(root, split)
            label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            label[0, 0] = value
            cv2.imwrite(path, label)
    return change


def resize_label(root):
    for split in ('training', 'validation'):
        path = first_annotation(root, split)
        cv2.imwrite(path, cv2.resize(cv2.imread(path, cv2.IMREAD_UNCHANGED), (20, 16),
                                     interpolation=cv2.INTER_NEAREST))


def colour_label(root):
    path = first_annotation(root)
    label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    cv2.imwrite(path, np.stack([label * 3, label * 5, label * 7], axis=-1).astype(np.uint8))


def empty_image(root):
    open(first_image(root), 'wb').close()


def no_images(root):
    for name in os.listdir(osp.join(root, 'images', 'training')):
        os.remove(osp.join(root, 'images', 'training', name))


def png_images(root):
    folder = osp.join(root, 'images', 'training')
    for name in os.listdir(folder):
        os.rename(osp.join(folder, name), osp.join(folder, name[:-4] + '.png'))


def seg_root_case(change):
    """Like ``seg_case``, through the tools' data check (before anything is built)."""
    def run(tmp_path, ade):
        from mmedit_vit.apis import check_data_roots
        root = copy_of(ade, tmp_path)
        change(root)
        cfg = load_run_config(SEG_DEMO, cfg_options={'train_dataloader.dataset.data_root': root})
        check_data_roots(cfg, ['train_dataloader'])
    return run


def cls_empty_image(tmp_path, ade):
    from mmedit_vit.datasets.transforms import LoadPILImage
    path = tmp_path / 'a.png'
    path.write_bytes(b'')
    return LoadPILImage()(dict(img_path=str(path)))


def checkpoint_case(content: bytes):
    def run(tmp_path, ade):
        path = tmp_path / 'broken.pth'
        path.write_bytes(content)
        return load_checkpoint_file(str(path))
    return run


def truncated_checkpoint(tmp_path, ade):
    path = tmp_path / 'whole.pth'
    torch.save({'state_dict': tiny_vit().state_dict()}, path)
    data = path.read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[:len(data) // 2])
    return load_checkpoint_file(str(tmp_path / 'cut.pth'))


def list_init_cfg(width_kwargs):
    def run(tmp_path, ade):
        path = backbone_checkpoint(tmp_path, **width_kwargs)
        model = tiny_vit(init_cfg=[dict(type='Pretrained', checkpoint=path)])
        model.init_weights()
    return run


def list_init_cfg_wrong_width(tmp_path, ade):
    path = str(tmp_path / 'wide.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in PlainViT(
        arch=dict(embed_dims=48, num_heads=2, depth=2), img_size=32).state_dict().items()}}, path)
    tiny_vit(init_cfg=[dict(type='Pretrained', checkpoint=path)]).init_weights()


def malicious_through(reader: str):
    def run(tmp_path, ade):
        path = malicious_checkpoint(tmp_path)
        os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'
        try:
            if reader == 'file':
                load_checkpoint_file(path)
            elif reader == 'mmengine':  # what load_from / --resume / Pretrained init call
                from mmengine.runner.checkpoint import _load_checkpoint
                _load_checkpoint(path, map_location='cpu')
            elif reader == 'init_cfg_list':
                tiny_vit(init_cfg=[dict(type='Pretrained', checkpoint=path)]).init_weights()
            elif reader == 'init_cfg_dict':
                tiny_vit(init_cfg=dict(type='Pretrained', checkpoint=path)).init_weights()
        finally:
            del os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD']
            assert not (tmp_path / 'PWNED').exists(), 'the payload ran'
    return run


def options(*items, config=CLS_DEMO):
    def run(tmp_path, ade):
        return load_run_config(config, cfg_options=parse_options(*items))
    return run


# id -> (case(tmp_path, ade), expected exception, words the message must contain)
CASES = {
    # model arguments
    'patch_size_0': (lambda t, a: tiny_vit(patch_size=0), ValueError, ['patch_size=0']),
    'num_heads_0': (lambda t, a: PlainViT(arch=dict(embed_dims=32, num_heads=0, depth=2)), ValueError,
                    ['num_heads=0']),
    'num_heads_not_dividing': (lambda t, a: PlainViT(arch=dict(embed_dims=32, num_heads=3, depth=2)), ValueError,
                               ['num_heads=3', 'embed_dims=32']),
    'img_size_below_patch': (lambda t, a: PlainViT(arch=TINY, img_size=8), ValueError, ['img_size=8', 'patch_size']),
    'in_channels_0': (lambda t, a: tiny_vit(in_channels=0), ValueError, ['in_channels=0']),
    'drop_path_1': (lambda t, a: tiny_vit(drop_path_rate=1.0), ValueError, ['drop_path_rate=1.0', '[0, 1)']),
    'drop_path_negative': (lambda t, a: tiny_vit(drop_path_rate=-0.1), ValueError, ['drop_path_rate=-0.1']),
    'value_gate_without_gate': (lambda t, a: tiny_vit(gate_position='value'), ValueError,
                                ["gate_position='value'", "gate='none'"]),
    # checkpoint files
    'checkpoint_zero_bytes': (checkpoint_case(b''), CheckpointReadError, ['broken.pth', 'empty']),
    'checkpoint_truncated': (truncated_checkpoint, CheckpointReadError, ['cut.pth', 'truncated']),
    'checkpoint_not_torch': (checkpoint_case(b'hello world' * 10), CheckpointReadError, ['broken.pth']),
    'checkpoint_missing': (lambda t, a: load_checkpoint_file(str(t / 'nope.pth')), FileNotFoundError, ['nope.pth']),
    'malicious_file_reader': (malicious_through('file'), UnsafeCheckpointError, ['evil.pth', 'refusing']),
    'malicious_mmengine_reader': (malicious_through('mmengine'), UnsafeCheckpointError, ['evil.pth', 'refusing']),
    'malicious_init_cfg_list': (malicious_through('init_cfg_list'), UnsafeCheckpointError, ['evil.pth']),
    'malicious_init_cfg_dict': (malicious_through('init_cfg_dict'), UnsafeCheckpointError, ['evil.pth']),
    'init_cfg_list_wrong_width': (list_init_cfg_wrong_width, CheckpointMismatchError,
                                  ['shape mismatch', 'pos_embed']),
    'init_cfg_list_other_variant': (list_init_cfg(dict(num_registers=2)), CheckpointMismatchError,
                                    ['reg_token']),
    'init_cfg_list_loads': (list_init_cfg({}), None, []),
    'checkpoint_url_scheme_refused': (
        lambda t, a: __import__('mmengine.runner.checkpoint', fromlist=['x'])._load_checkpoint('open-mmlab://x'),
        CheckpointReadError, ['open-mmlab://x', 'weights-only']),
    # --cfg-options
    'option_unknown_top_level': (options('foo.bar=1'), KeyError, ['foo.bar', "'foo'"]),
    'option_unknown_nested': (options('model.bakbone.arch=small'), KeyError, ['model.bakbone.arch', "'bakbone'"]),
    'option_into_none': (options('model.backbone.init_cfg.checkpoint=x.pth', config=SEG_DEMO), KeyError,
                         ['model.backbone.init_cfg is None', 'model.backbone.init_cfg=dict(checkpoint=...)']),
    'option_dict_replaces_a_string': (
        lambda t, a: MODELS.build(options('model.backbone.arch=dict(embed_dims=32,num_heads=0,depth=2)')(t, a)
                                  .model.backbone), ValueError, ['num_heads=0']),
    'option_new_leaf_allowed': (options('model.backbone.drop_path_rate=0.2'), None, []),
    'option_dict_value': (lambda t, a: parse_options("model.backbone.init_cfg=dict(type='Pretrained',"
                                                     "checkpoint=x.pth,missing_ok=['decoder'])"), None, []),
    'option_brace_dict_value': (lambda t, a: parse_options("model.backbone.init_cfg={'type':'Pretrained'}"), None, []),
    'option_malformed_dict': (lambda t, a: parse_options('model.backbone.init_cfg=dict(type=Pretrained'),
                              argparse.ArgumentError, ['init_cfg', 'quote']),
    'option_no_equals': (lambda t, a: parse_options('model.backbone'), argparse.ArgumentError, ['KEY=VALUE']),
    # data
    'seg_image_zero_bytes': (seg_case(empty_image), BadSampleError, ['ADE_train_00000001.jpg', '0 bytes']),
    'cls_image_zero_bytes': (cls_empty_image, ValueError, ['a.png', '0 bytes']),
    'seg_label_outside_classes_train': (seg_case(write_label(200)), BadSampleError,
                                        ['ADE_train_00000001.png', '[200]', '1..150']),
    'seg_label_outside_classes_test': (seg_case(write_label(200), 'test'), BadSampleError,
                                       ['ADE_val_00000001.png', '[200]']),
    'seg_label_size_mismatch_train': (seg_case(resize_label), BadSampleError,
                                      ['ADE_train_00000001.png', '16x20', '32x40']),
    'seg_label_size_mismatch_test': (seg_case(resize_label, 'test'), BadSampleError,
                                     ['ADE_val_00000001.png', '16x20', '32x40']),
    'seg_label_rgb': (seg_case(colour_label), BadSampleError, ['ADE_train_00000001.png', 'single-channel label PNG']),
    'seg_no_images': (seg_root_case(no_images), FileNotFoundError, ['images/training', "no images ending in '.jpg'"]),
    'seg_unexpected_extension': (seg_root_case(png_images), FileNotFoundError, ['.png', "'.jpg'", 'img_suffix']),
    'seg_clean_sample_passes': (seg_case(lambda root: None), None, []),
}



# ------------------------------------------------------------- labels as written, argument types
def rewrite_label(convert):
    """Every annotation of both splits rewritten as ``convert(label)`` returns it (PIL image or array)."""
    def change(root):
        from PIL import Image
        for split in ('training', 'validation'):
            for path in sorted(os.listdir(osp.join(root, 'annotations', split))):
                path = osp.join(root, 'annotations', split, path)
                out = convert(np.array(Image.open(path)))
                (out if isinstance(out, Image.Image) else Image.fromarray(out)).save(path)
    return change


def with_value(value):
    def convert(label):
        label = label.astype(np.uint16)
        label[0, 0] = value
        return label
    return convert


def as_palette(label):
    from PIL import Image
    image = Image.new('P', label.shape[::-1])
    image.putdata(label.ravel().tolist())
    image.putpalette([(i * 37) % 256 for i in range(768)])
    return image


def build(registry_key: str, **kwargs):
    from mmengine.registry import DATA_SAMPLERS, HOOKS, OPTIM_WRAPPER_CONSTRUCTORS
    registry = {'RepeatAugSampler': DATA_SAMPLERS, 'SinkStatsHook': HOOKS,
                'ViTLayerDecayOptimWrapperConstructor': OPTIM_WRAPPER_CONSTRUCTORS}[registry_key]
    return lambda t, a: registry.build(dict(type=registry_key, **kwargs))


CASES.update({
    # label files: every value as written, checked where decoded
    'seg_label_16bit_300_train': (seg_case(rewrite_label(with_value(300))), BadSampleError,
                                  ['ADE_train_00000001.png', '[300]', '1..150 (class ids 0..149']),
    'seg_label_16bit_300_test': (seg_case(rewrite_label(with_value(300)), 'test'), BadSampleError,
                                 ['ADE_val_00000001.png', '[300]', '1..150']),
    'seg_label_16bit_in_range_passes': (seg_case(rewrite_label(with_value(150))), None, []),
    'seg_label_palette_passes': (seg_case(rewrite_label(as_palette)), None, []),
    'seg_label_palette_index_outside': (seg_case(rewrite_label(lambda x: as_palette(with_value(151)(x)))),
                                        BadSampleError, ['ADE_train_00000001.png', '[151]']),
    'seg_label_grey_rgb_passes': (seg_case(rewrite_label(lambda x: np.stack([x] * 3, axis=-1))), None, []),
    'seg_label_rgba': (seg_case(rewrite_label(lambda x: np.stack([x] * 4, axis=-1))), BadSampleError,
                       ['ADE_train_00000001.png', "'RGBA'"]),
    # argument types
    'arg_bool_for_a_count': (lambda t, a: tiny_vit(num_registers=True), TypeError,
                             ['num_registers=True', 'not a bool']),
    'arg_bool_for_a_count_via_cfg_options': (
        lambda t, a: MODELS.build(options('model.backbone.num_registers=True')(t, a).model), TypeError,
        ['num_registers=True']),
    'arg_float_for_depth': (lambda t, a: PlainViT(arch=dict(embed_dims=32, num_heads=2, depth=2.5)), TypeError,
                            ['depth=2.5', 'integer']),
    'arg_string_for_a_rate': (lambda t, a: tiny_vit(drop_path_rate='0.1'), TypeError, ["drop_path_rate='0.1'"]),
    'arg_int_for_a_flag': (lambda t, a: tiny_vit(with_cp=1), TypeError, ['with_cp=1', 'True or False']),
    'arg_frozen_stages_out_of_range': (lambda t, a: tiny_vit(frozen_stages=-2), ValueError,
                                       ['frozen_stages=-2', '>= -1']),
    'arg_sampler_bool_repeats': (build('RepeatAugSampler', dataset=[0, 1], num_repeats=True), TypeError,
                                 ['num_repeats=True']),
    'arg_hook_float_interval': (build('SinkStatsHook', interval=2.5), TypeError, ['interval=2.5']),
    'arg_layer_decay_string': (build('ViTLayerDecayOptimWrapperConstructor', optim_wrapper_cfg=dict(
        optimizer=dict(type='SGD', lr=0.1)), paramwise_cfg=dict(layer_decay_rate='0.65')), TypeError,
        ["layer_decay_rate='0.65'"]),
})


# ------------------------------------------------------------------- resume and checkpoint sources
def served(directory: str):
    """A local http server for ``directory`` (a context manager yielding its base URL)."""
    import contextlib
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    @contextlib.contextmanager
    def serve():
        handler = functools.partial(SimpleHTTPRequestHandler, directory=directory)
        handler.log_message = lambda *args: None
        server = ThreadingHTTPServer(('127.0.0.1', 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f'http://127.0.0.1:{server.server_address[1]}'
        finally:
            server.shutdown()
            server.server_close()
    return serve()


def init_cfg_from_url(tmp_path, ade):
    """An http URL in init_cfg passes the start-up check and loads, weights-only, the file's very values."""
    from mmedit_vit.apis import check_pretrained_files
    path = backbone_checkpoint(tmp_path, name='served.pth')
    saved = torch.load(path, weights_only=True)['state_dict']
    old_home = os.environ.get('TORCH_HOME')
    os.environ['TORCH_HOME'] = str(tmp_path / 'torch_home')  # the download cache
    try:
        with served(str(tmp_path)) as base:
            url = f'{base}/served.pth'
            cfg = load_run_config(SEG_DEMO, cfg_options=parse_options(
                f"model.backbone.init_cfg=dict(type='Pretrained',checkpoint='{url}')"))
            check_pretrained_files(cfg)
            model = tiny_vit(init_cfg=dict(type='Pretrained', checkpoint=url))
            model.init_weights()
    finally:
        if old_home is None:
            del os.environ['TORCH_HOME']
        else:
            os.environ['TORCH_HOME'] = old_home
    assert osp.isfile(tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'served.pth')
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[f'backbone.{key}']), key


def init_cfg_scheme(tmp_path, ade):
    from mmedit_vit.apis import check_pretrained_files
    cfg = load_run_config(SEG_DEMO, cfg_options=parse_options(
        "model.backbone.init_cfg=dict(type='Pretrained',checkpoint='s3://bucket/edit_t.pth')"))
    check_pretrained_files(cfg)


def fast_resume_other_world_size(tmp_path, ade):
    """A checkpoint written by 2 processes, fast-resumed by 1."""
    from toy_runner import toy_config, toy_runner

    from mmedit_vit.apis import enable_fast_resume
    from mmedit_vit.apis.run_config import build_runner
    toy_runner(str(tmp_path), max_iters=4, interval=4).train()
    path = str(tmp_path / 'iter_4.pth')
    checkpoint = torch.load(path, weights_only=False)
    checkpoint['meta']['world_size'] = 2
    torch.save(checkpoint, path)
    cfg = enable_fast_resume(toy_config(str(tmp_path), max_iters=8, interval=4))
    cfg.resume = True
    build_runner(cfg).train()


def last_checkpoint_lost(tmp_path, ade):
    """``last_checkpoint`` names an absolute path that is gone, and the work dir has no file of that name."""
    from mmedit_vit.apis import resume_latest
    (tmp_path / 'last_checkpoint').write_text('/scratch/old_place/iter_8.pth')
    cfg = load_run_config(CLS_DEMO, work_dir=str(tmp_path))
    resume_latest(cfg)


CASES.update({
    'init_cfg_http_url_loads': (init_cfg_from_url, None, []),
    'init_cfg_url_scheme_refused_at_start': (init_cfg_scheme, ValueError,
                                             ["'s3://bucket/edit_t.pth'", 'model.backbone.init_cfg', 'http or https']),
    'fast_resume_other_process_count': (fast_resume_other_world_size, ValueError,
                                        ['written by a run of 2 process(es), this run has 1', 'resume with 2']),
    'resume_last_checkpoint_lost': (last_checkpoint_lost, FileNotFoundError,
                                    ['/scratch/old_place/iter_8.pth', 'has no iter_8.pth']),
})

@pytest.mark.parametrize('case', sorted(CASES))
def test_bad_input_gives_a_clear_error(case, tmp_path, ade):
    run, error, words = CASES[case]
    if error is None:
        run(tmp_path, ade)
        return
    with pytest.raises(error) as info:
        run(tmp_path, ade)
    message = str(info.value)
    for word in words:
        assert word in message, f'{case}: {word!r} not in {message!r}'


def test_dict_option_values_are_parsed():
    parsed = parse_options("model.backbone.init_cfg=dict(type='Pretrained',checkpoint=x.pth,missing_ok=['decoder'])",
                           'train_dataloader.batch_size=4', 'a.b=[1,2]')
    assert parsed['model.backbone.init_cfg'] == dict(type='Pretrained', checkpoint='x.pth', missing_ok=['decoder'])
    assert parsed['train_dataloader.batch_size'] == 4 and parsed['a.b'] == [1, 2]


def test_list_init_cfg_loads_the_weights_strictly(tmp_path):
    source = tiny_vit()
    with torch.no_grad():
        for p in source.parameters():
            p.add_(torch.randn_like(p))
    path = str(tmp_path / 'src.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}}, path)
    model = tiny_vit(init_cfg=[dict(type='Pretrained', checkpoint=path)])
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_env_override_would_run_the_payload_without_explicit_weights_only(tmp_path, monkeypatch):
    """The threat is real: torch's default follows TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD (here a harmless touch)."""
    path = malicious_checkpoint(tmp_path)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    torch.load(path)
    assert (tmp_path / 'PWNED').exists()


def test_sample_checks_are_in_every_pipeline_of_the_demo():
    init_default_scope('mmseg')
    cfg = load_run_config(SEG_DEMO)
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        types = [step['type'] for step in cfg[split].dataset.pipeline]
        assert types[types.index('LoadImageFromFile') - 1] == 'CheckImageFile'
        assert 'LoadSegLabels' in types and 'LoadAnnotations' not in types
    check = next(s for s in cfg.train_dataloader.dataset.pipeline if s['type'] == 'LoadSegLabels')
    assert check['num_classes'] == 150 and check.get('ignore_index', 255) == 255
    for step in cfg.tta_pipeline:
        if step['type'] == 'LoadImageFromFile':
            break
        assert step['type'] == 'CheckImageFile'
    hooks = {h['type'] for h in cfg.custom_hooks}
    assert {'NonFiniteLossHook', 'RandomStateHook'} <= hooks
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    # applying it twice changes nothing
    again = load_run_config(SEG_DEMO)
    assert again.train_dataloader.dataset.pipeline == cfg.train_dataloader.dataset.pipeline


def test_dict_option_replaces_a_value_that_is_not_a_dict():
    init_default_scope('mmseg')
    cfg = load_run_config(SEG_DEMO, cfg_options=parse_options(
        "model.backbone.init_cfg=dict(type='Pretrained',checkpoint='x.pth')", 'model.backbone.arch=dict(embed_dims=32,'
        'num_heads=2,depth=2)', 'model.backbone.drop_path_rate=0.2'))
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint='x.pth')
    assert cfg.model.backbone.arch == dict(embed_dims=32, num_heads=2, depth=2)
    assert cfg.model.backbone.drop_path_rate == 0.2 and cfg.model.backbone.type == 'EDITViT'
