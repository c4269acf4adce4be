"""tinkerlab.pyramid: multi-scale GANs learned from a single sample (SinGAN, Shaham, Dekel and Michaeli, ICCV 2019).

- `config`: frozen configs (`PyramidConfig`, `ModelConfig`, `TrainConfig`, `SinGANConfig`, `preset_config`);
- `trainer`: one training loop over the scales of a plan (`PyramidTrainer`, `ScaleSpec`, the WGAN-GP objective),
  on K signals at once, with per-scale conditioning maps, any spatial rank; the result is a `Pyramid` of
  `ScaleRecord`s;
- `scales`: pyramid sizes and resizing (images, 1-D signals, masks, conditioning maps); `models`: the per-scale
  generator and discriminator (1-D/2-D/3-D, optionally conditioned by concatenation or spatial normalisation);
- `masks`: masked training on known positions only (`MaskedObjective`, masked statistics, erosion, dilation,
  blur, gradual weights), 1-D and 2-D;
- `sampling`: samples of any size from any start scale (`random_tensors` for any rank, `random_samples` for
  images); `metrics`: offline metrics (patch SWD, diversity);
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
    "Pyramid": "tinkerlab.pyramid.trainer",
    "PyramidTrainer": "tinkerlab.pyramid.trainer",
    "ScaleRecord": "tinkerlab.pyramid.trainer",
    "ShapeMismatchError": "tinkerlab.pyramid.trainer",
    "ScaleSpec": "tinkerlab.pyramid.trainer",
    "WassersteinObjective": "tinkerlab.pyramid.trainer",
    "MaskedObjective": "tinkerlab.pyramid.masks",
    "train": "tinkerlab.pyramid.singan",
    "load": "tinkerlab.pyramid.singan",
    "TrainedModel": "tinkerlab.pyramid.singan",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
