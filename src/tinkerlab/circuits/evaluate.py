"""Circuit evaluation by per-position mean ablation: accuracy, faithfulness, random baseline, completeness.

Part of `tinkerlab.circuits` (Prakash et al., "Fine-Tuning Enhances Existing Mechanisms", ICLR 2024, section 3).
"""

from __future__ import annotations

import torch

from tinkerlab.circuits.data import EntityBatch


@torch.inference_mode()
def accuracy(model, batch: EntityBatch, *, batch_size: int = 50) -> float:
    """Fraction of prompts whose argmax next token at the last position is the correct object."""
    correct = 0
    for start in range(0, len(batch), batch_size):
        ids = batch.input_ids[start : start + batch_size]
        logits = model(ids, logits_to_keep=1).logits[:, -1]  # [b, V]
        correct += int((logits.argmax(-1) == batch.answer_ids[start : start + batch_size]).sum())
    return correct / len(batch)
