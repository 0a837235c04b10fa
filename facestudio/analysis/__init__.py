"""Measuring faces: identity embeddings and the lookalike index (see ``../shared/DESIGN.md``).

May import latent, torch, numpy and dlib; dlib is optional (the ``lookalike`` extra) and is
imported only when a face is measured, so the rest of facestudio works without it.
"""
