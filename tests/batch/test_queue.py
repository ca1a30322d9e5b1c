"""The keyed look-ahead on its own: plain synchronous tests, no event loop."""

from __future__ import annotations

import random

import pytest

from marketo_async._batch._queue import Item, KeyedQueue


def item(index: int, key: str | int | None, size: int = 10) -> Item[str]:
    return Item(index, index, key, f"record {index}", size=size)


def firsts(items: list[Item[str]]) -> list[int]:
    return [entry.first for entry in items]


def queued(keys: list[str | None]) -> KeyedQueue[str]:
    """A queue that has read one record for each of ``keys``, in order."""
    queue: KeyedQueue[str] = KeyedQueue()
    for index, key in enumerate(keys):
        queue.add(item(index, key))
    return queue


def test_items_with_distinct_keys_leave_in_input_order() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    for index, key in enumerate(["a", None, "b", "c"]):
        queue.add(item(index, key))
    assert queue.buffered == 4
    batch, full = queue.take(10, 1_000)
    assert firsts(batch) == [0, 1, 2, 3]
    assert not full
    assert queue.buffered == 0


def test_a_repeated_key_waits_until_the_call_carrying_its_owner_returned() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    for index, key in enumerate(["a", "b", "a", "a"]):
        queue.add(item(index, key))
    first, _ = queue.take(10, 1_000)
    assert firsts(first) == [0, 1]
    assert queue.has_waiting and queue.buffered == 2
    assert queue.take(10, 1_000) == ([], False)  # 2 and 3 wait on "a"
    queue.release(first)
    second, _ = queue.take(10, 1_000)
    assert firsts(second) == [2]
    queue.release(second)
    third, _ = queue.take(10, 1_000)
    assert firsts(third) == [3]
    queue.release(third)
    assert not queue.has_waiting and queue.buffered == 0


def test_an_owner_others_wait_for_is_urgent_and_leaves_first() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    for index, key in enumerate(["a", "b", "c", "c"]):
        queue.add(item(index, key))
    batch, full = queue.take(1, 1_000)
    assert firsts(batch) == [2] and full
    assert batch[0].urgent


def test_the_next_owner_is_urgent_while_more_wait_behind_it() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    for index, key in enumerate(["a", "a", "a", "b"]):
        queue.add(item(index, key))
    first, _ = queue.take(1, 1_000)
    assert firsts(first) == [0]
    queue.release(first)
    # 1 now owns "a" with 2 behind it: it goes before the older-ready "b".
    second, _ = queue.take(1, 1_000)
    assert firsts(second) == [1] and second[0].urgent


def test_take_stops_at_the_byte_limit_and_says_the_call_is_full() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    for index in range(5):
        queue.add(item(index, index, size=40))
    batch, full = queue.take(10, 100)
    assert firsts(batch) == [0, 1] and full
    assert queue.buffered == 3


def test_items_given_back_are_ready_again_in_their_place() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    for index, key in enumerate(["a", "b", "a"]):
        queue.add(item(index, key))
    batch, _ = queue.take(10, 1_000)
    assert firsts(batch) == [0, 1]
    queue.give_back([batch[1]])  # say another process holds "b"
    assert queue.buffered == 2
    again, _ = queue.take(10, 1_000)
    assert firsts(again) == [1]  # "a"'s next record still waits for 0's call
    queue.release([batch[0]])
    last, _ = queue.take(10, 1_000)
    assert firsts(last) == [2]


def test_drain_returns_each_unsent_item_once_and_empties_the_queue() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    for index, key in enumerate(["a", "a", "b", "c", "c", "c"]):
        queue.add(item(index, key))
    unsent = queue.drain()
    assert sorted(firsts(unsent)) == [0, 1, 2, 3, 4, 5]
    assert queue.buffered == 0 and not queue.has_waiting
    assert queue.take(10, 1_000) == ([], False)


def test_items_ready_out_of_order_leave_by_input_index_among_those_ready_in_order() -> None:
    # 0..7 are read in order; 3 waits on "a", 6 on "c", which makes 0 and 2 urgent.
    queue = queued(["a", "b", "c", "a", "d", "e", "c", "f"])
    taken = [queue.take(1, 1_000)[0][0] for _ in range(3)]
    assert firsts(taken) == [0, 2, 1]  # the urgent owners first, even before 1
    queue.release([taken[1]])  # 6 owns "c" now, after 4 and 5, before 7
    queue.give_back([taken[2]])  # 1 is ready again, before all of them
    batch, _ = queue.take(10, 1_000)
    assert firsts(batch) == [1, 4, 5, 6, 7]
    queue.release([taken[0]])
    assert firsts(queue.take(10, 1_000)[0]) == [3]


