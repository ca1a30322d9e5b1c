"""``activities export`` (incremental REST), ``leads changes`` and ``leads deleted``: state
files, appending only what is new, and kill -9 at random moments leaving every activity in
the output exactly once."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal

from marketo_async.testing import FakeMarketo, Latency
from tests.cli.conftest import Invoke
from tests.cli_runner import child_command, child_env

START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def fake() -> FakeMarketo:
    return FakeMarketo()


def _activities(fake: FakeMarketo, leads: int, per_lead: int, *, seed: int = 1) -> list[int]:
    rng = random.Random(seed)
    ids = [fake.add_lead(email=f"l{i}@example.com") for i in range(leads)]
    for lead_id in ids:
        for _ in range(per_lead):
            fake.add_activity(
                lead_id,
                rng.choice((1, 2, 3)),
                activity_date=START + dt.timedelta(seconds=rng.randrange(86_400)),
                primary_attribute_value="page",
                attributes={"Webpage URL": "/home"},
            )
    return ids


def _wanted(fake: FakeMarketo, types: set[int]) -> list[int]:
    return [e["id"] for e in fake.activity_log.entries if e["activityTypeId"] in types]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_first_run_then_later_runs_append_only_what_is_new(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    ids = _activities(fake, 20, 20)
    out, state = tmp_path / "out.jsonl", tmp_path / "state.json"
    first = invoke(
        fake, "activities", "export", "--type-ids", "1,2,3,12", "--since", "2025-12-01",
        "--state", state, "--out", out, "--sandbox", "--progress", "off",
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    assert "Exported 420 activities" in first.stderr and "reached 2026-" in first.stderr
    lines = _lines(out)
    assert [line["id"] for line in lines] == _wanted(fake, {1, 2, 3, 12})
    assert set(lines[0]) == {
        "id", "marketoGUID", "leadId", "activityDate", "activityTypeId",
        "primaryAttributeValue", "attributes",
    }  # fmt: skip
    assert lines[0]["activityDate"].endswith("Z")

    again = invoke(fake, "activities", "export", "--state", state, "--sandbox")
    assert again.exit_code == 0, again.output
    assert "Exported 0 activities" in again.stderr and _lines(out) == lines

    fake.add_activity(ids[0], 2)
    fake.add_lead(email="new@example.com")
    later = invoke(fake, "activities", "export", "--state", state, "--sandbox")
    assert later.exit_code == 0, later.output
    assert [line["id"] for line in _lines(out)] == _wanted(fake, {1, 2, 3, 12})
    assert json.loads(state.read_text())["count"] == 422


def test_csv_output_has_one_header_across_runs(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    ids = _activities(fake, 3, 2)
    out, state = tmp_path / "out.csv", tmp_path / "state.json"
    args = ("activities", "export", "--type-ids", "1,2,3", "--state", state, "--out", out)
    assert invoke(fake, *args, "--since", "2025-01-01", "--sandbox").exit_code == 0
    fake.add_activity(ids[1], 1, attributes={"Webpage URL": "/a,b"})
    assert invoke(fake, *args, "--sandbox").exit_code == 0
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["id"]) for row in rows] == _wanted(fake, {1, 2, 3})
    assert json.loads(rows[-1]["attributes"]) == {"Webpage URL": "/a,b"}


def test_a_state_refuses_other_filters_in_one_line_naming_the_difference_or_another_output(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    _activities(fake, 5, 1)
    out, state = tmp_path / "out.jsonl", tmp_path / "state.json"
    args = ("activities", "export", "--state", state, "--sandbox")
    made = invoke(
        fake, *args, "--type-ids", "1", "--lead-ids", "1,2,3", "--since", "2025-01-01",
        "--out", out,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    before = state.read_text()
    other_types = invoke(fake, *args, "--type-ids", "1,2", "--lead-ids", "1,2,3")
    assert other_types.exit_code == 2 and "other filters: --type-ids adds 2" in other_types.stderr
    other_leads = invoke(fake, *args, "--type-ids", "1", "--lead-ids", "2,3,4")
    assert other_leads.exit_code == 2
    [line] = [text for text in other_leads.stderr.splitlines() if "state" in text]
    assert "--lead-ids adds 4 and drops 1" in line
    with_list = invoke(fake, *args, "--type-ids", "1", "--lead-ids", "1,2,3", "--list-id", "7")
    assert with_list.exit_code == 2
    assert "--list-id 7 here, none in the state" in with_list.stderr
    fewer = invoke(fake, *args, "--type-ids", "1")
    assert fewer.exit_code == 2 and "--lead-ids none here, 1,2,3 in the state" in fewer.stderr
    assert state.read_text() == before  # a refused run leaves the state as it was
    other_out = invoke(fake, *args, "--out", tmp_path / "other.jsonl")
    assert other_out.exit_code == 2 and "writes to" in other_out.stderr
    changes = invoke(fake, "leads", "changes", "--state", state, "--sandbox")
    assert changes.exit_code == 2 and "state of an activities export" in changes.stderr
    bulk = invoke(
        fake, "activities", "export", "--created-since", "2025-01-01", "--lead-ids", "1",
        "--sandbox",
    )  # fmt: skip
    assert bulk.exit_code == 2 and "takes no --lead-ids" in bulk.stderr
    bad = invoke(fake, "activities", "export", "--type-ids", "1", "--lead-ids", "0,5", "--sandbox")
    assert bad.exit_code == 2 and "0 is not an id" in bad.stderr


def test_first_run_needs_since_and_a_file_for_the_state(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    no_since = invoke(fake, "activities", "export", "--type-ids", "1", "--sandbox")
    assert no_since.exit_code == 2 and "--since" in no_since.stderr
    no_file = invoke(
        fake, "activities", "export", "--type-ids", "1", "--since", "2025-01-01",
        "--state", tmp_path / "s.json", "--sandbox",
    )  # fmt: skip
    assert no_file.exit_code == 2 and "--out FILE" in no_file.stderr


def test_an_output_shorter_than_the_state_says_is_refused(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    _activities(fake, 5, 5)
    out, state = tmp_path / "out.jsonl", tmp_path / "state.json"
    args = ("activities", "export", "--type-ids", "1,2,3", "--state", state, "--out", out)
    assert invoke(fake, *args, "--since", "2025-01-01", "--sandbox").exit_code == 0
    out.write_text("", encoding="utf-8")
    result = invoke(fake, *args, "--sandbox")
    assert result.exit_code == 1 and "was changed or replaced" in result.stderr


def test_without_a_state_it_writes_from_since_to_stdout(invoke: Invoke, fake: FakeMarketo) -> None:
    _activities(fake, 2, 2)
    result = invoke(
        fake, "activities", "export", "--type-ids", "1,2,3", "--since", "2025-01-01", "--sandbox"
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == _wanted(
        fake, {1, 2, 3}
    )


def test_lead_changes_and_deleted_leads(invoke: Invoke, fake: FakeMarketo, tmp_path: Path) -> None:
    lead = fake.add_lead(email="a@example.com", firstName="Ada")
    gone = fake.add_lead(email="b@example.com")
    fake.store.update_lead(lead, {"firstName": "Grace"})
    fake.store.delete_lead(gone)
    changes = tmp_path / "changes.jsonl"
    result = invoke(
        fake, "leads", "changes", "--fields", "firstName", "--since", "2000-01-01",
        "--out", changes, "--sandbox",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = _lines(changes)
    assert [line["activityTypeId"] for line in lines] == [12, 12, 13]
    assert lines[2]["fields"] == [{"name": "firstName", "newValue": "Grace", "oldValue": "Ada"}]
    deleted = invoke(fake, "leads", "deleted", "--since", "2000-01-01", "--sandbox")
    assert deleted.exit_code == 0, deleted.output
    assert [json.loads(line)["leadId"] for line in deleted.stdout.splitlines()] == [gone]


def test_created_since_still_goes_through_bulk_extract(invoke: Invoke, fake: FakeMarketo) -> None:
    mixed = invoke(
        fake, "activities", "export", "--created-since", "2024-01-01", "--since", "2024-01-01",
        "--sandbox",
    )  # fmt: skip
    assert mixed.exit_code == 2 and "takes no --since" in mixed.stderr


# --------------------------------------------------------------------------- kill -9


def _env() -> dict[str, str]:
    return {
        **child_env(),
        "MARKETO_CLIENT_ID": "fake-client-id",
        "MARKETO_CLIENT_SECRET": "fake-client-secret",
    }


def _kill_at_a_random_moment(
    process: subprocess.Popen[bytes], out: Path, rng: random.Random
) -> int:
    """SIGKILL once the output has grown a random amount, a random few ms later (mid-page,
    mid-checkpoint or between calls); 1 when the process was killed, 0 when it had ended."""
    start = out.stat().st_size if out.exists() else 0
    target = start + rng.randrange(1, 60_000)  # the output grows to about 500 KB in all
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        if out.exists() and out.stat().st_size >= target:
            break
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.05))
    if process.poll() is not None:
        return 0
    process.send_signal(signal.SIGKILL)
    return 1


def _killed_three_times_then_run_to_the_end(
    fake: FakeMarketo, args: tuple[str | Path, ...], out: Path, later: Callable[[], object]
) -> int:
    """Serve ``fake``; run the CLI ``args`` (pointed at it) three times, each killed at a random
    moment, then once to the end; then ``later()`` (more activities) and once more. The kills
    that hit a running process."""
    rng = random.Random()
    kills = 0
    with start_blocking_portal() as portal:
        server, port = portal.start_task(fake.serve, 0)
        command = child_command(
            *args, "--base-url", f"http://127.0.0.1:{port}", "--rate-limit", "none",
            "--progress", "off",
        )  # fmt: skip
        for _ in range(3):
            process = subprocess.Popen(
                command, cwd=out.parent, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            kills += _kill_at_a_random_moment(process, out, rng)
            process.communicate(timeout=30)
        final = subprocess.run(
            command, cwd=out.parent, env=_env(), capture_output=True, text=True, timeout=120
        )
        assert final.returncode == 0, final.stderr
        later()  # and a later run still appends only what is new
        again = subprocess.run(
            command, cwd=out.parent, env=_env(), capture_output=True, text=True, timeout=60
        )
        assert again.returncode == 0, again.stderr
        server.cancel()
    return kills


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("output", ["jsonl", "csv"])
def test_kill_9_at_three_random_moments_then_the_same_command_leaves_each_activity_once(
    tmp_path: Path, output: str
) -> None:
    fake = FakeMarketo(latency=Latency(base=0.05, jitter=0.05))
    _activities(fake, 200, 15)
    fake.activity_log.short_pages(0.7, seed=9)  # many small pages: many checkpoints to hit
    out, state = tmp_path / f"out.{output}", tmp_path / "state.json"
    args = (
        "activities", "export", "--type-ids", "1,2,3,12", "--since", "2025-12-01",
        "--state", state, "--out", out,
    )  # fmt: skip
    kills = _killed_three_times_then_run_to_the_end(
        fake, args, out, lambda: fake.add_activity(1, 1)
    )
    if output == "jsonl":
        read = [line["id"] for line in _lines(out)]
    else:
        with out.open(encoding="utf-8") as handle:
            read = [int(row["id"]) for row in csv.DictReader(handle)]
    assert read == _wanted(fake, {1, 2, 3, 12})  # every activity once, in order
    assert kills == 3  # each run was cut short mid-run


# --------------------------------------------------------------------------- lead filters


def test_lead_ids_and_list_id_narrow_the_export_and_later_runs_keep_them(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    ids = _activities(fake, 40, 5)
    chosen = ids[3:36]  # 33 leads: two calls' worth of lead ids
    out, state = tmp_path / "out.jsonl", tmp_path / "state.json"
    first = invoke(
        fake, "activities", "export", "--type-ids", "1,2,3",
        "--lead-ids", ",".join(map(str, chosen)), "--since", "2025-12-01",
        "--state", state, "--out", out, "--sandbox", "--progress", "off",
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    assert {line["leadId"] for line in _lines(out)} == set(chosen)
    assert len(_lines(out)) == 33 * 5
    fake.add_activity(chosen[0], 1)
    fake.add_activity(ids[0], 1)  # not one of the chosen leads
    later = invoke(fake, "activities", "export", "--state", state, "--sandbox")
    assert later.exit_code == 0, later.output
    assert "Exported 1 activities" in later.stderr
    assert [line["leadId"] for line in _lines(out)][-1] == chosen[0]

    members = fake.add_list("Invitees", lead_ids=ids[:2])
    listed = tmp_path / "listed.jsonl"
    by_list = invoke(
        fake, "activities", "export", "--type-ids", "1,2,3", "--list-id", str(members),
        "--since", "2025-12-01", "--out", listed, "--sandbox",
    )  # fmt: skip
    assert by_list.exit_code == 0, by_list.output
    assert {line["leadId"] for line in _lines(listed)} == set(ids[:2])


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_leads_changes_killed_at_three_random_moments_then_the_same_command_has_each_once(
    tmp_path: Path,
) -> None:
    fake = FakeMarketo(latency=Latency(base=0.05, jitter=0.05))
    leads = [fake.add_lead(email=f"c{i}@example.com", firstName="A") for i in range(400)]
    for round_ in range(4):
        for lead_id in leads:
            fake.store.update_lead(lead_id, {"firstName": f"N{round_}", "lastName": "Z"})
    fake.activity_log.short_pages(0.7, seed=4)  # many small pages: many checkpoints to hit
    out, state = tmp_path / "changes.jsonl", tmp_path / "state.json"
    args = (
        "leads", "changes", "--fields", "firstName", "--since", "2000-01-01",
        "--state", state, "--out", out,
    )  # fmt: skip

    def later() -> None:
        fake.store.update_lead(leads[0], {"firstName": "Later"})  # appended by a later run
        fake.store.update_lead(leads[1], {"lastName": "Y"})  # not a followed field

    kills = _killed_three_times_then_run_to_the_end(fake, args, out, later)
    lines = _lines(out)
    wanted = [
        e["id"]
        for e in fake.activity_log.entries
        if e["activityTypeId"] == 12
        or (e["activityTypeId"] == 13 and any(f["name"] == "firstName" for f in e["fields"]))
    ]
    assert [line["id"] for line in lines] == wanted  # every change once, in order
    assert len(wanted) == 400 * 5 + 1
    assert lines[-1]["fields"] == [{"name": "firstName", "newValue": "Later", "oldValue": "N3"}]
    assert kills == 3  # each run was cut short mid-run


# --------------------------------------------------------------------------- hostile inputs


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[1, 2]\n", "a JSON list, not an object"),
        ('{"version": 1, "kind": "activities"}\n', "filters is None"),
        ('{"version": 1, "kind": "activities", "filters": {}, "out": "o", "format": "jsonl",'
         ' "since": "2026-01-01T00:00:00Z", "offset": "12", "count": 0}\n', "offset is '12'"),
        ('{"version": 1, "kind": "activities", "filters": {}, "out": "o", "format": "jsonl",'
         ' "since": "2026-01-01T00:00:00Z", "offset": -5, "count": 0}\n', "negative offset"),
    ],
)  # fmt: skip
def test_a_state_file_of_the_wrong_shape_is_one_error_line(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path, text: str, said: str
) -> None:
    state = tmp_path / "state.json"
    state.write_text(text, encoding="utf-8")
    result = invoke(fake, "activities", "export", "--state", state, "--sandbox")
    assert result.exit_code == 1, result.output
    assert "is not a state file this command wrote" in result.stderr and said in result.stderr
    assert fake.stats.calls == 0


def test_a_state_in_the_output_file_is_refused_before_any_call(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _activities(fake, 2, 2)
    monkeypatch.chdir(tmp_path)
    # The same file by two spellings: each save of the state would replace the output.
    result = invoke(
        fake, "activities", "export", "--type-ids", "1,2,3", "--since", "2025-12-01",
        "--state", "both.jsonl", "--out", tmp_path / "both.jsonl", "--sandbox",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--state and --out name the same file" in result.stderr
    assert not (tmp_path / "both.jsonl").exists() and fake.stats.calls == 0


def test_a_compressed_output_is_refused_and_an_upper_case_csv_suffix_gives_csv(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    _activities(fake, 1, 2)
    args = ("activities", "export", "--type-ids", "1,2,3", "--since", "2025-12-01", "--sandbox")
    result = invoke(fake, *args, "--out", tmp_path / "a.jsonl.gz")
    assert result.exit_code == 2 and "a .gz cannot take" in result.stderr, result.output
    assert fake.stats.calls == 0 and not (tmp_path / "a.jsonl.gz").exists()
    result = invoke(fake, *args, "--out", tmp_path / "A.CSV")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "A.CSV").read_text(encoding="utf-8").startswith("id,marketoGUID,")


def test_a_state_keeps_only_a_regular_file_in_step(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    # A directory is refused as --out of any command; a device as the file a state keeps.
    for out, why in ((tmp_path, "is a directory"), (Path(os.devnull), "is not one")):
        result = invoke(
            fake, "activities", "export", "--type-ids", "1", "--since", "2026-01-01",
            "--state", state, "--out", out, "--sandbox",
        )  # fmt: skip
        assert result.exit_code == 2 and why in result.stderr, result.output
    assert not state.exists() and fake.stats.calls == 0


def test_without_a_state_a_device_is_written_as_it_is(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    _activities(fake, 2, 2)
    result = invoke(
        fake, "activities", "export", "--type-ids", "1,2,3", "--since", "2025-12-01",
        "--out", os.devnull, "--sandbox",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Exported 4 activities" in result.stderr


@pytest.mark.parametrize("ids", ["-1", "0", "1,2147483648"])
def test_type_ids_out_of_range_are_refused_naming_the_option(
    invoke: Invoke, fake: FakeMarketo, ids: str
) -> None:
    result = invoke(
        fake, "activities", "export", "--type-ids", ids, "--since", "2026-01-01", "--sandbox"
    )
    assert (
        result.exit_code == 2 and "--type-ids" in result.stderr and "is not an id" in result.stderr
    )
    assert fake.stats.calls == 0


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_midway_stops_with_143_and_one_line_then_the_same_command_finishes(
    tmp_path: Path,
) -> None:
    fake = FakeMarketo(latency=Latency(base=0.05))
    _activities(fake, 100, 10)
    fake.activity_log.short_pages(0.7, seed=3)
    out, state = tmp_path / "out.jsonl", tmp_path / "state.json"
    with start_blocking_portal() as portal:
        server, port = portal.start_task(fake.serve, 0)
        command = child_command(
            "activities", "export", "--type-ids", "1,2,3", "--since", "2025-12-01",
            "--state", state, "--out", out, "--base-url", f"http://127.0.0.1:{port}",
            "--rate-limit", "none", "--progress", "off",
        )  # fmt: skip
        process = subprocess.Popen(
            command, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while not (out.exists() and out.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.005)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        final = subprocess.run(
            command, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120
        )
        server.cancel()
    said = stderr.decode()
    assert process.returncode == 143, said
    assert "Traceback" not in said and "Stopped after" in said
    assert final.returncode == 0, final.stderr
    assert [line["id"] for line in _lines(out)] == _wanted(fake, {1, 2, 3})


def test_lead_changes_refuses_a_misspelt_field_before_reading_or_saving_a_state(
    invoke: Invoke, fake: FakeMarketo, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    result = invoke(
        fake, "leads", "changes", "--fields", "emial,firstName", "--since", "2026-01-01",
        "--state", state, "--out", tmp_path / "out.jsonl", "--sandbox",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "'emial' (did you mean 'email'?)" in result.stderr
    assert not state.exists() and not (tmp_path / "out.jsonl").exists()
    assert fake.stats.by_path["/rest/v1/activities/leadchanges.json"] == 0
    fixed = invoke(
        fake, "leads", "changes", "--fields", "email,firstName", "--since", "2026-01-01",
        "--state", state, "--out", tmp_path / "out.jsonl", "--sandbox",
    )  # fmt: skip
    assert fixed.exit_code == 0, fixed.output
