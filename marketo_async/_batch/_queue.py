"""The look-ahead: records read but not sent, kept so that no two with one key are out together.

Synchronous and loop-free: the engine asks it for a call's worth of records and tells it when
a call returned. It holds these invariants:

- each key has at most one *owner*: the item ready to go or in flight with that key; later
  items with the key wait behind it, in input order, and the next one becomes the owner (and
  ready) only when the call carrying the owner returned;
- ``buffered`` counts the items ready or waiting (not those in flight);
- ready items leave urgent ones first (others wait on their key), then by input index;
  most arrive in input order and become ready at once, so they wait in a plain first-in
  first-out lane; the few that arrive out of order (urgent owners, the next owner of a key,
  items given back) wait in a heap, and the smaller of the two heads leaves first;
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
    queued: bool = False  # ready (entries of items no longer queued are stale)
    urgent: bool = False  # later records wait on this one's key: send it ahead of the rest
    follows: bool = False  # taken along by its key's owner, in the owner's call (``chain``)


class KeyedQueue(Generic[T]):
    """Items ready to send and items waiting for their key; see the module docstring."""

    def __init__(self, *, chain: bool = False) -> None:
        self._chain = chain
        # Ready to send: at most one item per key. Items ready as they are added, in input
        # order, wait in the lane; the rest in the heap, urgent ones first, then by input index.
        # An item in the lane that is made urgent gets a heap entry; its lane entry is stale.
        self._lane: deque[Item[T]] = deque()
        self._heap: list[tuple[int, int, Item[T]]] = []
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
        if key is not None:
            owner = self._owners.get(key)
            if owner is not None:
                self._wait_behind(key, owner, item)
                return
            self._owners[key] = item
        lane = self._lane
        if lane and lane[-1].first > item.first:
            self._push(item)  # not in input order after all: the lane stays sorted
        else:
            item.queued = True
            lane.append(item)

    def _wait_behind(self, key: str | int, owner: Item[T], item: Item[T]) -> None:
        self._waiting.setdefault(key, deque()).append(item)
        if owner.queued and not owner.urgent:
            # Send the owner sooner, so that this record is not left for a straggler call.
            owner.urgent = True
            heapq.heappush(self._heap, (0, owner.first, owner))

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
            self._pop(item)
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
        """Every item not sent (ready, in the order they would have left, then waiting),
        leaving the queue empty."""
        ready = {id(item): item for _, _, item in self._heap if item.queued}
        ready.update((id(item), item) for item in self._lane if item.queued)
        unsent = sorted(ready.values(), key=_rank)
        for item in unsent:
            item.queued = False
        for queue in self._waiting.values():
            unsent.extend(queue)
        self._heap.clear()
        self._lane.clear()
        self._waiting.clear()
        self._owners.clear()
        self.buffered = 0
        return unsent

    def _push(self, item: Item[T]) -> None:
        item.queued = True
        heapq.heappush(self._heap, (*_rank(item), item))

    def _peek(self) -> Item[T] | None:
        """The ready item to leave next (urgent first, then by input index), or None."""
        heap, lane = self._heap, self._lane
        while heap and not _current(heap[0]):
            heapq.heappop(heap)
        while lane and not _in_lane(lane[0]):
            lane.popleft()
        if not heap:
            return lane[0] if lane else None
        rank, first, item = heap[0]
        return lane[0] if lane and rank == 1 and lane[0].first < first else item

    def _pop(self, item: Item[T]) -> None:
        """Take ``item``, which :meth:`_peek` just named, off its lane or the heap."""
        if self._lane and self._lane[0] is item:
            self._lane.popleft()
        else:
            heapq.heappop(self._heap)


def _rank(item: Item[T]) -> tuple[int, int]:
    """Where a ready item stands: urgent ones first, then by input index."""
    return (0 if item.urgent else 1, item.first)


def _in_lane(item: Item[T]) -> bool:
    """Is the lane this item's place (not taken from the heap, made urgent, or drained)?"""
    return item.queued and not item.urgent


def _current(entry: tuple[int, int, Item[T]]) -> bool:
    """Is this heap entry its item's place (not left behind when it was taken or made urgent)?"""
    rank, _, item = entry
    return item.queued and rank == (0 if item.urgent else 1)
