"""The ``mmedit_vit::`` config scope: other OpenMMLab projects inherit this project's configs.

    _base_ = ['mmedit_vit::configs/segmenter_edit_b_ade20k.py']

mmengine resolves ``SCOPE::FOLDER/FILE`` only for packages in its fixed ``MODULE2PACKAGE`` table, so the
scope is added to it when ``mmedit_vit`` is imported (before the downstream config is read: a script that
imports mmedit_vit, this project's tools, ``mim train/test mmedit_vit``). The file is then read from
``mmedit_vit/.mim/configs/FOLDER/FILE``, which setup.py links (editable install) or copies (wheel) there.
"""
SCOPE = 'mmedit_vit'
# mmengine finds the package's folder through the entry's distribution (pkg_resources) and, when no
# distribution has that name, through the import system. A module name is found by import: the folder of
# the mmedit_vit that is imported, in every kind of install (an editable install's distribution lives in
# site-packages, away from its source).
LOCATOR = 'mmedit_vit.version'


def register_config_scope() -> None:
    """Adds ``mmedit_vit`` to mmengine's table of packages whose configs ``SCOPE::path`` may name."""
    try:
        from mmengine.config import utils
    except ImportError:  # mmengine absent: nothing reads configs
        return
    utils.MODULE2PACKAGE.setdefault(SCOPE, LOCATOR)

