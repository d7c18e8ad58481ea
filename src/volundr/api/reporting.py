"""The caller of report endpoints: a session runtime credential, or the usual identity.

A session host presents `Authorization: Bearer vst_…` (its run's token). Such a token is
always verified, whatever the identity mode: unknown or revoked → 401. Any other request
is identified as usual (API §1).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from volundr.api.identity import current_principal
from volundr.domain.credentials import is_runtime_token
from volundr.services.access import ReportCaller
from volundr.services.credentials import RuntimeCredentials


async def report_caller(request: Request) -> ReportCaller:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and is_runtime_token(token):
        credentials: RuntimeCredentials = request.app.state.credentials
        caller = await credentials.verify(token)
        if caller is None:
            raise HTTPException(
                401, "Invalid or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        return caller
    return ReportCaller(current_principal(request))


Reporter = Annotated[ReportCaller, Depends(report_caller)]
