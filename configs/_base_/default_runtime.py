# mmseg's runtime (logging, visualizer, TTA model) with this project's modules registered.
_base_ = ['mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['mmedit_vit'], allow_failed_imports=False)
