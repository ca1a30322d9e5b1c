"""``client.programs``: programs (asset API) and the progression statuses of their channels."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import anyio

from .._errors import MarketoError
from ..models import converter
from ..models.campaigns import Program, ProgramStatus
from ._arguments import positive_id
from ._assets import AssetKind, Assets
from ._base import Api, asset_not_found

__all__ = ["Programs", "unknown_status_message"]


def unknown_status_message(
    program_id: int, status_name: str, valid: tuple[str, ...], channel: str | None = None
) -> str:
    """Why ``status_name`` is refused for a program, naming the valid statuses."""
    where = f"program {program_id}" + (f" (channel {channel!r})" if channel else "")
    listed = ", ".join(repr(name) for name in valid)
    message = f"{status_name!r} is not a status of {where}. Valid statuses: {listed}"
    close = difflib.get_close_matches(status_name, valid, n=1)
    return message + (f". Did you mean {close[0]!r}?" if close else "")


class Programs(Assets[Program]):
    """Programs, and the statuses their members can be given.

    >>> program = await client.programs.by_name("2027 Webinar")
    >>> await client.programs.statuses(program.id)
    ('Not in Program', 'Invited', 'Registered', 'Attended', 'No Show')
    >>> async for program in client.programs.list():
    ...     print(program.id, program.name, program.channel)
    """

    _kind = AssetKind(Program, "program", "programs", "program")

    def __init__(self, api: Api) -> None:
        super().__init__(api)
        # Channels change rarely; read each once per client.
        self._statuses: dict[int, tuple[str, ...]] = {}
        self._channels: dict[int, str | None] = {}
        self._reading = anyio.Lock()

    async def statuses(self, program_id: int) -> tuple[str, ...]:
        """The progression status names of the program's channel, lowest step first.

        Read once per program (the program, then its channel) and kept for this client.
        """
        program = positive_id(program_id, "program_id")
        async with self._reading:
            found = self._statuses.get(program)
            if found is None:
                found = tuple(status.name for status in await self._channel_statuses(program))
                self._statuses[program] = found
            return found

    async def check_status(self, program_id: int, status_name: str) -> None:
        """Raise ``ValueError`` naming the valid statuses when ``status_name`` is not one of
        the program's (see :meth:`statuses`)."""
        valid = await self.statuses(program_id)
        if status_name not in valid:
            channel = self._channels.get(positive_id(program_id, "program_id"))
            raise ValueError(unknown_status_message(program_id, status_name, valid, channel))

    async def _channel_statuses(self, program_id: int) -> Sequence[ProgramStatus]:
        program = await self.get(program_id)
        self._channels[program_id] = program.channel
        if not program.channel:
            raise MarketoError(
                f"program {program_id} has no channel, so no progression statuses",
                path=f"/rest/asset/v1/program/{program_id}.json",
            )
        path = "/rest/asset/v1/channel/byName.json"
        body = await self._api.get(path, {"name": program.channel})
        result = body.get("result") or []
        if not result or not isinstance(result[0], Mapping):
            raise asset_not_found(f"channel {program.channel!r}", body, path)
        raw = result[0].get("progressionStatuses") or []
        statuses = [converter.structure(item, ProgramStatus) for item in raw]
        return sorted(statuses, key=lambda status: status.step)
