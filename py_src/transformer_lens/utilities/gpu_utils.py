"""GPU memory report."""

from __future__ import annotations

import torch

__all__ = ["print_gpu_mem"]


def print_gpu_mem(step_name: str = "") -> None:
    """Print the CUDA memory torch has allocated, in GiB, after ``step_name``."""
    allocated = torch.cuda.memory_allocated() if torch.cuda.is_available() else 0
    print(f"{step_name} ~ {allocated / 2**30:.2f} GiB allocated on GPU.")
