// console.* as Lambda's Node.js runtime writes it: one record per call,
// tagged with time, request id and level, as text or JSON
// (AWS_LAMBDA_LOG_FORMAT), filtered by AWS_LAMBDA_LOG_LEVEL, to stdout or,
// when the platform passes _LAMBDA_TELEMETRY_LOG_FD, framed to that fd.

import fs from 'node:fs';
import util from 'node:util';
import { intoError, toFormatted } from './errors.mjs';

// The same global slots as AWS's client, which some libraries read.
const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const TENANT_ID = Symbol.for('aws.lambda.runtime.tenantId');

export const setCurrentRequestId = (id) => { globalThis[REQUEST_ID] = id; };
export const setCurrentTenantId = (id) => { globalThis[TENANT_ID] = id; };

const LEVELS = Object.freeze({
  TRACE: { name: 'TRACE', priority: 1, tlvMask: 0b00100 },
  DEBUG: { name: 'DEBUG', priority: 2, tlvMask: 0b01000 },
  INFO: { name: 'INFO', priority: 3, tlvMask: 0b01100 },
  WARN: { name: 'WARN', priority: 4, tlvMask: 0b10000 },
  ERROR: { name: 'ERROR', priority: 5, tlvMask: 0b10100 },
  FATAL: { name: 'FATAL', priority: 6, tlvMask: 0b11000 },
});

// Errors inside a JSON record: their type, message and stack lines first.
function errorReplacer(_key, value) {
  if (!(value instanceof Error)) return value;
  return Object.assign({
    errorType: value?.constructor?.name ?? 'UnknownError',
    errorMessage: value.message,
    stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
  }, value);
}

function jsonRecord(time, level, params) {
  const record = { timestamp: time, level: level.name, requestId: globalThis[REQUEST_ID] };
  const tenantId = globalThis[TENANT_ID];
  if (tenantId !== undefined && tenantId !== null) record.tenantId = tenantId;
  if (params.length === 1) {
    // A single argument is kept as a value (objects nest) when it serializes.
    record.message = params[0];
    try {
      return JSON.stringify(record, errorReplacer);
    } catch {
      record.message = util.format(record.message);
      return JSON.stringify(record);
    }
  }
  record.message = util.format(...params);
  const error = params.find((param) => param instanceof Error);
  if (error) {
    record.errorType = error?.constructor?.name ?? 'UnknownError';
    record.errorMessage = error.message;
    record.stackTrace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
  }
  return JSON.stringify(record);
}

const textRecord = (time, level, params) =>
  `${time}\t${globalThis[REQUEST_ID]}\t${level.name}\t${util.format(...params)}`;

// On stdout a record is one line: newlines inside it become carriage returns.
function stdoutWriter(format) {
  return (level, params) => {
    const line = format(new Date().toISOString(), level, params);
    process.stdout.write(line.replace(/\n/g, '\r') + '\n');
  };
}

// On the telemetry fd each record is a frame: type (0xa55a0003 text,
// 0xa55a0002 JSON, or'ed with the level), length, timestamp in µs, message.
function fdWriter(fd, format, frameType, suffix) {
  const header = Buffer.alloc(16);
  return (level, params) => {
    const now = new Date();
    const message = Buffer.from(format(now.toISOString(), level, params) + suffix, 'utf8');
    header.writeUInt32BE((frameType | level.tlvMask) >>> 0, 0);
    header.writeInt32BE(message.length, 4);
    header.writeBigInt64BE(BigInt(now.valueOf()) * 1000n, 8);
    fs.writeSync(fd, header);
    fs.writeSync(fd, message);
  };
}

function chooseWriter(json) {
  const fdText = process.env._LAMBDA_TELEMETRY_LOG_FD;
  if (fdText === undefined || fdText === null) return stdoutWriter(json ? jsonRecord : textRecord);
  const fd = parseInt(fdText);
  delete process.env._LAMBDA_TELEMETRY_LOG_FD;
  return json ? fdWriter(fd, jsonRecord, 0xa55a0002, '') : fdWriter(fd, textRecord, 0xa55a0003, '\n');
}

const ignore = () => {};

function installConsole(write) {
  const threshold = LEVELS[process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase()] ?? LEVELS.TRACE;
  const method = (level) => (level.priority >= threshold.priority
    ? (message, ...params) => write(level, [message, ...params])
    : ignore);
  console.trace = method(LEVELS.TRACE);
  console.debug = method(LEVELS.DEBUG);
  console.info = method(LEVELS.INFO);
  console.log = console.info;
  console.warn = method(LEVELS.WARN);
  console.error = method(LEVELS.ERROR);
  // FATAL is never filtered out.
  console.fatal = (message, ...params) => write(LEVELS.FATAL, [message, ...params]);
}

// logError(label, error) writes the runtime's own error records:
// "<label> \t{json}" in text, the error as the message in JSON.
export const structuredConsole = { logError: ignore };

export function patchConsole() {
  const json = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === 'JSON';
  installConsole(chooseWriter(json));
  structuredConsole.logError = json
    ? (_label, error) => console.error(intoError(error))
    : (label, error) => console.error(label, toFormatted(intoError(error)));
}
