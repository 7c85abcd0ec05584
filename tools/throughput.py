"""Training throughput on generated data: images/s, peak memory and model FLOP utilisation (MFU).

    python tools/throughput.py --task seg|cls [--variant edit] [--arch base] [--batch N] [--img-size N]
        [--iters 200] [--warmup 20] [--dtype bfloat16|float16|float32] [--with-cp] [--compile]
        [--device cuda] [--peak-tflops T] [--table FILE]

``--task cls`` is the classifier of ``configs/cls_{variant}_{arch}_in1k.py`` (its model, Mixup/CutMix in
the data preprocessor, BCE, LAMB with gradient clipping); ``--task seg`` is the Segmenter of
``configs/segmenter_{variant}_{arch}_ade20k.py``: the same backbone with a stand-in for mmseg's
``SegmenterMaskTransformerHead`` (same layers and widths; tests/test_throughput.py checks its parameter
count against mmseg's head) and SGD, so that it runs where only torch + timm + mmengine are installed.
Each step is mmengine's: ``optim_wrapper.optim_context`` (autocast through ``AmpOptimWrapper(dtype=...)``
as ``tools/train.py --amp-dtype``) and ``update_params``. Data loading is not part of the measurement.

MFU = images/s x 6 x forward multiply-adds per image / peak FLOP/s of the card (forward + backward
= 3 forward passes, 2 FLOPs per multiply-add; the multiply-adds counted as ``tools/get_flops.py``
does). Recomputation under ``--with-cp`` is not credited (model FLOPs, not hardware FLOPs).
"""
from mmedit_vit.analysis.throughput import main

if __name__ == '__main__':
    main()
