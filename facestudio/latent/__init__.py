"""Latent-space arithmetic in numpy: seeds, W / W+, truncation, mixing, directions."""
