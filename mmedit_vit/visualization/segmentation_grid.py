"""image | ground truth | prediction rows in one figure, with column titles and a legend of the classes shown."""
from typing import List, Sequence

import numpy as np

IGNORE_INDEX = 255
COLUMNS = ('image', 'ground truth', 'prediction')


def overlay(image: np.ndarray, label_map: np.ndarray, palette: Sequence[Sequence[int]],
            alpha: float = 0.6) -> np.ndarray:
    """``image`` (H, W, 3 RGB uint8) with each labelled pixel blended towards its class colour; ignored pixels kept."""
    if image.shape[:2] != label_map.shape:
        raise ValueError(f'image {image.shape[:2]} and label map {label_map.shape} differ in size')
    colours = np.asarray(palette, dtype=np.float32)
    out = image.astype(np.float32)
    labelled = label_map != IGNORE_INDEX
    if labelled.any() and label_map[labelled].max() >= len(colours):
        raise ValueError(f'label {int(label_map[labelled].max())} has no colour in a palette of {len(colours)}')
    out[labelled] = (1 - alpha) * out[labelled] + alpha * colours[label_map[labelled]]
    return out.round().clip(0, 255).astype(np.uint8)


def draw_segmentation_grid(images: Sequence[np.ndarray], ground_truths: Sequence[np.ndarray],
                           predictions: Sequence[np.ndarray], class_names: Sequence[str],
                           palette: Sequence[Sequence[int]], out_file: str) -> List[str]:
    """Writes one row per image (image | ground truth | prediction) to ``out_file`` (PNG).

    Label maps hold class indices (``IGNORE_INDEX`` for unlabelled pixels); ``palette`` holds RGB colours.
    The legend lists, with their colours, the classes present in any ground truth or prediction;
    their names are returned in class order.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if not (len(images) == len(ground_truths) == len(predictions)) or not images:
        raise ValueError(f'need as many ground truths and predictions as images, at least one; got '
                         f'{len(images)} images, {len(ground_truths)} ground truths, {len(predictions)} predictions')
    if len(palette) < len(class_names):
        raise ValueError(f'{len(class_names)} classes but {len(palette)} palette colours')
    present = sorted({int(c) for label in (*ground_truths, *predictions) for c in np.unique(label)} - {IGNORE_INDEX})
    rows, columns = len(images), min(len(present), 5) or 1
    height, width = images[0].shape[:2]
    legend_height = 0.3 + 0.25 * -(-len(present) // columns)  # inches: one line per row of the legend
    figure_height = rows * 2.6 + 0.4 + legend_height
    fig, axes = plt.subplots(rows, 3, figsize=(3 * 2.6 * width / height, figure_height), squeeze=False)
    for row, (image, gt, pred) in enumerate(zip(images, ground_truths, predictions)):
        for col, picture in enumerate((image, overlay(image, gt, palette), overlay(image, pred, palette))):
            axes[row][col].imshow(picture)
            axes[row][col].set_axis_off()
            if row == 0:
                axes[row][col].set_title(COLUMNS[col])
    handles = [Patch(facecolor=np.asarray(palette[c]) / 255.0, edgecolor='black', label=class_names[c])
               for c in present]
    fig.legend(handles=handles, loc='lower center', ncol=columns, frameon=False)
    fig.tight_layout(rect=(0, legend_height / figure_height, 1, 1))
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return [class_names[c] for c in present]
