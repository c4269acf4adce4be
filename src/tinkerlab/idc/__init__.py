"""tinkerlab.idc: IDC, internal diverse completion (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280).

Diverse fills of a hole, learned only from the visible part of one image, on the pyramid engine:

- `completion`: `train(image, mask, config, out=RUN)`, `load(RUN)`, `complete(...)`, `IDCModel.complete(n, diversity)`;
- `config`: `IDCConfig`, `DIPConfig`, `demo_idc_config`;
- `dip`: the Deep-Image-Prior pre-fill of the coarse scales; `holes`: box masks and mask arguments;
- `quality`: the quality check against trivial fills (`python -m tinkerlab.idc.quality`).
"""

from tinkerlab.core.exports import lazy_exports

_EXPORTS = {
    "train": "tinkerlab.idc.completion",
    "load": "tinkerlab.idc.completion",
    "complete": "tinkerlab.idc.completion",
    "IDCModel": "tinkerlab.idc.completion",
    "IDCConfig": "tinkerlab.idc.config",
    "DIPConfig": "tinkerlab.idc.config",
    "demo_idc_config": "tinkerlab.idc.config",
    "box_mask": "tinkerlab.idc.holes",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
