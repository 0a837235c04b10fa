# The public names' types for type checkers; at run time facestudio/__init__.py imports
# each on first use (keep the two lists the same).
from facestudio.api import FaceRecipe as FaceRecipe
from facestudio.api import Model as Model
from facestudio.api import load_model as load_model
from facestudio.errors import FacestudioError as FacestudioError
from facestudio.latent.directions import Direction as Direction
from facestudio.latent.recipe import Recipe as Recipe
from facestudio.provenance.export import ExportOptions as ExportOptions
from facestudio.provenance.guarded import LookalikeRefused as LookalikeRefused
from facestudio.provenance.reader import read_provenance as read_provenance

__version__: str
__all__: list[str]
