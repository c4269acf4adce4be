"""tinkerlab: research systems for interpretability and generative vision and audio.

One install, one CLI (`tinkerlab`), offline defaults. Each system lives in its own subpackage
(`tinkerlab.sketch`, `tinkerlab.internal`, ...) and stands on the shared `core`, `llm` and `sandbox`.
Importing this package is cheap: heavy libraries (torch, transformers) load only where they are used.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
