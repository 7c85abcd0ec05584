from .checkpoint_source import hub_model_id, is_hub_name, load_hub_state_dict, read_checkpoint
from .vit_checkpoint import (
                             CheckpointMismatchError,
                             Conversion,
                             convert_vit_state_dict,
                             load_pretrained,
                             unwrap_state_dict,
)

__all__ = ['CheckpointMismatchError', 'Conversion', 'convert_vit_state_dict', 'hub_model_id', 'is_hub_name',
           'load_hub_state_dict', 'load_pretrained', 'read_checkpoint', 'unwrap_state_dict']
