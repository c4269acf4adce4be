"""The collaborative canvas of SketchAgent (Vinker et al., CVPR 2025): a local FastAPI app and its page."""
