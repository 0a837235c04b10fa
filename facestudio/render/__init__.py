"""The renderer and its latest-wins worker thread (generator, latent, torch; no Qt)."""

from facestudio.render.renderer import Renderer
from facestudio.render.ws_mapping import ModelMismatchError
from facestudio.render.jobs import BatchResult, RenderResult, WorkerStats
from facestudio.render.worker import RenderWorker

__all__ = ["BatchResult", "ModelMismatchError", "RenderResult", "RenderWorker", "Renderer", "WorkerStats"]
