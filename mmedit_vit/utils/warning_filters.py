"""The tools' console output is their own: known third-party import noise is filtered before it is printed.

setuptools warns that ``pkg_resources`` is deprecated every time mmengine or mim (re)imports it (dozens of
lines per ``tools/reproduce.py`` call); importing mmcv / mmseg / mmdet warns about torch.jit and mmcv's own
moved classes; mmseg warns about its own deprecated calls while it builds its heads. None of it concerns the
user's run. The filters are installed when ``mmedit_vit`` is imported by one of this project's tools
(``tools/*.py``, also as ``mim`` runs them from ``mmedit_vit/.mim``), before those imports; this project's
warnings and every other warning stay. ``--verbose`` / ``--debug`` on the command line, or Python's own
``-W`` / ``PYTHONWARNINGS``, show everything.
"""
import os.path as osp
import sys
import warnings
from typing import Optional, Sequence

# (category, message regex, module regex) of warnings from third-party imports that say nothing about a run
THIRD_PARTY_NOISE = (
    (UserWarning, r'pkg_resources is deprecated as an API', ''),  # setuptools, via mmengine and mim
    (DeprecationWarning, r'pkg_resources is deprecated as an API', ''),
    (DeprecationWarning, r'Deprecated call to `pkg_resources\.declare_namespace', ''),
    (DeprecationWarning, r'`torch\.jit\.(script|interface)` is deprecated', ''),  # importing mmcv / mmseg / mmdet
    (ImportWarning, r'``MultiScaleDeformableAttention`` has been moved', ''),  # mmcv, imported by mmdet
    # mmseg calling its own deprecated paths while it builds the configs' heads and loads ADE20K labels
    (UserWarning, r'``build_loss`` would be deprecated soon', ''),
    (UserWarning, r'`reduce_zero_label` will be deprecated', ''),
)
SHOW_ALL_FLAGS = ('--verbose', '--debug')
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL_DIRS = (osp.join(osp.dirname(PACKAGE_DIR), 'tools'), osp.join(PACKAGE_DIR, '.mim', 'tools'))


def is_tool_process(argv: Optional[Sequence[str]] = None) -> bool:
    """Whether the running script is one of this project's tools (in the checkout or the installed package)."""
    argv = sys.argv if argv is None else argv
    if not argv or not argv[0] or not argv[0].endswith('.py'):
        return False
    here = osp.realpath(osp.dirname(osp.abspath(argv[0])))
    return any(osp.isdir(d) and osp.realpath(d) == here for d in TOOL_DIRS)


def filter_third_party_noise(argv: Optional[Sequence[str]] = None) -> bool:
    """Ignores ``THIRD_PARTY_NOISE`` in a tool's process unless the command line asks for everything.

    Returns whether the filters were installed."""
    argv = sys.argv if argv is None else argv
    if sys.warnoptions or any(flag in argv for flag in SHOW_ALL_FLAGS):
        return False
    for category, message, module in THIRD_PARTY_NOISE:
        warnings.filterwarnings('ignore', message=message, category=category, module=module)
    return True


def quiet_tool_warnings() -> None:
    """``filter_third_party_noise`` when a tool of this project is running (library use is left alone)."""
    if is_tool_process():
        filter_third_party_noise()
