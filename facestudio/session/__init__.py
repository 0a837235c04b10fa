"""Faces, gallery, history, session files and autosave (numpy and latent; no Qt)."""
