"""Plenary: a paperless meeting room server."""

__version__ = "0.1.0"
