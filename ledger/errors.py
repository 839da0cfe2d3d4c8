"""Rejections as values: one exception type, a stable machine code, a message naming the field."""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """A rejected request. `code` is stable and machine-readable; `message` is for people."""

    status = 422

    def __init__(self, code: str, message: str, *, field: str | None = None, **detail: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.detail = detail

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.detail:
            body["detail"] = self.detail
        return body

    def __repr__(self) -> str:
        return f"LedgerError({self.code!r}, {self.message!r})"


def validation_error(field: str, rule: str) -> LedgerError:
    return LedgerError("validation_error", f"{field}: {rule}", field=field)


def missing(field: str) -> LedgerError:
    return LedgerError("validation_error", f"{field}: is required", field=field)


def unknown(code: str, field: str, value: object) -> LedgerError:
    return LedgerError(code, f"{field}: no such {field.split('.')[-1]} {value!r}", field=field)


def forbidden(role: str, action: str) -> LedgerError:
    err = LedgerError("forbidden", f"role: {role!r} may not {action}", field="role")
    err.status = 403
    return err
