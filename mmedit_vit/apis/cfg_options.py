"""``--cfg-options``: dict values parsed, unknown keys refused.

mmengine's ``DictAction`` recurses without end on ``key=dict(a=1,b=2)`` and ``Config.merge_from_dict``
creates any key it is given, so a typo (``foo.bar=1``) is silently ignored by everything downstream.
"""
import inspect
from argparse import ArgumentError
from typing import Any, Iterable, List

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

# top-level keys a config may add that mmengine's Runner reads (besides those the config already has)
RUNNER_KEYS = frozenset(inspect.signature(Runner.__init__).parameters) - {'self'} | {
    'runner_type', 'default_scope', 'custom_imports', 'launcher', 'gpu_ids', 'find_unused_parameters',
    'tta_model', 'tta_pipeline', 'auto_scale_lr', 'model_wrapper_cfg'}

QUOTING_HINT = ("quote the whole option for the shell and write dict values as dict(a=1,b='x') or {'a':1,'b':'x'}, "
                "e.g. --cfg-options \"model.backbone.init_cfg=dict(type='Pretrained',checkpoint='x.pth')\"")


def _split_top(text: str, sep: str = ',') -> List[str]:
    """``text`` split at ``sep`` outside brackets and quotes."""
    parts, depth, quote, start = [], 0, None, 0
    for i, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in '\'"':
            quote = char
        elif char in '([{':
            depth += 1
        elif char in ')]}':
            depth -= 1
            if depth < 0:
                raise ValueError(f'unbalanced {char!r}')
        elif char == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth or quote:
        raise ValueError('unbalanced brackets or quotes')
    parts.append(text[start:])
    return parts


def parse_option_value(value: str) -> Any:
    """A ``--cfg-options`` value: numbers, True/False/None, quoted or bare strings, ``[..]`` lists,
    ``(..)`` tuples, ``a,b`` lists (as mmengine's DictAction), and ``dict(k=v, ..)`` / ``{'k': v, ..}`` dicts,
    nested in any way."""
    text = value.strip()
    if not text:
        return text
    if text.startswith('dict(') and text.endswith(')'):
        body = text[len('dict('):-1]
        items = [item for item in _split_top(body) if item.strip()]
        if not all('=' in item for item in items):
            raise ValueError(f'{value!r}: every dict(...) entry must be key=value')
        return {k.strip(): parse_option_value(v) for k, v in (item.split('=', 1) for item in items)}
    if text.startswith('{') and text.endswith('}'):
        items = [item for item in _split_top(text[1:-1]) if item.strip()]
        pairs = [_split_top(item, ':') for item in items]
        if not all(len(pair) == 2 for pair in pairs):
            raise ValueError(f'{value!r}: every {{...}} entry must be key: value')
        return {parse_option_value(k): parse_option_value(v) for k, v in pairs}
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '\'"':
        return text[1:-1]
    if text[0] in '[(' and text[-1] == {'[': ']', '(': ')'}[text[0]]:
        items = [parse_option_value(item) for item in _split_top(text[1:-1]) if item.strip()]
        return items if text[0] == '[' else tuple(items)
    parts = _split_top(text)
    if len(parts) > 1:
        return [parse_option_value(part) for part in parts if part.strip()]
    return DictAction._parse_int_float_bool(text)


class CfgOptionsAction(DictAction):
    """``DictAction`` that also reads dict values and reports malformed ones instead of a traceback."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        options = dict(getattr(namespace, self.dest, None) or {})
        for item in values or []:
            if '=' not in item:
                raise ArgumentError(self, f'{item!r} is not KEY=VALUE')
            key, value = item.split('=', maxsplit=1)
            try:
                options[key] = parse_option_value(value)
            except ValueError as err:
                raise ArgumentError(self, f'{key}={value}: {err}; {QUOTING_HINT}') from None
        setattr(namespace, self.dest, options)


def check_option_keys(cfg: Config, options: Iterable[str]) -> None:
    """Every option must lead through existing entries; only its last part may be new.

    ``model.backbone.drop_path_rate=0.2`` may add a constructor argument; ``foo.bar=1`` (no ``foo``)
    or ``model.bakbone.x=1`` (no ``model.bakbone``) are typos and raise ``KeyError`` naming them.
    """
    for key in options:
        parts = key.split('.')
        if parts[0] not in cfg and parts[0] not in RUNNER_KEYS:
            raise KeyError(f'--cfg-options {key}: the config has no top-level key {parts[0]!r} (it has '
                           f'{", ".join(sorted(cfg.keys()))})')
        node = cfg.get(parts[0])
        for depth, part in enumerate(parts[1:-1], start=1):
            if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                have = sorted(node) if isinstance(node, dict) else f'a {type(node).__name__}'
                raise KeyError(f'--cfg-options {key}: {".".join(parts[:depth])} has no entry {part!r} '
                               f'(it has {have})')
        parent = '.'.join(parts[:-1])
        if len(parts) > 1 and node is None and parts[0] in cfg:
            raise KeyError(f'--cfg-options {key}: {parent} is None in this config, so it has no {parts[-1]!r} to set; '
                           f'give it whole, e.g. "{parent}=dict({parts[-1]}=...)"')
        if len(parts) > 1 and node is not None and not isinstance(node, (dict, list, tuple)):
            raise KeyError(f'--cfg-options {key}: {parent} is {node!r}, not a dict')



_ABSENT = object()


def _current(cfg: Config, key: str) -> Any:
    """The config's value at dotted ``key``, or ``_ABSENT``."""
    first, *rest = key.split('.')
    if first not in cfg:
        return _ABSENT
    node: Any = cfg[first]
    for part in rest:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _ABSENT
    return node


def replacing_dicts(cfg: Config, options: dict) -> dict:
    """A dict value given for an entry that is not a dict (``arch='tiny'``, ``init_cfg=None``) replaces
    it; mmengine's merge would refuse it and ask for ``_delete_=True``, which this adds."""
    out = {}
    for key, value in options.items():
        current = _current(cfg, key)
        if isinstance(value, dict) and current is not _ABSENT and not isinstance(current, dict):
            value = dict(value, _delete_=True)
        out[key] = value
    return out
