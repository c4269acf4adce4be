"""SketchAgent (Vinker et al., "SketchAgent: Language-Driven Sequential Sketch Generation", CVPR 2025).

A chat model draws stroke by stroke through a string language on a 50x50 grid; the strings become Bézier curves,
SVG and pixels that the model can look at again.

- `tinkerlab.sketch.language`: `parse_sketch`, `Sketch`, `Stroke` (the language).
- `tinkerlab.sketch.geometry`: `Grid`, `fit_stroke`, `fit_sketch` (least-squares Bézier fitting).
- `tinkerlab.sketch.render`: `sketch_svg`, `render_image`, `render_png`, `save_sketch`, stroke-order animations.
- `tinkerlab.sketch.agent`: `SketchAgent` (text-to-sketch, stroke-by-stroke, chat editing, collaboration).
- `tinkerlab.sketch.human`: a person's mouse stroke mapped into the language.
- `tinkerlab.sketch.evaluate`: the paper's zero-shot recognition protocol, on recognisers of `tinkerlab.vision`.
"""

from tinkerlab.sketch.language import Sketch, Stroke, parse_sketch, parse_stroke

__all__ = ["Sketch", "Stroke", "parse_sketch", "parse_stroke"]
