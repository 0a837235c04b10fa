"""Weight files: the loader that tells formats apart, and one reader (or writer) per format."""
