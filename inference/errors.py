"""422 answers that say what is wrong in one line, then where, field by field.

FastAPI's default echoes each bad input back; for a 1000-event batch (or a large body that
is not an object) that can be most of the request again, so the inputs are left out.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

MAX_REPORTED_ERRORS = 20


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    reported = [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in errors[:MAX_REPORTED_ERRORS]
    ]
    message = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in errors[:3])
    if len(errors) > 3:
        message += f"; and {len(errors) - 3} more"
    return JSONResponse(
        status_code=422,
        content={"message": f"invalid input: {message}", "detail": reported},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
