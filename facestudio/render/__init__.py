"""The renderer and its latest-wins worker thread (generator, latent, torch; no Qt)."""

from facestudio.render.renderer import ModelMismatchError, Renderer
from facestudio.render.worker import BatchResult, RenderResult, RenderWorker, WorkerStats

__all__ = ["BatchResult", "ModelMismatchError", "RenderResult", "RenderWorker", "Renderer", "WorkerStats"]
