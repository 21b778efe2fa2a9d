"""Test-wide settings."""

import torch

# Small networks run fastest on one thread, and CI's 2 cores are shared by 2 pytest workers: more
# threads only oversubscribe the cores (measured: 40x slower policy forward passes under load).
torch.set_num_threads(1)
