"""mmengine's config text, formatted by yapf once per text.

A runner asks for ``cfg.pretty_text`` for its log, for the config it writes to the work dir and again for the
meta of every checkpoint it saves; each call reformats the whole config with yapf (0.8 s for a Mask R-CNN
config, 0.1 s for a Segmenter one, on one CPU core). yapf is deterministic, so the formatted text of an
unchanged config is kept and handed back: the text is the same, the second and later calls are free.
"""
import functools
import json
from typing import Any, Callable, Tuple

import mmengine.config.config as mmengine_config

_CACHE_SIZE = 32  # distinct config texts kept (a few hundred kB)


def _memoized(format_code: Callable[..., Tuple[str, bool]]) -> Callable[..., Tuple[str, bool]]:
    @functools.lru_cache(maxsize=_CACHE_SIZE)
    def cached(text: str, options: str) -> Tuple[str, bool]:
        return format_code(text, **json.loads(options))

    @functools.wraps(format_code)
    def format_once(text: str, **options: Any) -> Tuple[str, bool]:
        return cached(text, json.dumps(options, sort_keys=True))

    format_once.original = format_code  # type: ignore[attr-defined]
    return format_once


def format_config_text_once() -> None:
    """Makes mmengine's ``Config.pretty_text`` reuse yapf's result for a text it formatted before."""
    if not hasattr(mmengine_config.FormatCode, 'original'):
        mmengine_config.FormatCode = _memoized(mmengine_config.FormatCode)
