"""A worker process for the multi-process tests: ``python -m tests.redis._worker MODE ...``.

Modes: ``calls`` (many GETs through a shared RedisLimiter), ``hold`` (take slots, say "held",
then wait to be killed), ``upsert`` (createOrUpdate leads under key leases), ``sync``
(``client.leads.sync``, which takes the limiter's key leases itself), ``service`` (one awaited
``leads.get`` every ``--interval`` seconds, timed, until ``--until-file`` exists), ``import``
(``client.bulk_import.leads``, whose files take the same key leases). Each prints one JSON line
of results.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path
from typing import Any

import anyio
import redis

from marketo_async import MarketoClient, RateLimits
from marketo_async.redis import RedisLimiter


def _limits(args: argparse.Namespace) -> RateLimits:
    return RateLimits(
        calls=args.calls_per_period,
        period=args.period,
        concurrency=args.concurrency,
        daily_quota=None,
        window_margin=args.margin,
    )


def _client(args: argparse.Namespace, limiter: RedisLimiter | None) -> MarketoClient:
    """The emulator's client; ``limiter`` None: a limiter of its own (no fleet key leases)."""
    return MarketoClient(
        base_url=args.base_url,
        client_id="fake-client-id",
        client_secret="fake-client-secret",
        rate_limits=_limits(args),
        limiter=limiter,
    )


async def _start_together(args: argparse.Namespace) -> None:
    # Process start-up takes a while; begin at an agreed wall-clock moment.
    await anyio.sleep(max(args.start_at - time.time(), 0.0))


async def calls(args: argparse.Namespace) -> dict[str, Any]:
    async with RedisLimiter(args.redis, key=args.key, rate_limits=_limits(args)) as limiter:
        async with _client(args, limiter) as client:
            await _start_together(args)
            remaining = args.count

            async def caller() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await client.request("GET", "/rest/v1/leads/describe.json")

            async with anyio.create_task_group() as tg:
                for _ in range(args.tasks):
                    tg.start_soon(caller)
            stats = client.stats
            return {
                "calls": stats.calls,
                "rate_limited": stats.rate_limited,
                "concurrency_limited": stats.concurrency_limited,
                "tokens_fetched": stats.tokens_fetched,
            }


async def hold(args: argparse.Namespace) -> dict[str, Any]:
    limiter = RedisLimiter(
        args.redis, key=args.key, rate_limits=_limits(args), lease_seconds=args.lease
    )
    taken = 0
    async with anyio.create_task_group() as tg:

        async def take() -> None:
            nonlocal taken
            async with limiter.slot():
                taken += 1
                if taken == args.count:
                    print("held", flush=True)
                await anyio.sleep_forever()

        for _ in range(args.count):
            tg.start_soon(take)
    return {}


async def upsert(args: argparse.Namespace) -> dict[str, Any]:
    emails = [f"lead{n}@example.com" for n in range(args.first, args.last)]
    # The keys shared with the other worker go first, so both reach them together.
    emails.sort(key=lambda email: int(email[4:].split("@")[0]) not in range(*args.shared))
    pending = list(emails)
    deferred = 0
    waits = 0
    overlaps = 0
    # A blocking client (quick on loopback) works under asyncio and trio alike.
    probe = redis.Redis.from_url(args.redis, decode_responses=True)
    async with RedisLimiter(args.redis, key=args.key, rate_limits=_limits(args)) as limiter:
        leases = limiter.key_leases
        async with _client(args, limiter) as client:
            await _start_together(args)

            async def sender() -> None:
                nonlocal deferred, waits, overlaps
                while pending:
                    chunk = [pending.pop(0) for _ in range(min(args.chunk, len(pending)))]
                    keys = [f"email:{email}" for email in chunk]
                    asked_at = anyio.current_time()
                    async with leases.holding(keys if args.leases else []) as held:
                        held = held if args.leases else frozenset(keys)
                        # Every key held by the other worker: acquire waited for one.
                        waits += anyio.current_time() - asked_at > 0.04
                        # Redis counts the holders of each key: more than one is a violation.
                        for key in held:
                            overlaps += probe.incr(f"probe:{args.key}:{key}") != 1
                        records = [
                            {"email": e} for e, k in zip(chunk, keys, strict=True) if k in held
                        ]
                        await client.request(
                            "POST",
                            "/rest/v1/leads.json",
                            json={
                                "action": "createOrUpdate",
                                "lookupField": "email",
                                "input": records,
                            },
                        )
                        for key in held:
                            probe.decr(f"probe:{args.key}:{key}")
                    later = [e for e, k in zip(chunk, keys, strict=True) if k not in held]
                    deferred += len(later)
                    pending.extend(later)
                    if later:
                        await anyio.sleep(random.uniform(0.0, 0.05))

            async with anyio.create_task_group() as tg:
                for _ in range(args.tasks):
                    tg.start_soon(sender)
    probe.close()
    return {"sent": len(emails), "deferred": deferred, "waits": waits, "overlaps": overlaps}


