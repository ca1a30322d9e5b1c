"""The keyed look-ahead on its own: plain synchronous tests, no event loop."""

from __future__ import annotations

from marketo_async._batch._queue import Item, KeyedQueue


def item(index: int, key: str | int | None, size: int = 10) -> Item[str]:
    return Item(index, index, key, f"record {index}", size=size)


def firsts(items: list[Item[str]]) -> list[int]:
    return [entry.first for entry in items]


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
