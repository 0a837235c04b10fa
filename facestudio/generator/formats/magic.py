"""The first bytes that tell weight files apart (read by the loader and by each reader)."""

ZIP_MAGIC = b"PK\x03\x04"
"""A ``torch.save`` file since PyTorch 1.6 is a zip archive."""
LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"
"""``torch.save`` before PyTorch 1.6 wrote a pickle whose first object is this magic number."""
