"""Test-wide settings: offline and quiet. Dequantised models stay in the user cache so later runs load fast."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TINKERLAB_QUIET", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