async def sync(args: argparse.Namespace) -> dict[str, Any]:
    """``client.leads.sync`` through the batch engine: its key leases come from the limiter."""
    numbers = list(range(args.first, args.last))
    numbers.sort(key=lambda n: n not in range(*args.shared))  # shared keys first
    if args.shuffle is not None:
        random.Random(args.shuffle).shuffle(numbers)
    # The other worker sends the shared keys in another case: they are still the same leads.
    records = [
        {"email": f"lead{n}@example.com" if args.backend == "asyncio" else f"LEAD{n}@Example.com"}
        for n in numbers
    ]
    if args.roles:
        # Opportunity roles: a compound key; the other worker writes leadId as text.
        records = [
            {
                "externalOpportunityId": f"opp{n % 3}",
                "leadId": n if args.backend == "asyncio" else str(n),
                "role": "Buyer",
            }
            for n in numbers
        ]
    warnings = _WarningsKept()
    logging.getLogger("marketo_async").addHandler(warnings)
    async with RedisLimiter(
        args.redis,
        key=args.key,
        rate_limits=_limits(args),
        fallback=args.fallback,
        outage_wait=args.outage_wait,
        lease_seconds=args.lease,
    ) as limiter:
        # Without --leases the worker keeps its own limiter: the fleet's keys are not shared.
        client = _client(args, limiter if args.leases else None)
        async with client:
            await _start_together(args)
            target = client.opportunity_roles if args.roles else client.leads
            report = await target.sync(records, batch_size=args.chunk)
    refused = [o for o in report.outcomes if o.status not in ("created", "updated")]
    return {
        "counts": report.counts,
        "outage_named": sum("Redis" in " ".join(r.message for r in o.reasons) for o in refused),
        "warnings": warnings.messages,
    }


async def service(args: argparse.Namespace) -> dict[str, Any]:
    """A web service on the fleet's budget: awaited single calls, each timed."""
    waits: list[float] = []
    async with RedisLimiter(args.redis, key=args.key, rate_limits=_limits(args)) as limiter:
        async with _client(args, limiter) as client:
            await client.leads.get(args.lead)  # the token, before the timing starts
            print("serving", flush=True)

            async def get() -> None:
                asked = anyio.current_time()
                await client.leads.get(args.lead)
                waits.append(anyio.current_time() - asked)

            async with anyio.create_task_group() as tg:
                while not Path(args.until_file).exists():  # noqa: ASYNC240 - a stat call
                    tg.start_soon(get)
                    await anyio.sleep(args.interval)
            stats = client.stats
    return {
        "waits": waits,
        "max_admission_wait_s": stats.lanes["interactive"].max_wait_s,
        "rate_limited": stats.rate_limited,
        "concurrency_limited": stats.concurrency_limited,
    }


async def bulk_import(args: argparse.Namespace) -> dict[str, Any]:
    """``client.bulk_import.leads``: one import file is one call of the engine, under the
    fleet's key leases; the trio worker writes the emails in another letter case."""
    upper = args.backend == "trio"
    records = [
        {"email": f"LEAD{n}@Example.com" if upper else f"lead{n}@example.com", "firstName": str(n)}
        for n in range(args.first, args.last)
    ]
    async with RedisLimiter(args.redis, key=args.key, rate_limits=_limits(args)) as limiter:
        # Without --leases the worker keeps its own limiter: the fleet's keys are not shared.
        client = _client(args, limiter if args.leases else None)
        async with client:
            client.bulk_import.poll_interval = 0.2
            await _start_together(args)
            report = await client.bulk_import.leads(records)
    return {
        "counts": report.counts,
        "indices": [o.index for o in report.outcomes],
    }


class _WarningsKept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["calls", "hold", "upsert", "sync", "service", "import"])
    parser.add_argument("--backend", default="asyncio")
    parser.add_argument("--redis", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--base-url", default="http://127.0.0.1:1")
    parser.add_argument("--calls-per-period", type=int, default=100)
    parser.add_argument("--period", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--margin", type=float, default=0.25)
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--last", type=int, default=0)
    parser.add_argument("--shared", type=int, nargs=2, default=(0, 0))
    parser.add_argument("--chunk", type=int, default=5)
    parser.add_argument("--no-leases", dest="leases", action="store_false")
    parser.add_argument("--roles", action="store_true", help="sync opportunity roles, not leads")
    parser.add_argument("--fallback", choices=["error", "local"], default="error")
    parser.add_argument("--outage-wait", type=float, default=60.0)
    parser.add_argument("--shuffle", type=int, default=None, help="a seed to shuffle with")
    parser.add_argument("--lead", type=int, default=1)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--until-file", default="")
    args = parser.parse_args()
    modes = {
        "calls": calls,
        "hold": hold,
        "upsert": upsert,
        "sync": sync,
        "service": service,
        "import": bulk_import,
    }
    mode = modes[args.mode]
    result = anyio.run(mode, args, backend=args.backend)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
