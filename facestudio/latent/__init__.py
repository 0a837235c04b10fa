"""Latent-space arithmetic in numpy: seeds, W / W+, truncation, the recipe, mixing plans,
directions."""
