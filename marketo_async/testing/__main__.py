"""Run an emulator as a loopback server until interrupted.

``python -m marketo_async.testing serve --port 8080`` serves FakeMarketo;
``python -m marketo_async.testing serve-leadgen --port 8081`` serves FakeLeadGen
(``http://127.0.0.1:8081/pubapi/v1.2/``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio

from .._config import RateLimits
from ._activities import rest_view
from ._activity_log import LoggedActivity
from ._emulator import Latency
from ._fake import FakeMarketo
from ._leadgen import ENDPOINT_PATH, FakeLeadGen
from ._server import os_error_in


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m marketo_async.testing", description="A Marketo Engage REST API emulator."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve HTTP/1.1 on loopback until interrupted")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--seed", metavar="FILE.json", help="load leads, lists, programs ...")
    serve.add_argument("--calls", type=int, help="calls per --period before 606 (off if unset)")
    serve.add_argument("--period", type=float, default=20.0, help="rate window in seconds")
    serve.add_argument("--concurrency", type=int, help="calls in flight before 615")
    serve.add_argument("--daily-quota", type=int, help="calls per day before 607")
    serve.add_argument("--latency", type=float, default=0.0, help="seconds per call")
    serve.add_argument("--per-record", type=float, default=0.0, help="extra seconds per record")
    serve.add_argument("--jitter", type=float, default=0.0, help="random extra seconds, at most")
    serve.add_argument("--token-ttl", type=float, default=3600.0)
    serve.add_argument("--client-id", default="fake-client-id")
    serve.add_argument("--client-secret", default="fake-client-secret")
    _bulk_options(serve)
    _activity_options(serve)
    leadgen = commands.add_parser(
        "serve-leadgen", help="serve FakeLeadGen (Lead Gen & CRM) on loopback until interrupted"
    )
    leadgen.add_argument("--port", type=int, default=8081)
    leadgen.add_argument("--host", default="127.0.0.1")
    leadgen.add_argument("--seed", metavar="FILE.json", help="load fields, leads and lists")
    leadgen.add_argument("--calls", type=int, default=10, help="calls per second before 107")
    leadgen.add_argument("--daily-quota", type=int, default=50_000, help="calls a day before 106")
    leadgen.add_argument("--latency", type=float, default=0.0, help="seconds per call")
    leadgen.add_argument("--per-record", type=float, default=0.0, help="extra seconds per record")
    leadgen.add_argument("--jitter", type=float, default=0.0, help="random extra seconds, at most")
    leadgen.add_argument(
        "--date-range-paging", choices=("offset", "capped", "unlimited"), default="offset"
    )
    leadgen.add_argument("--account-id", default="fake-account")
    leadgen.add_argument("--secret-key", default="fake-secret-key")
    return parser


def _bulk_options(serve: argparse.ArgumentParser) -> None:
    """``serve``'s options for emulated bulk jobs."""
    bulk = serve.add_argument_group("bulk jobs")
    bulk.add_argument("--import-seconds", type=float, help="fixed seconds per import job")
    bulk.add_argument("--export-seconds", type=float, help="fixed seconds per export job")
    bulk.add_argument(
        "--status-interval", type=float, help="seconds between export status updates (60)"
    )
    bulk.add_argument(
        "--cut-downloads",
        type=float,
        metavar="FRACTION",
        help="cut every fresh export download after this share of the file (0.5: halfway)",
    )


def _activity_options(serve: argparse.ArgumentParser) -> None:
    """``serve``'s options for activity pages and injected faults."""
    activity = serve.add_argument_group("activities and faults")
    activity.add_argument(
        "--short-pages",
        type=float,
        default=0.0,
        metavar="RATE",
        help="cut this share of activity pages short, with more to come (0.3: about a third)",
    )
    activity.add_argument(
        "--activity-log",
        metavar="FILE.jsonl",
        help="append every activity recorded, one JSON line each (REST shape), to FILE",
    )
    activity.add_argument(
        "--fault-rate", type=float, default=0.0, metavar="RATE", help="fail this share of calls"
    )
    activity.add_argument(
        "--fault-codes",
        default="608",
        metavar="CODES",
        help="what a failed call answers: Marketo codes, HTTP statuses or 'drop' (608,502,drop)",
    )
    activity.add_argument(
        "--applied-fault-rate",
        type=float,
        default=0.0,
        metavar="RATE",
        help="apply this share of calls, then answer 604 (the write landed; the client can't know)",
    )
    activity.add_argument(
        "--fault-paths", metavar="REGEX", help="only calls whose path matches fail (all if unset)"
    )
    activity.add_argument(
        "--fault-seed",
        type=int,
        metavar="N",
        help="seed the random faults: the same calls fail in every run (random if unset)",
    )


