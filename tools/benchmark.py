"""Training-step cost of every backbone against timm's VisionTransformer of the same size.

    python tools/benchmark.py [--sizes tiny small base] [--batch 8] [--reps 7] [--device cpu|cuda]
                              [--dtype float32|bfloat16] [--threads N] [--block-study] [--out DIR]
                              [--cp-study [--cp-img-size 512] [--cp-batch 2]]

One forward + backward pass at 224x224 per measurement. EDIT is measured both ways it is used: for
classification its decoder refines [CLS] after every block (``out_cls_token=True``, the loss reads the
map and the decoder's [CLS]); for dense prediction nothing reads [CLS], so the decoder does not run.
Models are run interleaved (one of each per repetition, in rotating order); times are medians over
repetitions and each ratio is the median of the per-repetition ratios, so both sides of a ratio are
measured under the same conditions.
Memory: peak allocated memory on CUDA; on the CPU, the bytes autograd saves for the backward pass
(activations), which is what grows with the model's token count and width.
``--cp-study`` measures activation checkpointing (``with_cp``) of the dense backbones (blocks 3, 5, 7,
11 out, as UperNet reads them) at a segmentation crop: saved-activation memory (on CUDA also the
peak) and time with and without it.
"""
from mmedit_vit.analysis.benchmark import main

if __name__ == '__main__':
    main()
