#!/usr/bin/env node
// Sends one SMS through the gateway with @grpc/grpc-js and @grpc/proto-loader, loading
// the contract straight from proto/smsgateway/v1/smsgateway.proto, and prints the
// response as JSON. On failure it prints the status and its google.rpc details (one line
// per BadRequest violation, the ErrorInfo reason and metadata, RetryInfo, and the partial
// SendSmsResponse of a send where some provider calls failed), and exits 1.
//
//   node clients/node/send_sms.js --to 13800000000,13800000001 --sign Acme \
//        --content "Hello" [--kind notice] [--request-id ID] [--target host:port]
//
// --target defaults to $SMSCTL_TARGET, else localhost:50051.
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');
const { parseArgs } = require('node:util');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
// protobufjs is what proto-loader builds on; used here to decode the status details.
const protobuf = require('protobufjs');

const PROTO_ROOT = path.resolve(__dirname, '..', '..', 'proto');
const PROTO_FILE = 'smsgateway/v1/smsgateway.proto';
const KINDS = {
  'verification-code': 'SMS_KIND_VERIFICATION_CODE',
  notice: 'SMS_KIND_NOTICE',
  marketing: 'SMS_KIND_MARKETING',
};

// The google.rpc messages the gateway packs into its statuses (field numbers as in
// googleapis' google/rpc/status.proto and error_details.proto).
const RPC_PROTO = `
syntax = "proto3";
package google.rpc;
message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
message BadRequest {
  message FieldViolation { string field = 1; string description = 2; }
  repeated FieldViolation field_violations = 1;
}
message RetryInfo { google.protobuf.Duration retry_delay = 1; }
`;

const TO_OBJECT = { longs: String, enums: String, defaults: true };

function usage(message) {
  process.stderr.write(
    `${message}\nusage: send_sms.js --to N[,N...] --sign S --content C ` +
      '[--kind verification-code|notice|marketing] [--request-id ID] [--target HOST:PORT]\n',
  );
  process.exit(2);
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        to: { type: 'string', multiple: true },
        sign: { type: 'string' },
        content: { type: 'string' },
        kind: { type: 'string' },
        'request-id': { type: 'string' },
        target: { type: 'string' },
        timeout: { type: 'string' },
      },
    }));
  } catch (err) {
    usage(err.message);
  }
  const numbers = (values.to || []).flatMap((v) => v.split(/[,，]/)).map((n) => n.trim());
  if (!numbers.some(Boolean)) usage('--to is required');
  if (!values.sign || !values.content) usage('--sign and --content are required');
  if (values.kind && !KINDS[values.kind]) usage(`unknown --kind ${values.kind}`);
  const timeout = Number(values.timeout || 30);
  if (!(timeout > 0)) usage('--timeout must be a positive number of seconds');
  return {
    target: values.target || process.env.SMSCTL_TARGET || 'localhost:50051',
    timeoutMs: timeout * 1000,
    request: {
      phoneNumbers: numbers.filter(Boolean),
      sign: values.sign,
      content: values.content,
      kind: values.kind ? KINDS[values.kind] : 'SMS_KIND_UNSPECIFIED',
      // A fixed id per send makes a retry of this very request safe (AIP-155).
      requestId: values['request-id'] || crypto.randomUUID(),
    },
  };
}

function describeError(err, types) {
  const lines = [`error: ${grpc.status[err.code] || err.code}: ${err.details}`];
  const raw = err.metadata && err.metadata.get('grpc-status-details-bin')[0];
  if (!raw) return lines;
  const status = types.Status.decode(raw);
  for (const any of status.details) {
    const name = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    if (name === 'google.rpc.BadRequest') {
      for (const v of types.BadRequest.decode(any.value).field_violations) {
        lines.push(`  - ${v.field}: ${v.description}`);
      }
    } else if (name === 'google.rpc.ErrorInfo') {
      const info = types.ErrorInfo.decode(any.value);
      lines[0] += ` [${info.reason}]`;
      for (const [k, v] of Object.entries(info.metadata || {})) lines.push(`  ${k}: ${v}`);
    } else if (name === 'google.rpc.RetryInfo') {
      const d = types.RetryInfo.decode(any.value).retry_delay || {};
      lines.push(`  retry after ${Number(d.seconds || 0) + (d.nanos || 0) / 1e9}s`);
    } else if (name === 'smsgateway.v1.SendSmsResponse') {
      const partial = types.SendSmsResponse.toObject(
        types.SendSmsResponse.decode(any.value),
        TO_OBJECT,
      );
      lines.push(`  partial send: ${JSON.stringify(partial)}`);
    }
  }
  return lines;
}

function main() {
  const { target, timeoutMs, request } = parseOptions();
  const definition = protoLoader.loadSync(PROTO_FILE, {
    includeDirs: [PROTO_ROOT],
    keepCase: false,
    ...TO_OBJECT,
  });
  const { smsgateway } = grpc.loadPackageDefinition(definition);
  const rpcRoot = new protobuf.Root();
  for (const file of ['google/protobuf/any.proto', 'google/protobuf/duration.proto']) {
    rpcRoot.addJSON(protobuf.common[file].nested);
  }
  protobuf.parse(RPC_PROTO, rpcRoot, { keepCase: true });
  const gatewayRoot = protobuf.loadSync(path.join(PROTO_ROOT, PROTO_FILE));
  const types = {
    Status: rpcRoot.lookupType('google.rpc.Status'),
    ErrorInfo: rpcRoot.lookupType('google.rpc.ErrorInfo'),
    BadRequest: rpcRoot.lookupType('google.rpc.BadRequest'),
    RetryInfo: rpcRoot.lookupType('google.rpc.RetryInfo'),
    SendSmsResponse: gatewayRoot.lookupType('smsgateway.v1.SendSmsResponse'),
  };

  const client = new smsgateway.v1.SmsGateway(target, grpc.credentials.createInsecure());
  const deadline = new Date(Date.now() + timeoutMs);
  client.SendSms(request, { deadline }, (err, response) => {
    client.close();
    if (err) {
      process.stderr.write(describeError(err, types).join('\n') + '\n');
      process.exitCode = 1;
      return;
    }
    process.stdout.write(JSON.stringify(response, null, 2) + '\n');
  });
}

main();