def _bulk_settings(fake: FakeMarketo, args: argparse.Namespace) -> None:
    settings = fake.bulk.settings
    if args.import_seconds is not None:
        settings.import_seconds = args.import_seconds
    if args.export_seconds is not None:
        settings.export_seconds = args.export_seconds
    if args.status_interval is not None:
        settings.status_interval = args.status_interval
    if args.cut_downloads is not None:
        fake.bulk.cut_downloads(at=args.cut_downloads, times=None)


def _activity_settings(fake: FakeMarketo, args: argparse.Namespace) -> None:
    if args.short_pages:
        fake.activity_log.short_pages(args.short_pages)
    if args.fault_rate or args.applied_fault_rate:
        codes = [code.strip() for code in args.fault_codes.split(",") if code.strip()]
        fake.faults.randomly(
            args.fault_rate,
            codes=codes,
            paths=args.fault_paths,
            applied_rate=args.applied_fault_rate,
            seed=args.fault_seed,
        )
    if args.activity_log:
        # Line-buffered: each activity is in the file as soon as it is recorded.
        handle = Path(args.activity_log).open("w", encoding="utf-8", buffering=1)  # noqa: SIM115

        def append(entry: LoggedActivity) -> None:
            handle.write(json.dumps(rest_view(entry)) + "\n")

        fake.activity_log.listeners.append(append)


def _serve_leadgen(args: argparse.Namespace) -> int:
    fake = FakeLeadGen(
        latency=Latency(base=args.latency, per_record=args.per_record, jitter=args.jitter),
        calls_per_second=args.calls or None,
        daily_quota=args.daily_quota or None,
        account_id=args.account_id,
        secret_key=args.secret_key,
        date_range_paging=args.date_range_paging,
    )
    if args.seed and not _seeded(fake, args.seed):
        return 2
    return _serve_until_interrupted(
        fake.serve,
        args,
        lambda port: (
            f"FakeLeadGen serving http://{args.host}:{port}{ENDPOINT_PATH} "
            f"(account_id={fake.account_id})"
        ),
    )


def _seeded(fake: FakeMarketo | FakeLeadGen, path: str) -> bool:
    """Seed ``fake`` from ``path``; a file that cannot be read or is not a JSON object is one
    line on stderr (and False)."""
    try:
        fake.seed_file(path)
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"error: cannot seed from {path}: {why}", file=sys.stderr)
        return False
    return True


def _serve_until_interrupted(
    serve: Callable[..., Coroutine[Any, Any, None]],
    args: argparse.Namespace,
    banner: Callable[[int], str],
) -> int:
    """Serve on ``--host``/``--port`` and print ``banner(port)`` once listening, until
    interrupted (exit status 130); a port it cannot have is one line on stderr and status 1."""
    host, port = args.host, args.port

    async def run() -> None:
        async with anyio.create_task_group() as tg:
            bound = await tg.start(
                lambda task_status: serve(port, host=host, task_status=task_status)
            )
            print(banner(bound), flush=True)

    try:
        anyio.run(run)
    except KeyboardInterrupt:
        return 130  # stopped by Ctrl-C: the shell's status for SIGINT, as the CLI's commands
    except Exception as exc:
        refused = os_error_in(exc)
        if refused is None:
            raise
        print(
            f"error: cannot serve on {host}:{port}: {refused.strerror or refused} "
            "(pick another --port, or 0 for a free one)",
            file=sys.stderr,
        )
        return 1
    return 0


def _rate_limits(args: argparse.Namespace) -> RateLimits | None:
    if args.calls is None and args.concurrency is None and args.daily_quota is None:
        return None
    unlimited = RateLimits.unlimited()
    return RateLimits(
        calls=args.calls or unlimited.calls,
        period=args.period,
        concurrency=args.concurrency or unlimited.concurrency,
        daily_quota=args.daily_quota,
        window_margin=0.0,
    )


@contextlib.contextmanager
def _usage_errors(parser: argparse.ArgumentParser) -> Iterator[None]:
    """An option value the emulator refuses (a rate over 1, a bad --fault-paths regex) is a
    usage error, exit 2, not a traceback."""
    try:
        yield
    except (ValueError, re.error) as exc:
        parser.error(str(exc))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve-leadgen":
        return _serve_leadgen(args)
    fake = FakeMarketo(
        latency=Latency(base=args.latency, per_record=args.per_record, jitter=args.jitter),
        rate_limits=_rate_limits(args),
        token_ttl=args.token_ttl,
        client_id=args.client_id,
        client_secret=args.client_secret,
    )
    parser = _parser()
    with _usage_errors(parser):
        _activity_settings(fake, args)  # before seeding: the log holds the seed's activities too
    if args.seed and not _seeded(fake, args.seed):
        return 2
    with _usage_errors(parser):
        _bulk_settings(fake, args)
    return _serve_until_interrupted(
        fake.serve,
        args,
        lambda port: (
            f"FakeMarketo serving http://{args.host}:{port} "
            f"(client_id={fake.client_id} client_secret={fake.client_secret})"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
