"""``--cfg-options``: dict values parsed, unknown keys refused.

mmengine's ``DictAction`` recurses without end on ``key=dict(a=1,b=2)`` and ``Config.merge_from_dict``
creates any key it is given, so a typo (``foo.bar=1``) is silently ignored by everything downstream.
"""
import ast
import inspect
from argparse import ArgumentError
from typing import Any, Iterable

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

# top-level keys a config may add that mmengine's Runner reads (besides those the config already has)
RUNNER_KEYS = frozenset(inspect.signature(Runner.__init__).parameters) - {'self'} | {
    'runner_type', 'default_scope', 'custom_imports', 'launcher', 'gpu_ids', 'find_unused_parameters',
    'tta_model', 'tta_pipeline', 'auto_scale_lr', 'model_wrapper_cfg'}

QUOTING_HINT = ("quote the whole option for the shell and write dict values as dict(a=1,b='x') or {'a':1,'b':'x'}, "
                "e.g. --cfg-options \"model.backbone.init_cfg=dict(type='Pretrained',checkpoint='x.pth')\"")


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict' and not node.args:
        return {kw.arg: _literal(kw.value) for kw in node.keywords}
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Name):  # unquoted word, as DictAction reads it: a string
        return {'None': None, 'True': True, 'False': False}.get(node.id, node.id)
    return ast.literal_eval(node)


def parse_option_value(value: str) -> Any:
    """``dict(...)`` / ``{...}`` as a dict (nested lists, tuples, dicts allowed); anything else as DictAction."""
    text = value.strip()
    if text.startswith(('dict(', '{')):
        try:
            return _literal(ast.parse(text, mode='eval').body)
        except (SyntaxError, ValueError) as err:
            raise ValueError(f'cannot read the dict value {value!r} ({err}); {QUOTING_HINT}') from None
    try:
        return DictAction._parse_iterable(value)
    except (RecursionError, AssertionError) as err:
        raise ValueError(f'cannot read the value {value!r} ({type(err).__name__}); {QUOTING_HINT}') from None


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
                raise ArgumentError(self, f'{key}: {err}') from None
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
        if len(parts) > 1 and node is not None and not isinstance(node, (dict, list, tuple)):
            raise KeyError(f'--cfg-options {key}: {".".join(parts[:-1])} is {node!r}, not a dict')
