"""Test-wide settings: offline, quiet, and a private cache directory per session."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TINKERLAB_QUIET", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
