#!/usr/bin/env node
/**
 * Send one SMS through the gateway and print the SendSmsResponse as JSON.
 *
 *   node dist/examples/send-sms.js --to 13800000000,13800000001 --sign Acme \
 *        --content "Hello from Node" --kind notice
 *
 * On failure it prints the error with its google.rpc details (one line per violation,
 * the reason, metadata, RetryInfo, the partial send and its request_id) and exits 1;
 * bad usage exits 2.
 */
import { parseArgs } from "node:util";

import { status } from "@grpc/grpc-js";

import { DEFAULT_TARGET, GatewayError, SendSmsResponse, SmsGatewayClient, SmsKind } from "../src";

// Codes after which some or all of a send may have gone out.
const OUTCOME_IN_DOUBT = new Set([
  status.DEADLINE_EXCEEDED,
  status.UNAVAILABLE,
  status.UNKNOWN,
  status.CANCELLED,
  status.INTERNAL,
]);

const KINDS: Record<string, SmsKind> = {
  "verification-code": SmsKind.SMS_KIND_VERIFICATION_CODE,
  notice: SmsKind.SMS_KIND_NOTICE,
  marketing: SmsKind.SMS_KIND_MARKETING,
};

function usage(message: string): never {
  process.stderr.write(`send-sms: ${message}\n`);
  process.stderr.write(
    "usage: send-sms --to N[,N...] [--to ...] --sign S --content C [--kind verification-code|notice|marketing]\n" +
      "                [--request-id ID] [--target HOST:PORT] [--timeout S] [--api-key KEY]\n",
  );
  process.exit(2);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        to: { type: "string", multiple: true },
        sign: { type: "string" },
        content: { type: "string" },
        kind: { type: "string" },
        "request-id": { type: "string" },
        target: { type: "string" },
        timeout: { type: "string", default: "30" },
        "api-key": { type: "string" },
      },
    }));
  } catch (error) {
    usage((error as Error).message);
  }
  if (!values.to?.length) usage("--to is required");
  if (!values.sign) usage("--sign is required");
  if (values.content === undefined) usage("--content is required");
  if (values.kind !== undefined && !(values.kind in KINDS)) usage(`unknown --kind ${values.kind}`);
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) usage("--timeout must be a positive number of seconds");

  const client = new SmsGatewayClient(values.target ?? process.env.SMSCTL_TARGET ?? DEFAULT_TARGET, {
    apiKey: values["api-key"] ?? process.env.SMSCTL_API_KEY,
  });
  try {
    const response = await client.sendSms(
      {
        phoneNumbers: values.to.flatMap((entry) => entry.split(",")).filter((n) => n.trim() !== ""),
        sign: values.sign,
        content: values.content,
        kind: values.kind === undefined ? SmsKind.SMS_KIND_UNSPECIFIED : KINDS[values.kind],
        requestId: values["request-id"],
      },
      { timeoutMs: timeout * 1000 },
    );
    process.stdout.write(JSON.stringify(SendSmsResponse.toJSON(response), null, 2) + "\n");
    return 0;
  } catch (error) {
    const failure = GatewayError.from(error);
    process.stderr.write(failure.render() + "\n");
    if (failure.requestId && (failure.sendFailure || OUTCOME_IN_DOUBT.has(failure.code))) {
      // Some of the send may have gone out: the same request_id finishes it, never twice.
      process.stderr.write(`  request_id: ${failure.requestId} (retry with --request-id to resume this send)\n`);
    }
    return 1;
  } finally {
    client.close();
  }
}

main().then((code) => process.exit(code));
