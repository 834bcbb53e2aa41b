"""The domain exception family: services raise these, `app.errorhandlers` maps them to HTTP."""
from __future__ import annotations


class VendorPulseError(Exception):
    """Base class for every error the app expects and knows how to explain to a person."""

    status_code = 400
    title = "Something is not right"

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.title)
        self.message = message or self.title
        self.details = details


class ConfigurationError(VendorPulseError):
    """A setting is missing or malformed; raised at start-up, before any request."""

    status_code = 500
    title = "Configuration error"


class NotFound(VendorPulseError):
    status_code = 404
    title = "Not found"


class Gone(VendorPulseError):
    status_code = 410
    title = "No longer available"


class InvalidInput(VendorPulseError):
    """Well-formed request whose content fails validation."""

    status_code = 422
    title = "Please check what you entered"

    def __init__(self, message: str = "", errors: dict[str, list[str]] | None = None, **details: object) -> None:
        super().__init__(message, **details)
        self.errors = errors or {}


class InvalidTransition(VendorPulseError):
    """A state change a model does not allow (closing a closed wave, sending a responded invitation)."""

    status_code = 409
    title = "That change is not possible now"


class CatalogError(VendorPulseError):
    """A survey definition file is broken; the message names the file and the path inside it."""

    status_code = 422
    title = "Survey definition is invalid"

    def __init__(self, source: str, path: str, problem: str) -> None:
        self.source = source
        self.path = path
        self.problem = problem
        super().__init__(f"{source}: {path}: {problem}")
