"""``marketo-async lists add|remove LIST_ID FILE``: static list membership."""

from __future__ import annotations

import click

from .._client import MarketoClient
from ._bulk import BulkSpec, Params, bulk_command
from ._run import Send

__all__ = ["static_lists"]


def _membership(verb: str) -> BulkSpec:
    def send(client: MarketoClient, params: Params) -> Send:
        write = getattr(client.static_lists, f"{verb}_leads")
        return lambda ids, **hooks: write(params["list_id"], ids, **hooks)

    return BulkSpec(
        name=verb,
        help=f"{verb.capitalize()} the leads whose ids FILE lists "
        f"{'to' if verb == 'add' else 'from'} static list LIST_ID.",
        arguments=(click.argument("list_id", type=int),),
        send=send,
    )


lists_add = bulk_command(_membership("add"))
lists_remove = bulk_command(_membership("remove"))


@click.group("lists", commands=[lists_add, lists_remove])
def static_lists() -> None:
    """Add leads to, or remove them from, static lists."""
