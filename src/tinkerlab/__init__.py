"""tinkerlab: research systems for interpretability and generative vision and audio.

One install, one CLI (`tinkerlab`), offline defaults. A small `core`; five engines that several systems share
(`llm`, `sandbox`, `vision`, `patching`, `pyramid`); and one package per system (`sketch`, `find`, `circuits`,
`idc`, ...). Systems never import each other.
Importing this package is cheap: heavy libraries (torch, transformers) load only where they are used.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
