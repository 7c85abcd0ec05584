from .vit_checkpoint import (CheckpointMismatchError, Conversion, convert_vit_state_dict, load_pretrained,
                             unwrap_state_dict)

__all__ = ['CheckpointMismatchError', 'Conversion', 'convert_vit_state_dict', 'load_pretrained',
           'unwrap_state_dict']
