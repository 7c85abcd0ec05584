"""mmengine's config text is formatted once per text (``mmedit_vit/engine/config_text.py``), and is the same text."""
import os.path as osp

import mmengine.config.config as mmengine_config
from mmengine.config import Config

from conftest import ROOT
from mmedit_vit.engine.config_text import format_config_text_once

CONFIG = osp.join(ROOT, 'configs', 'maskrcnn_edit_t_coco.py')


def test_formatted_once_per_text_and_unchanged(monkeypatch):
    original = getattr(mmengine_config.FormatCode, 'original', mmengine_config.FormatCode)
    monkeypatch.setattr(mmengine_config, 'FormatCode', original)  # yapf's own; restored afterwards
    cfg = Config.fromfile(CONFIG)
    expected = cfg.pretty_text  # mmengine's own formatting
    calls = []
    monkeypatch.setattr(mmengine_config, 'FormatCode', lambda *a, **k: calls.append(1) or original(*a, **k))
    format_config_text_once()
    format_config_text_once()  # installing twice wraps once
    assert [cfg.pretty_text for _ in range(3)] == [expected] * 3 and len(calls) == 1
    cfg.train_cfg.max_epochs = 1  # another text: formatted again
    assert 'max_epochs=1' in cfg.pretty_text and len(calls) == 2
    assert cfg.pretty_text != expected and len(calls) == 2
