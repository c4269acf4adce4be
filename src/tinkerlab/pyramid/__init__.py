"""tinkerlab.pyramid: multi-scale GANs learned from a single sample (SinGAN, Shaham, Dekel and Michaeli, ICCV 2019).

- `config`: frozen configs (`PyramidConfig`, `ModelConfig`, `TrainConfig`, `SinGANConfig`, `preset_config`);
- `trainer`: one training loop over the scales of a plan (`PyramidTrainer`, `ScaleSpec`, the WGAN-GP objective);
- `scales`: pyramid sizes and resizing; `models`: the per-scale generator and discriminator;
- `masks`: masked training on known pixels only (`MaskedObjective`, dilation, gradual weights);
- `sampling`: samples of any size from any start scale; `metrics`: offline metrics (patch SWD, diversity);
- `singan`: SinGAN's image plan: `train`, `load`, `TrainedModel.sample` (`tinkerlab pyramid train|sample`).

IDC is a plan and an inference mode on this engine; BlendGAN and Catch-A-Waveform will be too.
"""

from tinkerlab.core.exports import lazy_exports

_EXPORTS = {
    "PyramidConfig": "tinkerlab.pyramid.config",
    "ModelConfig": "tinkerlab.pyramid.config",
    "TrainConfig": "tinkerlab.pyramid.config",
    "SinGANConfig": "tinkerlab.pyramid.config",
    "demo_singan_config": "tinkerlab.pyramid.config",
    "preset_config": "tinkerlab.pyramid.config",
    "PyramidTrainer": "tinkerlab.pyramid.trainer",
    "ScaleSpec": "tinkerlab.pyramid.trainer",
    "WassersteinObjective": "tinkerlab.pyramid.trainer",
    "MaskedObjective": "tinkerlab.pyramid.masks",
    "train": "tinkerlab.pyramid.singan",
    "load": "tinkerlab.pyramid.singan",
    "TrainedModel": "tinkerlab.pyramid.singan",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
