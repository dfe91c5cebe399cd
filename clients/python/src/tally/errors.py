"""Errors of Tally calls: `RPCError` and one subclass per canonical status code (docs/protocol.md, section 7)."""

from typing import Dict, Optional, Type

__all__ = [
    "RPCError", "Cancelled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
    "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
    "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
    "CODE_NAMES",
]

CODE_NAMES: Dict[int, str] = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}


class RPCError(Exception):
    """A call ended with a non-OK status.

    `code` is the numeric status, `code_name` its name (`NOT_FOUND`, or `CODE_<n>` for a code
    outside the canonical set), `message` the daemon's text and `details` the raw details bytes
    (by convention a serialized `tally.v1.ErrorDetails`, decoded by `error_details`).
    """

    code: int = 2

    def __init__(self, message: str = "", *, code: Optional[int] = None, details: bytes = b"") -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details = details

    @property
    def code_name(self) -> str:
        return CODE_NAMES.get(self.code, f"CODE_{self.code}")

    @property
    def error_details(self) -> "Optional[object]":
        """The details decoded as `tally.v1.ErrorDetails`, or None when there are none."""
        if not self.details:
            return None
        from tally.v1 import wire_pb2

        parsed = wire_pb2.ErrorDetails()
        try:
            parsed.ParseFromString(self.details)
        except Exception:
            return None
        return parsed

    def __str__(self) -> str:
        return f"{self.code_name}: {self.message}" if self.message else self.code_name

    def __reduce__(self):  # picklable across processes
        return (_rebuild, (self.code, self.message, self.details))

    @staticmethod
    def from_status(code: int, message: str = "", details: bytes = b"") -> "RPCError":
        """The exception for a status: an instance of the code's subclass, or of RPCError itself."""
        cls = _BY_CODE.get(code)
        if cls is None:
            return RPCError(message, code=code, details=details)
        return cls(message, details=details)


def _rebuild(code: int, message: str, details: bytes) -> RPCError:
    return RPCError.from_status(code, message, details)


class Cancelled(RPCError):
    code = 1


class Unknown(RPCError):
    code = 2


class InvalidArgument(RPCError):
    code = 3


class DeadlineExceeded(RPCError):
    code = 4


class NotFound(RPCError):
    code = 5


class AlreadyExists(RPCError):
    code = 6


class PermissionDenied(RPCError):
    code = 7


class ResourceExhausted(RPCError):
    code = 8


class FailedPrecondition(RPCError):
    code = 9


class Aborted(RPCError):
    code = 10


class OutOfRange(RPCError):
    code = 11


class Unimplemented(RPCError):
    code = 12


class Internal(RPCError):
    code = 13


class Unavailable(RPCError):
    code = 14


class DataLoss(RPCError):
    code = 15


class Unauthenticated(RPCError):
    code = 16


_BY_CODE: Dict[int, Type[RPCError]] = {
    cls.code: cls
    for cls in (Cancelled, Unknown, InvalidArgument, DeadlineExceeded, NotFound, AlreadyExists,
                PermissionDenied, ResourceExhausted, FailedPrecondition, Aborted, OutOfRange,
                Unimplemented, Internal, Unavailable, DataLoss, Unauthenticated)
}
