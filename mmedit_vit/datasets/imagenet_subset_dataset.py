"""ImageNet-A / ImageNet-R evaluation of a trained model: folders of the subset's synsets, labelled in
the model's own classes, with the scores restricted to the classes both share."""
from typing import List, Sequence, Union

from mmengine.logging import print_log
from mmengine.registry import DATASETS

from .image_folder import ImageFolderDataset, resolve_classes
from .imagenet_subsets import SUBSET_INDEX_FILES, named_synsets, subset_label_map


@DATASETS.register_module()
class ImageNetSubsetDataset(ImageFolderDataset):
    """ImageNet-A or ImageNet-R (``<data_root>/<synset>/<image>``) labelled in a trained model's classes.

    Args:
        subset: 'imagenet-a' or 'imagenet-r'.
        classes: the model's class order, as in the config's val dataset: 'imagenet-1k' (default), a
            class-list file, a folder (e.g. the ImageNet-100 train split) or a list of synsets. Turning a
            val dataset into this one therefore needs only ``type``, ``subset`` and ``data_root``.

    ``gt_label`` is the model's index of the image's class; ``metainfo['label_subset']`` lists the
    model indices ``TopKAccuracy`` restricts the scores to.
    """

    def __init__(self, subset: str = 'imagenet-a', classes: Union[str, Sequence[str]] = 'imagenet-1k',
                 data_prefix: Union[str, dict] = '', **kwargs) -> None:
        if subset not in SUBSET_INDEX_FILES:
            raise ValueError(f'subset={subset!r} is not supported; choose one of {sorted(SUBSET_INDEX_FILES)}')
        self.subset = subset
        self._model_classes_arg = classes
        super().__init__(classes=subset, data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()  # labels index the subset's own synset list here
        subset_synsets = named_synsets(self.subset)
        model_classes = resolve_classes(self._model_classes_arg, self.data_root, self.image_root)
        mapping, label_subset = subset_label_map(self.subset, model_classes)
        kept = [dict(item, gt_label=mapping[subset_synsets[item['gt_label']]]) for item in data_list
                if subset_synsets[item['gt_label']] in mapping]
        if len(kept) < len(data_list):
            print_log(f'{self.subset}: {len(data_list) - len(kept)} of {len(data_list)} images belong to classes '
                      f'the model was not trained on; scored on the {len(label_subset)} shared classes',
                      logger='current')
        if not kept:
            raise ValueError(f'{self.subset}: no image of a class the model knows under {self.image_root}')
        self._metainfo['classes'] = tuple(model_classes)
        self._metainfo['label_subset'] = label_subset
        return kept
