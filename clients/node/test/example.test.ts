/** examples/send-sms.ts, run with node against a live gateway. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { Harness } from "./harness";

const EXAMPLE = join(__dirname, "..", "examples", "send-sms.js");
let live: Harness;

before(async () => {
  live = await Harness.start();
});
after(async () => {
  await live?.stop();
});

function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [EXAMPLE, ...args], { timeout: 60_000 }, (error, out, err) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, out, err });
    });
  });
}

test("the example sends and prints the response", async () => {
  const { code, out, err } = await run(
    "--target", live.info.grpc_target, "--to", "13500000001,13500000002", "--to", "13500000003",
    "--sign", "Acme", "--content", "Hello from Node", "--kind", "notice",
  );
  assert.equal(code, 0, err);
  const response = JSON.parse(out);
  assert.equal(response.acceptedCount, 3);
  assert.match(response.requestId, /^[0-9a-f-]{36}$/);
  assert.equal(response.calls[0].outcome, "CALL_OUTCOME_ACCEPTED");
  assert.equal(response.content, "【Acme】Hello from Node");
});

test("the example prints violations and the request_id", async () => {
  const { code, out, err } = await run("--target", live.info.grpc_target, "--to", "12", "--sign", "Acme", "--content", "x");
  assert.equal(code, 1);
  assert.equal(out, "");
  const lines = err.trimEnd().split("\n");
  assert.match(lines[0], /^error: INVALID_ARGUMENT: .* \(request_id [0-9a-f-]{36}\)$/);
  assert.match(lines[1], /^ {2}- phone_numbers\[0\]: /);
  assert.equal(lines.length, 2); // nothing was sent: no hint to resume
});

test("the example names the request_id to resume a send that timed out", async () => {
  await live.sandbox("/admin/faults", { latency_seconds: 1.5, paths: ["/sms/send"] });
  let result;
  try {
    result = await run(
      "--target", live.info.grpc_target, "--to", "13500000009", "--sign", "Acme", "--content", "x",
      "--timeout", "0.3",
    );
  } finally {
    await live.sandbox("/admin/faults", {});
  }
  assert.equal(result.code, 1);
  const lines = result.err.trimEnd().split("\n");
  assert.match(lines[0], /^error: DEADLINE_EXCEEDED: .* \(request_id [0-9a-f-]{36}\)$/);
  assert.match(lines[lines.length - 1], /^ {2}request_id: [0-9a-f-]{36} \(retry with --request-id/);
});

test("the example refuses bad usage", async () => {
  const { code, err } = await run("--sign", "Acme", "--content", "x");
  assert.equal(code, 2);
  assert.match(err, /--to is required/);
});
