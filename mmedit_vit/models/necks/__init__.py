"""Necks turning a single-resolution ViT into multi-scale features."""
