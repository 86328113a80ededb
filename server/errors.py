"""The error family that domain code raises.

Each error carries one sentence for the person in the meeting room and a short
machine code. The web layer maps every class once: to an HTTP status with an HTML
page or the JSON error shape, or to a WebSocket error message.
"""

from __future__ import annotations


class MeetingError(Exception):
    code = "meeting_error"
    status = 400

    def __init__(self, message: str, **params: object) -> None:
        self.template = message
        self.params = params
        super().__init__(message.format(**params) if params else message)

    @property
    def message(self) -> str:
        return str(self)

    def as_dict(self) -> dict[str, object]:
        """The wire shape; ``template`` and ``params`` let a tablet translate it."""
        params = {key: str(value) for key, value in self.params.items()}
        return {"code": self.code, "message": self.message,
                "template": self.template, "params": params}


class NotFoundError(MeetingError):
    code = "not_found"
    status = 404


class NotAllowedError(MeetingError):
    code = "not_allowed"
    status = 403


class NotLoggedInError(MeetingError):
    code = "not_logged_in"
    status = 401


class ConflictError(MeetingError):
    code = "conflict"
    status = 409


class InvalidInputError(MeetingError):
    code = "invalid_input"
    status = 422


class RateLimitedError(MeetingError):
    code = "rate_limited"
    status = 429
