"""tinkerlab.waveform: Catch-A-Waveform (Greshler, Rott Shaham and Michaeli, NeurIPS 2021), a GAN learned from one
short audio clip, on the pyramid engine.

- `config`: `WaveformConfig`, the sample-rate list, `demo_waveform_config`;
- `signals`: clips, the sample-rate pyramid, holes, input checks; `sounds`: offline training material;
- `models`: the 1-D dilated, gated generator and the (masked) discriminator; `losses`: MSS loss, the objective;
- `training`: `train`, `load`, `train_inpainting`, `denoise`; `modes`: `WaveformModel` (generate, vary,
  reconstruct, inpaint, extend);
- `metrics`: SNR, LSD, spectral and LTAS distances, the copy test, NDB; `baselines`: polyphase and spectral
  bandwidth extension, zero fill and cross-fade inpainting.
"""

from tinkerlab.core.exports import lazy_exports

_EXPORTS = {
    "WaveformConfig": "tinkerlab.waveform.config",
    "demo_waveform_config": "tinkerlab.waveform.config",
    "SAMPLE_RATES": "tinkerlab.waveform.config",
    "train": "tinkerlab.waveform.training",
    "load": "tinkerlab.waveform.training",
    "train_inpainting": "tinkerlab.waveform.training",
    "denoise": "tinkerlab.waveform.training",
    "WaveformModel": "tinkerlab.waveform.modes",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
