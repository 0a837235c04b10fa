"""facestudio: a desktop studio for designing faces of people who do not exist."""

__version__ = "0.1.0"
