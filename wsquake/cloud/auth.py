"""Glasses authentication: HS256 core tokens (PROTOCOL.md §3.1)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qs

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from wsquake.cloud.exceptions import InvalidToken, MissingToken

__all__ = ["extract_token", "mint_token", "verify_token"]


def mint_token(
    secret: str,
    email: str,
    *,
    sub: str | None = None,
    exp: datetime | int | None = None,
) -> str:
    """A coreToken as upstream mints it: ``{sub, email, organizations:[], defaultOrg:null}``."""
    payload: dict[str, object] = {
        "sub": sub if sub is not None else email,
        "email": email,
        "organizations": [],
        "defaultOrg": None,
    }
    if exp is not None:
        payload["exp"] = exp
    with warnings.catch_warnings():
        # Harness secrets are often short test strings; upstream imposes no minimum.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(payload, secret, algorithm="HS256")


def extract_token(headers: Mapping[str, str], query_string: str) -> str:
    """``Authorization: Bearer`` first, then ``?token=``; raise MissingToken if neither."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    values = parse_qs(query_string).get("token")
    if values and values[0]:
        return values[0]
    raise MissingToken(MissingToken.message)


def verify_token(secret: str, token: str) -> str:
    """Return the user id (the ``email`` claim) or raise InvalidToken."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            payload = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                options={"require": ["email"], "verify_aud": False},
            )
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"Invalid core token: {exc}") from exc
    email = payload.get("email")
    if not isinstance(email, str) or not email:
        raise InvalidToken("Invalid core token: email claim is not a non-empty string")
    return email
