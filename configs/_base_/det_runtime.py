# mmdet's runtime (default_scope 'mmdet', hooks, visualizer) with this project's modules registered.
_base_ = 'mmdet::_base_/default_runtime.py'
custom_imports = dict(imports=['mmedit_vit'], allow_failed_imports=False)
