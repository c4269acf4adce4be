"""tinkerlab.blend: BlendGAN, one multi-scale GAN that learns the internal patch distributions of several images at
once, conditioned on a spatially varying image-identity map (a design derived from SinGAN, Shaham, Dekel and
Michaeli, ICCV 2019; no official code exists).

On the pyramid engine:

- `training`: `train(images, config, out=RUN)`, `load(RUN)`, the plan (`BlendPlan`) and the conditioned networks;
- `model`: `BlendModel.sample(k)`, `.morph(a, b)`, `.meld(a, b)`, `.fuse(structure, texture)`, `.generate(map)`;
- `maps`: identity maps (one-hot, mixture, ramp, mask, per-scale, any Python callable) and their checks;
- `inputs`: the K images brought to one aspect ratio and pyramid; `config`: `BlendConfig`, `demo_blend_config`;
- `metrics`: the checks (nearest image, reconstruction, morph trend, meld locality, fusion, parameter count);
- `checks`: all checks on a trained model, with pictures (`python -m tinkerlab.blend.checks`).
"""

from tinkerlab.core.exports import lazy_exports

_EXPORTS = {
    "train": "tinkerlab.blend.training",
    "load": "tinkerlab.blend.training",
    "BlendModel": "tinkerlab.blend.model",
    "BlendConfig": "tinkerlab.blend.config",
    "demo_blend_config": "tinkerlab.blend.config",
    "one_hot": "tinkerlab.blend.maps",
    "mixture": "tinkerlab.blend.maps",
    "Ramp": "tinkerlab.blend.maps",
    "MaskMap": "tinkerlab.blend.maps",
    "PerScale": "tinkerlab.blend.maps",
    "FunctionMap": "tinkerlab.blend.maps",
    "fusion_map": "tinkerlab.blend.maps",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
