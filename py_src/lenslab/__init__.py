"""LensLab's Jupyter layer: widgets, displays and the sidebar comm for transformer_lens models."""
