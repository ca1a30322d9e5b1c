"""One module per Marketo noun; each resource is handed an :class:`Api` by the client."""

from ._base import Api, Resource

__all__ = ["Api", "Resource"]
