"""tinkerlab.asapnet: ASAPNet, spatially-adaptive pixelwise networks for fast image translation (Rott Shaham,
Gharbi, Zhang, Shechtman and Michaeli, CVPR 2021), with the pix2pixHD and SPADE generators as baselines.

- `generator`: `ASAPNetGenerator` (low-resolution stream predicting one MLP per tile, per-pixel MLPs on labels and
  sinusoidal coordinates); `fast`: `fast_forward`, the optimised inference path;
- `baselines`: `Pix2PixHDGenerator`, `SPADEGenerator`, `build_generator`;
- `data`: offline paired data (`facade_pairs`, `photo_pairs`, `clipart_pairs`) and `folder_pairs` for CMP Facades
  and Cityscapes folders;
- `training`: `train(data, config, out=RUN)`, `load(RUN)`, the multiscale PatchGAN and the losses;
- `quality`: ASAPNet against its ablations and the baselines (`python -m tinkerlab.asapnet.quality`);
- `speed`: inference timings against the baselines (`benchmarks/asapnet_speed.py`, `tinkerlab asapnet bench`);
- `cli`: `tinkerlab asapnet data | train | translate | bench`; `demo`: the gallery section.
"""

from tinkerlab.core.exports import lazy_exports

_EXPORTS = {
    "ASAPNetGenerator": "tinkerlab.asapnet.generator",
    "fast_forward": "tinkerlab.asapnet.fast",
    "Pix2PixHDGenerator": "tinkerlab.asapnet.baselines",
    "SPADEGenerator": "tinkerlab.asapnet.baselines",
    "build_generator": "tinkerlab.asapnet.baselines",
    "ASAPNetConfig": "tinkerlab.asapnet.config",
    "Pix2PixHDConfig": "tinkerlab.asapnet.config",
    "SPADEConfig": "tinkerlab.asapnet.config",
    "TrainConfig": "tinkerlab.asapnet.config",
    "RunConfig": "tinkerlab.asapnet.config",
    "make_run_config": "tinkerlab.asapnet.config",
    "facade_pairs": "tinkerlab.asapnet.data",
    "photo_pairs": "tinkerlab.asapnet.data",
    "clipart_pairs": "tinkerlab.asapnet.data",
    "folder_pairs": "tinkerlab.asapnet.data",
    "train": "tinkerlab.asapnet.training",
    "load": "tinkerlab.asapnet.training",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
