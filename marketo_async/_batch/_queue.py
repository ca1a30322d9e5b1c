"""The look-ahead: records read but not sent, kept so that no two with one key are out together.

Synchronous and loop-free: the engine asks it for a call's worth of records and tells it when
a call returned. It holds these invariants:

- each key has at most one *owner*: the item ready to go or in flight with that key; later
  items with the key wait behind it, in input order, and the next one becomes the owner (and
  ready) only when the call carrying the owner returned;
- ``buffered`` counts the items ready or waiting (not those in flight);
- ready items leave urgent ones first (others wait on their key), then by input index;
- with ``chain`` (an API that applies a call's records in order, such as an import file), an
  owner leaving in a call takes the items waiting behind it along, in input order, as
  *followers*: one call then carries the key several times, and no other call carries it.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

import attrs

__all__ = ["Item", "KeyedQueue"]

T = TypeVar("T")


@attrs.define(eq=False)
class Item(Generic[T]):
    """A record waiting to be sent: input records ``first..last`` (coalesced) as one."""

    first: int
    last: int
    key: str | int | None
    record: T
    size: int = 0
    queued: bool = False  # in the ready heap (entries of items no longer queued are stale)
    urgent: bool = False  # later records wait on this one's key: send it ahead of the rest
    follows: bool = False  # taken along by its key's owner, in the owner's call (``chain``)


class KeyedQueue(Generic[T]):
    """Items ready to send and items waiting for their key; see the module docstring."""

    def __init__(self, *, chain: bool = False) -> None:
        self._chain = chain
        # Ready to send: at most one item per key; urgent ones first, then by input index.
        # An item made urgent gets a second entry; the first becomes stale and is skipped.
        self._ready: list[tuple[int, int, Item[T]]] = []
        # The item (ready or in flight) holding each key; later items with the key wait here.
        self._owners: dict[str | int, Item[T]] = {}
        self._waiting: dict[str | int, deque[Item[T]]] = {}
        self.buffered = 0

    @property
    def has_waiting(self) -> bool:
        """Does any item wait for its key's earlier item to come back?"""
        return bool(self._waiting)

    def add(self, item: Item[T]) -> None:
        """A new item: ready when nobody holds its key, else waiting behind the owner."""
        self.buffered += 1
        key = item.key
        if key is None:
            self._push(item)
            return
        owner = self._owners.get(key)
        if owner is None:
            self._owners[key] = item
            self._push(item)
            return
        self._waiting.setdefault(key, deque()).append(item)
        if owner.queued and not owner.urgent:
            # Send the owner sooner, so that this record is not left for a straggler call.
            owner.urgent = True
            heapq.heappush(self._ready, (0, owner.first, owner))

    def take(self, max_items: int, max_bytes: int) -> tuple[list[Item[T]], bool]:
        """Ready items for one call: at most ``max_items``, their sizes within ``max_bytes``.

        Also says whether the call is full (another ready item would not have fit). The items
        now count as in flight; :meth:`give_back` those that do not go after all.
        """
        batch: list[Item[T]] = []
        size = 0
        full = False
        while (item := self._peek()) is not None:
            if len(batch) == max_items or size + item.size > max_bytes:
                full = True
                break
            heapq.heappop(self._ready)
            item.queued = False
            batch.append(item)
            size += item.size
            if self._chain and item.key is not None and item.key in self._waiting:
                size += self._follow(item.key, batch, max_items, max_bytes - size)
        self.buffered -= len(batch)
        return batch, full or len(batch) == max_items

    def _follow(self, key: str | int, batch: list[Item[T]], max_items: int, room: int) -> int:
        """Take the items waiting on ``key`` into ``batch`` as followers while they fit."""
        queue = self._waiting[key]
        taken = 0
        while queue and len(batch) < max_items and queue[0].size <= room - taken:
            follower = queue.popleft()
            follower.follows = True
            batch.append(follower)
            taken += follower.size
        if not queue:
            del self._waiting[key]
        return taken

    def give_back(self, items: Iterable[Item[T]]) -> None:
        """Taken items that did not go (yet): ready again, keeping their keys."""
        followers: dict[str | int, list[Item[T]]] = {}
        for item in items:
            self.buffered += 1
            if item.follows and item.key is not None:
                item.follows = False
                followers.setdefault(item.key, []).append(item)
            else:
                self._push(item)
        for key, back in followers.items():  # behind their owner again, in input order
            self._waiting.setdefault(key, deque()).extendleft(reversed(back))

    def release(self, batch: Sequence[Item[T]]) -> None:
        """The call carrying ``batch`` returned: the next item of each of its keys may go."""
        for item in batch:
            key = item.key
            if key is None or item.follows:
                continue  # a follower's key is released with its owner
            queue = self._waiting.get(key)
            if queue:
                following = queue.popleft()
                if queue:
                    following.urgent = True
                else:
                    del self._waiting[key]
                self._owners[key] = following
                self._push(following)
            else:
                del self._owners[key]

    def drain(self) -> list[Item[T]]:
        """Every item not sent (ready, then waiting), leaving the queue empty."""
        unsent: list[Item[T]] = []
        for _, _, item in self._ready:
            if item.queued:  # an urgent item has a stale second entry too
                item.queued = False
                unsent.append(item)
        for queue in self._waiting.values():
            unsent.extend(queue)
        self._ready.clear()
        self._waiting.clear()
        self._owners.clear()
        self.buffered = 0
        return unsent

    def _push(self, item: Item[T]) -> None:
        item.queued = True
        heapq.heappush(self._ready, (0 if item.urgent else 1, item.first, item))

    def _peek(self) -> Item[T] | None:
        ready = self._ready
        while ready:
            rank, _, item = ready[0]
            if item.queued and rank == (0 if item.urgent else 1):
                return item
            heapq.heappop(ready)  # stale
        return None
