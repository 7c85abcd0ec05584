"""A tool's console output is its own: known third-party deprecation noise is filtered at import, the
project's warnings stay, ``--debug`` / ``--verbose`` / Python's ``-W`` show everything."""
import os
import warnings

import pytest

from conftest import ROOT
from mmedit_vit.utils.warning_filters import filter_third_party_noise, is_tool_process
from seg_helpers import run_tool

PKG_RESOURCES = 'pkg_resources is deprecated as an API. See https://setuptools.pypa.io/en/latest/pkg_resources.html.'


def warning_lines(text: str) -> list:
    return [line for line in text.splitlines() if 'Warning' in line or 'warnings.warn' in line]


@pytest.mark.parametrize('args', [['tools/train.py', '--help'], ['tools/reproduce.py', 'cb-table6', '--dry-run']])
def test_tools_print_no_warning_lines(args):
    done = run_tool(args, env={'PYTHONWARNINGS': ''}, subprocess=True)  # what a new interpreter's imports print
    assert done.returncode == 0, done.stderr[-2000:]
    assert warning_lines(done.stdout + done.stderr) == []
    assert done.stdout.strip()  # the tool's own output is there


def test_filters_drop_third_party_noise_and_keep_project_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert filter_third_party_noise(['tools/train.py'])
        warnings.warn(PKG_RESOURCES, UserWarning)
        warnings.warn('`torch.jit.script` is deprecated. Please switch to `torch.compile`', DeprecationWarning)
        warnings.warn('pretrained is deprecated, please use "init_cfg" instead', UserWarning)  # the project's
    assert [str(w.message) for w in caught] == ['pretrained is deprecated, please use "init_cfg" instead']


@pytest.mark.parametrize('flag', ['--debug', '--verbose'])
def test_debug_and_verbose_show_everything(flag):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert not filter_third_party_noise(['tools/train.py', 'x.py', flag])
        warnings.warn(PKG_RESOURCES, UserWarning)
    assert len(caught) == 1


def test_only_the_projects_tools_are_quieted():
    assert is_tool_process([os.path.join(ROOT, 'tools', 'train.py')])
    assert not is_tool_process([os.path.join(ROOT, 'tests', 'train.py')])
    assert not is_tool_process(['/elsewhere/tools/train.py']) and not is_tool_process(['-c'])
