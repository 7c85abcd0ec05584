"""ImageNet class lists shipped with timm, and the ImageNet-A / ImageNet-R label mapping.

ImageNet-A and ImageNet-R cover 200 of the 1000 ImageNet classes. A 1000-class model is scored on
them by restricting its scores to those 200 classes (Hendrycks et al.); timm ships both synset lists
and their 1k indices. For a model trained on another class list (e.g. ImageNet-100), the classes it
shares with the subset are scored and images of the other classes are left out.
"""
import pkgutil
from typing import Dict, List, Sequence, Tuple

NAMED_CLASS_LISTS: Dict[str, str] = {
    'imagenet-1k': 'imagenet_synsets.txt',
    'imagenet-a': 'imagenet_a_synsets.txt',
    'imagenet-r': 'imagenet_r_synsets.txt',
}
SUBSET_INDEX_FILES = {'imagenet-a': 'imagenet_a_indices.txt', 'imagenet-r': 'imagenet_r_indices.txt'}


def _timm_info_lines(filename: str) -> List[str]:
    data = pkgutil.get_data('timm.data', f'_info/{filename}')
    if data is None:
        raise FileNotFoundError(f'timm does not ship {filename}')
    return [line.strip() for line in data.decode('utf-8').splitlines() if line.strip()]


def named_synsets(name: str) -> List[str]:
    """Synset ids of a named class list in its standard order ('imagenet-1k', 'imagenet-a', 'imagenet-r')."""
    if name not in NAMED_CLASS_LISTS:
        raise ValueError(f'class list {name!r} is not known; choose one of {sorted(NAMED_CLASS_LISTS)}')
    return _timm_info_lines(NAMED_CLASS_LISTS[name])


def subset_indices_in_1k(subset: str) -> List[int]:
    """timm's ImageNet-1k indices of the 200 ImageNet-A or ImageNet-R classes, in the subset's order."""
    if subset not in SUBSET_INDEX_FILES:
        raise ValueError(f'subset={subset!r} is not supported; choose one of {sorted(SUBSET_INDEX_FILES)}')
    return [int(v) for v in _timm_info_lines(SUBSET_INDEX_FILES[subset])]


def subset_label_map(subset: str, model_classes: Sequence[str]) -> Tuple[Dict[str, int], List[int]]:
    """Maps the subset's synsets to the model's label indices.

    Returns ``(synset -> model index)`` for the subset classes the model knows, and the sorted model
    indices the scores are restricted to.
    """
    position = {name: i for i, name in enumerate(model_classes)}
    mapping = {s: position[s] for s in named_synsets(subset) if s in position}
    if not mapping:
        raise ValueError(f'none of the {subset} classes is among the model classes '
                         f'({len(model_classes)} classes, e.g. {list(model_classes)[:3]}): they must be synset ids')
    return mapping, sorted(mapping.values())