def test_an_urgent_item_given_back_leaves_before_older_items() -> None:
    queue = queued(["a", "b", "c", "c"])
    urgent, _ = queue.take(1, 1_000)
    assert firsts(urgent) == [2]
    queue.give_back(urgent)
    batch, _ = queue.take(10, 1_000)
    assert firsts(batch) == [2, 0, 1]


def test_drain_gives_the_ready_items_in_the_order_they_would_have_left() -> None:
    queue = queued(["a", "b", "c", "c", "d"])
    batch, _ = queue.take(1, 1_000)  # 2, urgent
    queue.give_back(batch)
    assert firsts(queue.drain()) == [2, 0, 1, 4, 3]


def test_an_item_added_after_a_later_one_still_leaves_in_input_order() -> None:
    queue: KeyedQueue[str] = KeyedQueue()
    for index in (0, 2, 3, 1):
        queue.add(item(index, None))
    assert firsts(queue.take(10, 1_000)[0]) == [0, 1, 2, 3]


class _Naive:
    """The queue's rules written the slow, obvious way: every ready record sorted at each take."""

    def __init__(self, *, chain: bool) -> None:
        self.chain = chain
        self.keys: dict[int, str | None] = {}
        self.ready: set[int] = set()
        self.urgent: set[int] = set()  # never cleared, as in the queue
        self.owner: dict[str, int] = {}
        self.waiting: dict[str, list[int]] = {}
        self.follows: set[int] = set()

    def add(self, index: int, key: str | None) -> None:
        self.keys[index] = key
        if key is None:
            self.ready.add(index)
        elif key in self.owner:
            self.waiting.setdefault(key, []).append(index)
            if self.owner[key] in self.ready:
                self.urgent.add(self.owner[key])
        else:
            self.owner[key] = index
            self.ready.add(index)

    def take(self, max_items: int) -> list[int]:
        batch: list[int] = []
        for index in sorted(self.ready, key=lambda i: (i not in self.urgent, i)):
            if len(batch) == max_items:
                break
            self.ready.discard(index)
            batch.append(index)
            key = self.keys[index]
            behind = self.waiting.get(key, []) if self.chain and key is not None else []
            while behind and len(batch) < max_items:
                self.follows.add(behind[0])
                batch.append(behind.pop(0))
            if key is not None and key in self.waiting and not self.waiting[key]:
                del self.waiting[key]
        return batch

    def give_back(self, batch: list[int]) -> None:
        for index in reversed(batch):
            key = self.keys[index]
            if index in self.follows and key is not None:
                self.follows.discard(index)
                self.waiting.setdefault(key, []).insert(0, index)
            else:
                self.ready.add(index)

    def release(self, batch: list[int]) -> None:
        for index in batch:
            key = self.keys[index]
            if key is None or index in self.follows:
                continue
            behind = self.waiting.get(key)
            if not behind:
                del self.owner[key]
                continue
            following = behind.pop(0)
            if behind:
                self.urgent.add(following)
            else:
                del self.waiting[key]
            self.owner[key] = following
            self.ready.add(following)


@pytest.mark.parametrize("chain", [False, True])
@pytest.mark.parametrize("seed", range(20))
def test_take_order_matches_sorting_every_ready_item_by_urgency_then_index(
    chain: bool, seed: int
) -> None:
    """Reading, taking, giving back and releasing at random: each call's items are the ones
    the queue's rules name, in the same order, whichever lane each item waited in."""
    rng = random.Random(seed)
    queue: KeyedQueue[str] = KeyedQueue(chain=chain)
    naive = _Naive(chain=chain)
    items: dict[int, Item[str]] = {}
    out: list[list[int]] = []
    for _ in range(300):
        action = rng.random()
        if action < 0.5:
            index = len(items)
            key = rng.choice([None, "a", "b", "c", "d", "e", "f", "g"])
            items[index] = item(index, key)
            queue.add(items[index])
            naive.add(index, key)
        elif action < 0.75:
            most = rng.randint(1, 4)
            taken = firsts(queue.take(most, 10_000)[0])
            assert taken == naive.take(most)
            if taken:
                out.append(taken)
        elif out:
            batch = out.pop(rng.randrange(len(out)))
            if rng.random() < 0.3:
                queue.give_back([items[index] for index in batch])
                naive.give_back(batch)
            else:
                queue.release([items[index] for index in batch])
                naive.release(batch)
    expected = sorted(naive.ready, key=lambda i: (i not in naive.urgent, i))
    assert firsts(queue.drain())[: len(expected)] == expected
