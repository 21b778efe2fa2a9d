"""Test-wide settings."""

import os

import torch
from hypothesis import settings

# CI runs the property tests on a fixed set of examples (reproducible); locally they explore anew.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Small networks run fastest on one thread, and CI's 2 cores are shared by 2 pytest workers: more
# threads only oversubscribe the cores (measured: 40x slower policy forward passes under load).
torch.set_num_threads(1)
