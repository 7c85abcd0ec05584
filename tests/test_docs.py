"""README.md and docs/: every relative link and project path exists, every quoted tool command parses.

A command line ``python tools/X.py ARGS`` quoted in a code block or inline code is handed to that tool's own
argument parser (the tool runs as ``__main__`` until its parser returns), so a renamed or removed flag fails here.
"""
import argparse
import glob
import itertools
import os.path as osp
import re
import shlex
import sys
from typing import Iterator, List, Tuple

import pytest

from conftest import ROOT

PAGES = sorted([osp.join(ROOT, 'README.md')] + glob.glob(osp.join(ROOT, 'docs', '*.md')))
PROJECT_DIRS = ('configs', 'tools', 'mmedit_vit', 'tests', 'docs', 'demo', 'requirements')
LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')
PATH = re.compile(r'(?<![\w./-])((?:%s)/[\w.{},/*<>:-]*)' % '|'.join(PROJECT_DIRS))
COMMAND = re.compile(r'python3? (tools/\w+\.py)([^`;|&#\n]*)')
FENCE = re.compile(r'```[^\n]*\n(.*?)```', re.S)
INLINE = re.compile(r'`([^`\n]+)`')


def rel(page: str) -> str:
    return osp.relpath(page, ROOT)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return text.replace(' ', '-')


def anchors(path: str) -> set:
    with open(path) as f:
        return {slug(line.lstrip('#')) for line in f if line.startswith('#')}


def expand(path: str) -> List[str]:
    """Shell brace expansion of ``{a,b}`` groups (a group without a comma is a placeholder: no paths)."""
    groups = re.findall(r'\{([^{}]*)\}', path)
    if any(',' not in g for g in groups):
        return []
    parts = re.split(r'\{[^{}]*\}', path)
    out = []
    for choice in itertools.product(*[g.split(',') for g in groups]):
        out.append(''.join(p + c for p, c in zip(parts, list(choice) + [''])))
    return out


def project_paths(text: str) -> Iterator[str]:
    for raw in PATH.findall(text):
        path = raw.split('::')[0].rstrip('.,:')
        if any(c in path for c in '<>*') or '.mim' in path:
            continue
        yield from expand(path)


@pytest.mark.parametrize('page', PAGES, ids=rel)
def test_relative_links_exist(page):
    text = open(page).read()
    missing = []
    for target in LINK.findall(text):
        if re.match(r'[a-z]+://|mailto:', target):
            continue
        file, _, anchor = target.partition('#')
        path = osp.normpath(osp.join(osp.dirname(page), file)) if file else page
        if not osp.exists(path):
            missing.append(target)
        elif anchor and anchor not in anchors(path):
            missing.append(f'{target} (no such heading)')
    assert not missing, f'{rel(page)} links to what does not exist: {missing}'


@pytest.mark.parametrize('page', PAGES, ids=rel)
def test_project_paths_exist(page):
    missing = sorted({p for p in project_paths(open(page).read()) if not osp.exists(osp.join(ROOT, p))})
    assert not missing, f'{rel(page)} names paths that do not exist: {missing}'


def quoted_commands() -> List[Tuple[str, str, List[str]]]:
    """(page, tool, arguments) of every ``python tools/*.py`` line in code blocks and inline code."""
    out = []
    for page in PAGES:
        text = open(page).read()
        blocks = [b.replace('\\\n', ' ') for b in FENCE.findall(text)]
        spans = INLINE.findall(FENCE.sub('', text))
        for chunk in blocks + spans:
            for tool, args in COMMAND.findall(chunk):
                args = re.sub(r'\$\w+', '0', args)  # a shell loop's counter: `for s in 0 1 2; do ... $s`
                out.append((rel(page), tool, shlex.split(args)))
    return out


class Parsed(BaseException):
    """Raised by the patched ``parse_args`` once the tool's parser accepted the command line (a BaseException:
    the tools turn every Exception into an error message and exit status 1)."""


def parse_with_tool(tool: str, args: List[str], monkeypatch) -> argparse.Namespace:
    original = argparse.ArgumentParser.parse_args

    def parse_and_stop(self, argv=None, namespace=None):
        raise Parsed(original(self, argv, namespace))
    monkeypatch.setattr(argparse.ArgumentParser, 'parse_args', parse_and_stop)
    monkeypatch.setattr(sys, 'argv', [osp.join(ROOT, tool)] + args)
    import runpy
    try:
        runpy.run_path(osp.join(ROOT, tool), run_name='__main__')
    except Parsed as done:
        return done.args[0]
    except SystemExit as err:
        raise AssertionError(f'{tool} {shlex.join(args)}: its parser refused the command line ({err})') from None
    raise AssertionError(f'{tool} never parsed its command line')


COMMANDS = quoted_commands()


def test_the_pages_quote_the_main_tools():
    tools = {tool for _, tool, _ in COMMANDS}
    assert {'tools/train.py', 'tools/test.py', 'tools/reproduce.py', 'tools/get_flops.py', 'tools/analyze.py',
            'tools/model_index.py', 'tools/demo.py', 'tools/benchmark.py'} <= tools


@pytest.mark.parametrize('page,tool,args', COMMANDS, ids=[f'{p}:{t} {" ".join(a)[:60]}' for p, t, a in COMMANDS])
def test_quoted_command_parses(page, tool, args, monkeypatch):
    assert osp.isfile(osp.join(ROOT, tool)), f'{page} quotes {tool}, which does not exist'
    parse_with_tool(tool, args, monkeypatch)


def test_a_renamed_flag_fails(monkeypatch):
    with pytest.raises(AssertionError, match='refused'):
        parse_with_tool('tools/train.py', ['configs/segmenter_edit_b_ade20k.py', '--amp-type', 'bfloat16'],
                        monkeypatch)


def test_readme_is_a_front_page():
    with open(osp.join(ROOT, 'README.md')) as f:
        lines = f.read().splitlines()
    assert len(lines) <= 150
    assert lines[3:5] == ['bash tools/run_demo.sh    # main job: ADE20K-format data generated, Segmenter-T (EDIT) '
                          'trained on CPU, single- and multi-scale mIoU',
                          'bash tools/run_tests.sh   # the whole test suite (pytest), same set-up']
