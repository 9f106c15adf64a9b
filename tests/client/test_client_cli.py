"""smsctl against the fake gateway: what the server received, what the operator sees."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from smsgateway.v1 import smsgateway_pb2 as pb


async def test_send_maps_every_option_and_prints_one_line_per_call(gateway, run_cli):
    result = await run_cli(
        "--target", gateway.target,
        "send",
        "--to", "13800000000,13800000001， 13800000002",
        "--to", "+86 138-0000-0003",
        "--sign", "Acme",
        "--content", "Your parcel is here",
        "--kind", "notice",
        "--request-id", "ops-1",
    )  # fmt: skip
    assert result.code == 0, result.err
    (request,) = gateway.fake.of("SendSms")
    assert list(request.phone_numbers) == [
        "13800000000",
        "13800000001",
        "13800000002",
        "+86 138-0000-0003",  # spaces belong to the number; only commas separate
    ]
    assert (request.sign, request.content, request.kind, request.request_id) == (
        "Acme",
        "Your parcel is here",
        pb.SMS_KIND_NOTICE,
        "ops-1",
    )
    assert result.out.splitlines() == [
        "request ops-1",
        'content "【Acme】Your parcel is here"',
        "#0  bizId 20260101000000000000  ACCEPTED  2 numbers",
        "#1  bizId 20260101000000000001  ACCEPTED  2 numbers",
        "total 4 recipients: 4 accepted, 0 failed, 0 unknown, 0 suppressed; "
        "1 segment(s) per message",
    ]
    assert result.err == ""


async def test_send_reads_recipients_from_a_file(gateway, run_cli, tmp_path: Path):
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("13800000000\n13800000001,13800000002\n\n")
    result = await run_cli(
        "send", "--target", gateway.target, "--to-file", str(numbers), "--to", "13900000000",
        "--sign", "Acme", "--content", "Hi",
    )  # fmt: skip
    assert result.code == 0, result.err
    (request,) = gateway.fake.of("SendSms")
    assert list(request.phone_numbers) == [
        "13900000000",
        "13800000000",
        "13800000001",
        "13800000002",
    ]
    assert request.kind == pb.SMS_KIND_UNSPECIFIED and len(request.request_id) == 36


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["send", "--sign", "Acme", "--content", "Hi"], "--to and/or --to-file"),
        (["send", "--to", ",", "--sign", "A", "--content", "Hi"], "no phone number"),
        (["send", "--to", "1", "--sign", "A", "--content", "Hi", "--kind", "spam"], "invalid"),
        (["send", "--to", "1", "--content", "Hi"], "--sign"),
        (["send", "--to-file", "/nonexistent/n.txt", "--sign", "A", "--content", "x"], "n.txt"),
        (
            [
                "send-template",
                "--to",
                "1",
                "--sign",
                "A",
                "--content",
                "x",
                "--template-id",
                "T",
                "--params",
                "{code: 1}",
            ],
            "not valid JSON",
        ),
        (["watch", "uplinks", "--biz-id", "1"], "unrecognized"),
        (["watch", "reports", "--ack-deadline", "5"], "need --group"),
        (["watch", "reports", "--from-start", "--from-cursor", "3"], "not allowed"),
        (["watch", "reports", "--since", "yesterday"], "ISO 8601"),
        (["sandbox", "faults"], "--clear"),
        (["frobnicate"], "invalid choice"),
    ],
)
async def test_usage_errors_exit_2_without_calling(gateway, run_cli, argv, message):
    result = await run_cli("--target", gateway.target, *argv)
    assert result.code == 2
    assert message in result.err
    assert gateway.fake.requests == []


async def test_send_violations_are_printed_one_per_line(gateway, run_cli, status_factory):
    gateway.fake.script["SendSms"] = [
        status_factory(
            grpc.StatusCode.INVALID_ARGUMENT,
            "invalid request: 2 violation(s) in phone_numbers",
            reason="INVALID_ARGUMENT",
            violations=[
                ("phone_numbers[0]", "'123' is not a valid phone number"),
                ("phone_numbers[2]", "'abc' is not a valid phone number"),
            ],
        )
    ]
    result = await run_cli(
        "--target", gateway.target, "send", "--to", "123,13800000000,abc",
        "--sign", "Acme", "--content", "Hi",
    )  # fmt: skip
    assert result.code == 1
    assert result.out == ""
    (request,) = gateway.fake.of("SendSms")
    assert result.err.splitlines() == [
        "error: INVALID_ARGUMENT: invalid request: 2 violation(s) in phone_numbers",
        "  - phone_numbers[0]: '123' is not a valid phone number",
        "  - phone_numbers[2]: 'abc' is not a valid phone number",
        f"  request_id: {request.request_id}",
    ]


async def test_partial_send_prints_the_calls_that_went_out(gateway, run_cli, status_factory):
    stored = pb.GetSendResponse(
        request_id="r-7",
        content="【Acme】Hi",
        calls=[
            pb.SendCallStatus(
                call=pb.UpstreamCall(
                    index=0,
                    phone_numbers=["13800000000"],
                    biz_id="20260101000000000009",
                    outcome=pb.CALL_OUTCOME_ACCEPTED,
                    provider_code="10000",
                ),
                recipients=[
                    pb.RecipientStatus(
                        phone_number="13800000000", status=pb.DELIVERY_STATUS_PENDING
                    )
                ],
                pending_count=1,
            ),
            pb.SendCallStatus(
                call=pb.UpstreamCall(
                    index=1,
                    phone_numbers=["13800000001"],
                    outcome=pb.CALL_OUTCOME_UNKNOWN,
                    message="no answer within 5s",
                )
            ),
        ],
        call_count=2,
        recipient_count=2,
        accepted_count=1,
        unknown_count=1,
        segments_per_message=1,
    )
    failure = pb.SendFailure(
        request_id="r-7", call_count=2, recipient_count=2, accepted_count=1, unknown_count=1
    )
    gateway.fake.script["SendSms"] = [
        status_factory(
            grpc.StatusCode.UNKNOWN,
            "1 provider call has an unknown outcome",
            reason="UPSTREAM_OUTCOME_UNKNOWN",
            metadata={"request_id": "r-7"},
            extra=[failure],
        )
    ]
    gateway.fake.script["GetSend"] = [stored]
    result = await run_cli(
        "--target", gateway.target, "send", "--to", "13800000000,13800000001",
        "--sign", "Acme", "--content", "Hi", "--request-id", "r-7",
    )  # fmt: skip
    assert result.code == 1
    # The whole result, read with GetSend: every call with its bizId, every recipient.
    (lookup,) = gateway.fake.of("GetSend")
    assert lookup.request_id == "r-7"
    assert "#0  bizId 20260101000000000009  ACCEPTED  1 numbers" in result.out
    assert "#1  bizId -  UNKNOWN  1 numbers  (-: no answer within 5s)" in result.out
    assert "13800000000  20260101000000000009  PENDING" in result.out
    assert "1 accepted, 0 failed, 1 unknown" in result.out
    err = result.err.splitlines()
    assert err[0] == (
        "error: UNKNOWN: 1 provider call has an unknown outcome [UPSTREAM_OUTCOME_UNKNOWN]"
    )
    assert "  request_id: r-7" in err
    assert "smsctl status --request-id r-7 shows every call" in err[-1]
    assert len(gateway.fake.of("SendSms")) == 1  # an unknown outcome is never retried


async def test_deadline_prints_the_request_id(gateway, run_cli):
    gateway.fake.script["SendSms"] = [5.0]  # answers after the deadline
    result = await run_cli(
        "--target", gateway.target, "--timeout", "0.3", "send", "--to", "13800000000",
        "--sign", "Acme", "--content", "Hi",
    )  # fmt: skip
    assert result.code == 1
    (request,) = gateway.fake.of("SendSms")
    assert result.err.startswith("error: DEADLINE_EXCEEDED")
    assert f"  request_id: {request.request_id}" in result.err.splitlines()
    assert f"--request-id {request.request_id} resumes the send" in result.err


async def test_status_by_request_id_prints_every_call(gateway, run_cli):
    gateway.fake.script["GetSend"] = [
        pb.GetSendResponse(
            request_id="r-8",
            calls=[
                pb.SendCallStatus(
                    call=pb.UpstreamCall(
                        index=0,
                        phone_numbers=["13800000000"],
                        biz_id="20260101000000000010",
                        outcome=pb.CALL_OUTCOME_ACCEPTED,
                    ),
                    recipients=[
                        pb.RecipientStatus(
                            phone_number="13800000000", status=pb.DELIVERY_STATUS_DELIVERED
                        )
                    ],
                    delivered_count=1,
                )
            ],
            call_count=1,
            recipient_count=1,
            accepted_count=1,
            next_page_token="p2",
        ),
        pb.GetSendResponse(
            request_id="r-8",
            calls=[
                pb.SendCallStatus(
                    call=pb.UpstreamCall(
                        index=1, phone_numbers=["13800000001"], outcome=pb.CALL_OUTCOME_NOT_SENT
                    )
                )
            ],
        ),
    ]
    result = await run_cli("--target", gateway.target, "status", "--request-id", "r-8")
    assert result.code == 0, result.err
    assert [r.page_token for r in gateway.fake.of("GetSend")] == ["", "p2"]
    assert "#0  bizId 20260101000000000010  ACCEPTED  1 numbers  (1 delivered" in result.out
    assert "#1  bizId -  NOT_SENT  1 numbers" in result.out
    assert "13800000000  20260101000000000010  DELIVERED" in result.out

    usage = await run_cli("--target", gateway.target, "status")
    assert usage.code == 2 and "give a BIZID or --request-id" in usage.err


async def test_send_retries_unavailable_with_the_same_request_id(
    gateway, run_cli, status_factory, caplog
):
    gateway.fake.script["SendSms"] = [
        status_factory(grpc.StatusCode.UNAVAILABLE, "token unavailable", reason="X")
    ]
    result = await run_cli(
        "--target", gateway.target, "send", "--to", "13800000000",
        "--sign", "Acme", "--content", "Hi",
    )  # fmt: skip
    assert result.code == 0
    first, second = gateway.fake.of("SendSms")
    assert first.request_id == second.request_id
    # On a terminal this goes to stderr; under pytest the root logger is pytest's.
    assert "SendSms failed (attempt 1 of 4), retrying in" in caplog.text


async def test_json_output_and_json_errors(gateway, run_cli, status_factory):
    result = await run_cli(
        "send", "--to", "13800000000", "--sign", "Acme", "--content", "Hi",
        "--target", gateway.target, "--json",
    )  # fmt: skip
    assert result.code == 0
    sent = json.loads(result.out)
    assert sent["acceptedCount"] == 1 and sent["failedCount"] == 0
    assert sent["calls"][0]["outcome"] == "CALL_OUTCOME_ACCEPTED"

    gateway.fake.script["GetBalance"] = [
        status_factory(
            grpc.StatusCode.FAILED_PRECONDITION,
            "provider refused",
            reason="UPSTREAM_REJECTED",
            metadata={"provider_code": "10001"},
        )
    ]
    result = await run_cli("--json", "--target", gateway.target, "balance")
    assert result.code == 1 and result.out == ""
    assert json.loads(result.err) == {
        "error": {
            "code": "FAILED_PRECONDITION",
            "message": "provider refused",
            "reason": "UPSTREAM_REJECTED",
            "domain": "smsgateway",
            "metadata": {"provider_code": "10001"},
        }
    }


async def test_send_template(gateway, run_cli):
    result = await run_cli(
        "--target", gateway.target, "send-template", "--to", "13800000000",
        "--sign", "Acme", "--template-id", "1192360392260608",
        "--params", '{"code": "4321"}', "--content", "Your code is 4321", "--kind",
        "verification-code",
    )  # fmt: skip
    assert result.code == 0, result.err
    (request,) = gateway.fake.of("SendTemplateSms")
    assert request.template_id == "1192360392260608"
    assert json.loads(request.template_params_json) == {"code": "4321"}
    assert request.content == "Your code is 4321"
    assert request.kind == pb.SMS_KIND_VERIFICATION_CODE
    assert 'content "【Acme】Your code is 4321"' in result.out


async def test_balance(gateway, run_cli):
    result = await run_cli("--target", gateway.target, "balance")
    assert (result.code, result.out) == (0, "balance 1234.50  (read 2026-01-01T00:00:00Z)\n")
    result = await run_cli("--target", gateway.target, "balance", "--json")
    assert json.loads(result.out)["balance"] == "1234.50"


async def test_status_prints_a_table_and_totals(gateway, run_cli):
    result = await run_cli("--target", gateway.target, "status", "20260101000000000042")
    assert result.code == 0, result.err
    assert gateway.fake.of("GetSendStatus")[0].biz_id == "20260101000000000042"
    assert result.out.splitlines() == [
        "bizId 20260101000000000042",
        "NUMBER       STATUS     CODE   REPORT TIME",
        "13800000000  DELIVERED  10000  2026-01-01T00:00:07Z",
        "13800000001  PENDING    -      -",
        "total 2: 1 delivered, 1 pending, 0 failed",
    ]


async def test_status_of_an_unknown_biz_id(gateway, run_cli, status_factory):
    gateway.fake.script["GetSendStatus"] = [
        status_factory(grpc.StatusCode.NOT_FOUND, "bizId 1 is unknown", reason="BIZ_ID_NOT_FOUND")
    ]
    result = await run_cli("--target", gateway.target, "status", "1")
    assert result.code == 1
    assert result.err == "error: NOT_FOUND: bizId 1 is unknown [BIZ_ID_NOT_FOUND]\n"


async def test_watch_reports_with_a_group_acks_what_it_printed(gateway, run_cli, events):
    gateway.fake.reports = [events.report(c) for c in range(1, 8)]
    gateway.fake.hold_streams = True
    result = await run_cli(
        "--target", gateway.target, "watch", "reports", "--from-cursor", "3",
        "--group", "billing", "--ack-deadline", "20", "--max-outstanding", "50",
        "--biz-id", "20260101000000000001", "--status", "delivered", "--status", "rate-limited",
        "--phone", "13800000000", "--sign", "Acme", "--max-events", "3",
    )  # fmt: skip
    assert result.code == 0, result.err
    (request,) = gateway.fake.of("StreamDeliveryReports")
    assert request.start.after_cursor == 2  # --from-cursor is inclusive
    assert request.consumer_group.name == "billing"
    assert request.consumer_group.ack_deadline.seconds == 20
    assert request.consumer_group.max_outstanding == 50
    assert list(request.filter.statuses) == [
        pb.DELIVERY_STATUS_DELIVERED,
        pb.DELIVERY_STATUS_RATE_LIMITED,
    ]
    assert list(request.filter.biz_ids) == ["20260101000000000001"]
    assert list(request.filter.phone_numbers) == ["13800000000"]
    assert request.filter.sign == "Acme"
    lines = result.out.splitlines()
    assert [line.split()[0] for line in lines] == ["cursor=3", "cursor=4", "cursor=5"]
    assert lines[0] == (
        "cursor=3 bizId=20260101000000000001 phone=13800000000 status=DELIVERED code=10000 "
        'segments=1 reportTime=2026-01-01T00:00:03Z source=PUSH message="请求成功"'
    )
    acks = gateway.fake.of("AcknowledgeEvents")
    assert [c for a in acks for c in a.cursors] == [3, 4, 5]  # in order, each once
    assert all(
        a.consumer_group == "billing" and a.stream == pb.EVENT_STREAM_DELIVERY_REPORTS for a in acks
    )
    # What the server delivered beyond the printed three stays unacknowledged. How many it
    # got to deliver before the watch hung up is a race (6 alone, or 6 and 7): not asserted.
    assert gateway.fake.unacked <= {6, 7}


async def test_watch_in_a_group_acknowledges_a_fast_stream_in_batches(gateway, run_cli, events):
    gateway.fake.uplinks = [events.uplink(c) for c in range(1, 251)]
    gateway.fake.hold_streams = True
    result = await run_cli(
        "--target", gateway.target, "watch", "uplinks", "--group", "g", "--max-events", "250"
    )  # fmt: skip
    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == 250
    acks = gateway.fake.of("AcknowledgeEvents")
    assert [c for a in acks for c in a.cursors] == list(range(1, 251))
    assert len(acks) <= 10, [len(a.cursors) for a in acks]  # not one call per event
    assert max(len(a.cursors) for a in acks) <= 100
    assert gateway.fake.unacked == set()


async def test_watch_without_group_does_not_ack_and_ends_with_the_stream(gateway, run_cli, events):
    gateway.fake.uplinks = [events.uplink(1), events.uplink(2, content='stop "now"')]
    result = await run_cli("--target", gateway.target, "watch", "uplinks", "--from-start")
    assert result.code == 0, result.err
    assert gateway.fake.of("StreamUplinks")[0].start.position == pb.START_POSITION_EARLIEST
    assert gateway.fake.of("AcknowledgeEvents") == []
    assert result.out.splitlines()[1] == (
        'cursor=2 phone=13900000000 sign="Acme" sendTime=2026-01-01T00:00:02Z source=PULL '
        'content="stop \\"now\\""'
    )


async def test_watch_start_options(gateway, run_cli, events):
    await run_cli("--target", gateway.target, "watch", "uplinks", "--since", "2026-01-01T08:00")
    await run_cli(
        "--target", gateway.target, "watch", "uplinks", "--since", "2026-01-01T08:00+08:00"
    )
    await run_cli("--target", gateway.target, "watch", "uplinks", "--since", "90m")
    await run_cli("--target", gateway.target, "watch", "uplinks", "--after-cursor", "41")
    await run_cli("--target", gateway.target, "watch", "uplinks")
    naive, zoned, age, after, default = gateway.fake.of("StreamUplinks")
    assert naive.start.start_time.ToDatetime(UTC) == datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert zoned.start.start_time.ToDatetime(UTC) == datetime(2026, 1, 1, 0, tzinfo=UTC)
    ago = datetime.now(UTC) - age.start.start_time.ToDatetime(UTC)
    assert timedelta(minutes=89) < ago < timedelta(minutes=91)
    assert after.start.after_cursor == 41
    assert not default.HasField("start") and not default.HasField("consumer_group")


async def test_watch_json_prints_one_object_per_line(gateway, run_cli, events):
    gateway.fake.uplinks = [events.uplink(1), events.uplink(2)]
    result = await run_cli("--target", gateway.target, "--json", "watch", "uplinks")
    lines = result.out.splitlines()
    assert [json.loads(line)["cursor"] for line in lines] == ["1", "2"]  # int64 as string


async def test_watch_out_of_range_names_the_oldest_cursor(gateway, run_cli, status_factory):
    gateway.fake.script["StreamDeliveryReports"] = [
        status_factory(
            grpc.StatusCode.OUT_OF_RANGE,
            "cursor 2 is no longer retained",
            reason="CURSOR_OUT_OF_RANGE",
            metadata={"oldest_cursor": "500"},
        )
    ]
    result = await run_cli("--target", gateway.target, "watch", "reports", "--after-cursor", "2")
    assert result.code == 1
    assert "  oldest_cursor: 500" in result.err.splitlines()


async def test_reports_list_pages_until_the_limit(gateway, run_cli, events):
    gateway.fake.reports = [events.report(c) for c in range(1, 10)]
    result = await run_cli(
        "--target", gateway.target, "reports", "list", "--page-size", "2", "--limit", "3",
        "--status", "delivered", "--biz-id", "20260101000000000001",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert [line.split()[0] for line in result.out.splitlines()] == [
        "cursor=1",
        "cursor=2",
        "cursor=3",
    ]
    requests = gateway.fake.of("ListDeliveryReports")
    assert [r.page_token for r in requests] == ["", "2"]
    assert list(requests[0].filter.statuses) == [pb.DELIVERY_STATUS_DELIVERED]


async def test_uplinks_list_all_pages_as_json(gateway, run_cli, events):
    gateway.fake.uplinks = [events.uplink(c) for c in range(1, 151)]
    result = await run_cli(
        "--target", gateway.target, "uplinks", "list", "--json", "--phone", "13900000000"
    )
    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == 150
    requests = gateway.fake.of("ListUplinks")
    assert len(requests) == 2 and list(requests[0].filter.phone_numbers) == ["13900000000"]


async def test_suppressions_commands(gateway, run_cli):
    listed = await run_cli("--target", gateway.target, "suppressions", "list", "--sign", "Acme")
    added = await run_cli(
        "--target", gateway.target, "suppressions", "add", "--sign", "Acme",
        "--phone", "13800000005", "--reason", "complaint",
    )  # fmt: skip
    removed = await run_cli(
        "--target", gateway.target, "suppressions", "remove", "--sign", "Acme",
        "--phone", "13800000009",
    )  # fmt: skip
    absent = await run_cli(
        "--target", gateway.target, "suppressions", "remove", "--sign", "Acme",
        "--phone", "13800000001",
    )  # fmt: skip
    assert listed.out == (
        'sign="Acme" phone=13800000009 reason="uplink" created=2026-01-01T00:00:00Z\n'
    )
    assert added.out.startswith('suppressed sign="Acme" phone=13800000005 reason="complaint"')
    assert removed.out == 'removed 13800000009 from the suppression list of "Acme"\n'
    assert absent.out == '13800000001 was not suppressed for "Acme"\n'
    (add,) = gateway.fake.of("AddSuppression")
    assert (add.sign, add.phone_number, add.reason) == ("Acme", "13800000005", "complaint")
    assert gateway.fake.of("ListSuppressions")[0].sign == "Acme"


async def test_target_from_the_environment(gateway, run_cli, monkeypatch):
    monkeypatch.setenv("SMSCTL_TARGET", gateway.target)
    result = await run_cli("balance")
    assert result.code == 0 and len(gateway.fake.of("GetBalance")) == 1


async def test_unreachable_gateway_exits_1_within_the_timeout(run_cli):
    result = await run_cli("--target", "127.0.0.1:1", "--timeout", "0.5", "balance")
    assert result.code == 1
    assert result.err.splitlines()[-1].startswith("error: UNAVAILABLE:")


def test_installed_console_script_prints_help():
    smsctl = Path(sys.executable).with_name("smsctl")
    done = subprocess.run(
        [str(smsctl), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SMSCTL_TARGET": ""},
    )
    assert done.returncode == 0, done.stderr
    for command in ("send", "send-template", "balance", "status", "watch", "sandbox"):
        assert command in done.stdout


async def test_watch_into_a_closed_pipe_stops_quietly_and_acks_only_what_was_written(
    gateway, events
):
    """`smsctl watch uplinks --group g | head -1`, with the real console script."""
    gateway.fake.uplinks = [events.uplink(c) for c in range(1, 41)]
    gateway.fake.stream_interval = 0.05
    smsctl = Path(sys.executable).with_name("smsctl")
    read_fd, write_fd = os.pipe()
    proc = await asyncio.create_subprocess_exec(
        str(smsctl), "--target", gateway.target, "watch", "uplinks", "--group", "g",
        stdout=write_fd, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    os.close(write_fd)
    with os.fdopen(read_fd) as reader:
        first = await asyncio.to_thread(reader.readline)
    assert first.startswith("cursor=1 ")
    _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0
    assert err.decode() == ""
    acked = [c for a in gateway.fake.of("AcknowledgeEvents") for c in a.cursors]
    assert acked == list(range(1, len(acked) + 1))  # in order, nothing skipped
    assert 1 <= len(acked) < 40  # stopped at the closed pipe, not at the end
