"""Services as async context managers whose resources all live on one exit stack.

A subclass implements :meth:`StackedService._start`, pushing every resource it opens
(sockets, tasks, task groups, files, child services) onto the given stack. Entering runs
it; if it fails half-way, what was already pushed is undone before the error propagates.
Exiting unwinds the stack in reverse order, so a service closes exactly what it opened.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Self

__all__ = ["StackedService"]


class StackedService:
    _stack: contextlib.AsyncExitStack | None = None

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            await self._start(stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.__aexit__(exc_type, exc, tb)
