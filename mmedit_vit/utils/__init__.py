from .checkpoint_io import load_checkpoint_file, register_mmengine_safe_globals

__all__ = ['load_checkpoint_file', 'register_mmengine_safe_globals']
