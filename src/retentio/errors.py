"""The exception tree of Retentio's domain code.

Services raise these; one handler in `retentio.web.errors` turns them into the JSON error shape
for the API and into a message on pages. Services never raise HTTP exceptions.
"""

from __future__ import annotations

from typing import Any, ClassVar


class RetentioError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigurationError(RetentioError):
    status = 500
    code = "configuration_error"


class NotFound(RetentioError):
    status = 404
    code = "not_found"


class Conflict(RetentioError):
    status = 409
    code = "conflict"


class TryAgain(RetentioError):
    """A race another request won a moment ago; the same request sent again will succeed.
    503 with Retry-After, because that is what HTTP clients and tracking SDKs retry."""

    status = 503
    code = "try_again"
    retry_after_seconds: ClassVar[int] = 1


class DatabaseUnavailable(TryAgain):
    """The database cannot be reached (down, restarting, failing over): nothing was stored,
    and the same request sent once it is back will be. Raised by the web shell, not services."""

    code = "database_unavailable"
    retry_after_seconds = 5


class InvalidInput(RetentioError):
    status = 422
    code = "invalid_input"


class NotAuthenticated(RetentioError):
    status = 401
    code = "not_authenticated"


class PermissionDenied(RetentioError):
    status = 403
    code = "permission_denied"


class CsrfFailure(RetentioError):
    status = 403
    code = "csrf_failed"


class TooManyAttempts(RetentioError):
    status = 429
    code = "too_many_attempts"


class SchemaOutdated(RetentioError):
    status = 503
    code = "schema_outdated"
