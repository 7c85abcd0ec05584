"""Reference numbers from the papers' tables that the project's models are checked against."""
# EDIT paper, Table 1: parameters (M) and FLOPs (G multiply-adds) at 224x224 with 1000 classes
EDIT_TABLE1 = {'tiny': (5.82, 1.42), 'small': (22.30, 5.28), 'base': (87.76, 20.27)}

# The tables tools/reproduce.py rebuilds: {(row, column): number as printed in the paper}.
# EDIT paper, Table 3 (a) (ImageNet-1k top-1, 224x224) and Table 4 (transfer from ImageNet-1k, Base).
EDIT_TABLE3_IN1K = {'DeiT3-T': 73.6, 'DeiT3-S': 81.3, 'DeiT3-B': 83.6, 'EDIT-T': 75.5, 'EDIT-S': 81.8, 'EDIT-B': 83.7}
# EDIT paper, Table 3 (b): ImageNet-21k pretraining, ImageNet-1k top-1 after fine-tuning at 224 and at 384
EDIT_TABLE3_IN21K = {'DeiT3-S': (83.1, 84.6), 'DeiT3-B': (85.1, 86.1), 'EDIT-S': (83.5, 84.8), 'EDIT-B': (85.4, 86.3)}
EDIT_TABLE4 = {  # the paper's header repeats "CIFAR-100": the first column is CIFAR-10
    'DeiT3-B': {'CIFAR-10': 99.3, 'CIFAR-100': 92.5, 'Flowers-102': 98.6, 'DTD': 81.5, 'Caltech-256': 94.1},
    'EDIT-B': {'CIFAR-10': 99.3, 'CIFAR-100': 93.0, 'Flowers-102': 98.9, 'DTD': 81.4, 'Caltech-256': 94.2}}
# EDIT paper, Table 5: Segmenter mask transformer on ADE20K, mIoU (single-scale, multi-scale)
EDIT_TABLE5 = {'Seg-S DeiT3': (45.2, 46.7), 'Seg-B DeiT3': (49.0, 50.8), 'Seg-S EDIT': (47.2, 47.8),
               'Seg-B EDIT': (49.9, 51.5)}
# CB paper, Table 6: UperNet on ADE20K, mIoU after 40k and 160k iterations
CB_TABLE6 = {'ViT-Ti': (35.5, 38.9), 'ViT-Ti + CB': (36.5, 39.0), 'ViT-Ti + CB_s': (36.1, 39.8),
             'ViT-S': (41.5, 43.3), 'ViT-S + CB': (41.9, 43.9), 'ViT-S + CB_s': (41.6, 43.1),
             'ViT-B': (44.3, 45.0), 'ViT-B + CB': (45.1, 45.6), 'ViT-B + CB_s': (44.6, 45.3)}
# CB paper, Table 7: Mask R-CNN (ViT-Ti + FPN, 1x) on COCO: AP^b, AP^b_50, AP^b_75, AP^m, AP^m_50, AP^m_75
CB_TABLE7 = {'ViT-Ti': (34.8, 57.4, 36.5, 32.5, 54.3, 33.7), 'ViT-Ti + CB': (35.1, 57.9, 36.8, 32.8, 54.4, 34.2)}
# CB paper, Table 8: ViT-S on ImageNet, top-1 under centre occlusion, on ImageNet-A, under FGSM
CB_TABLE8 = {'ViT-S': (73.0, 19.0, 27.2), 'ViT-S + CB_s': (73.7, 19.1, 27.8), 'ViT-S + CB': (74.0, 21.2, 32.3)}
# CB paper, Table 9: UperNet ViT-S on ADE20K under input perturbations, mIoU (ViT-S, CB); noise: mean of 5 runs
CB_TABLE9 = {'Nothing': (43.3, 43.9), 'Shot Noise': (40.22, 41.09), 'Gaussian Noise (sigma=5)': (42.55, 43.44),
             'Gaussian Noise (sigma=10)': (40.22, 41.07), 'Gaussian Blur (sigma=1)': (42.29, 43.26),
             'Gaussian Blur (sigma=2)': (40.83, 41.44)}
