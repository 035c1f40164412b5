// The Runtime API client (next, response, error, init/error) over node:http
// with one keep-alive connection. AWS's client speaks to /next, /response and
// /error through a native addon (aws-lambda-cpp over curl); this one sends
// what that addon sends, in plain JavaScript.

import http from 'node:http';
import { toRapidResponse, xrayCause } from './errors.mjs';
import { openResponseStream } from './streaming.mjs';

const BASE = '/2018-06-01/runtime';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';
const XRAY_HEADER = 'Lambda-Runtime-Function-XRay-Error-Cause';

function serialize(body) {
  try {
    return JSON.stringify(body === undefined ? null : body);
  } catch {
    throw new Error('Unable to stringify response body');
  }
}

// Header values go out as their UTF-8 bytes, as curl sends them: node:http
// refuses characters past U+00FF and, with a Buffer body, writes headers as
// Latin-1, so they are handed over as the Latin-1 spelling of those bytes.
const utf8Bytes = (text) => Buffer.from(text, 'utf8').toString('latin1');

// What aws-lambda-cpp prints when a request fails (its error level only).
const addonLog = (message) => process.stdout.write(`[ERROR] [${Date.now()}] LAMBDA_RUNTIME ${message}\n`);

// The addon's errors are made in C++: their stack is the first line only.
function addonError(message) {
  const error = new Error(message);
  error.stack = `Error: ${message}`;
  return error;
}

// The invocation headers as the addon hands them over: lower-case names,
// the deadline as a number, the trace id and ARN always present (maybe
// empty), the optional ones only when not empty.
function invocationHeaders(raw) {
  const headers = {
    'lambda-runtime-deadline-ms': parseInt(raw['lambda-runtime-deadline-ms'] ?? '0', 10) || 0,
    'lambda-runtime-aws-request-id': raw['lambda-runtime-aws-request-id'],
    'lambda-runtime-trace-id': raw['lambda-runtime-trace-id'] ?? '',
    'lambda-runtime-invoked-function-arn': raw['lambda-runtime-invoked-function-arn'] ?? '',
  };
  for (const name of ['lambda-runtime-client-context', 'lambda-runtime-cognito-identity',
    'lambda-runtime-aws-tenant-id']) {
    if (raw[name]) headers[name] = raw[name];
  }
  return headers;
}

export class RapidClient {
  constructor(hostPort) {
    this.hostPort = hostPort;
    const [hostname, port] = hostPort.split(':');
    this.hostname = hostname;
    this.port = parseInt(port, 10);
    // Two connections, as AWS's client has: the addon's (next, response,
    // error) and node:http's (init/error, streamed responses), so that an
    // init error reported while /next is pending is not queued behind it,
    // and an invocation's error can be posted while its stream is open.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.abandonStream = undefined;
  }

  // Resolves to {bodyJson, headers}; rejects as the addon does, with the
  // HTTP status or -1 when no answer came.
  nextInvocation() {
    const path = `${BASE}/invocation/next`;
    return new Promise((resolve, reject) => {
      const fail = (code, why) => {
        addonLog(why);
        reject(addonError(`Failed to get next invocation, error ${code}`));
      };
      const unanswered = () => fail(-1, `Failed to get next invocation. No Response from endpoint "${this.hostPort}${path}"`);
      const request = this.request('GET', path, {}, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => { body += chunk; });
        response.on('error', unanswered);
        response.on('end', () => {
          const status = response.statusCode;
          if (status < 200 || status > 299) return fail(status, `Failed to get next invocation. Http Response code: ${status}`);
          if (response.headers['lambda-runtime-aws-request-id'] === undefined) {
            return fail(-1, 'Failed to find header lambda-runtime-aws-request-id in response');
          }
          // Resolved from an immediate, so that the handler's stack
          // begins where it does under AWS's addon (no tick-queue frame).
          const invocation = { bodyJson: body, headers: invocationHeaders(response.headers) };
          setImmediate(() => resolve(invocation));
        });
      });
      request.on('error', unanswered);
      request.end();
    });
  }

  // The result is serialized at once: a value JSON cannot hold throws here,
  // before anything is sent.
  postInvocationResponse(result, id, callback) {
    const body = serialize(result);
    this.post(`${BASE}/invocation/${encodeURIComponent(id)}/response`, body, {}, callback, true);
  }

  postInvocationError(error, id, callback) {
    const body = serialize(toRapidResponse(error));
    const cause = xrayCause(error);
    const headers = cause ? { [XRAY_HEADER]: utf8Bytes(cause) } : {};
    this.post(`${BASE}/invocation/${encodeURIComponent(id)}/error`, body, headers, callback, true);
  }

  // (AWS's client sends this one through node:http, as Latin-1.)
  postInitError(error, callback) {
    const response = toRapidResponse(error);
    this.post(`${BASE}/init/error`, serialize(response),
      { [ERROR_TYPE_HEADER]: response.errorType }, callback, false, this.httpAgent);
  }

  // A streaming handler's response (see streaming.mjs), through node:http
  // as AWS's client sends it.
  openResponseStream(id, highWaterMark) {
    const opened = openResponseStream({
      agent: this.httpAgent, hostname: this.hostname, port: this.port,
      path: `${BASE}/invocation/${encodeURIComponent(id)}/response`, highWaterMark,
    });
    this.abandonStream = opened.abandon;
    return opened;
  }

  // The process ends on an error (AWS's client posts it synchronously and
  // exits): what the stream in progress has not sent yet is not sent.
  abandonResponseStream() {
    this.abandonStream?.();
  }

  request(method, path, headers, onResponse, agent = this.agent) {
    return http.request({ hostname: this.hostname, port: this.port, path, method, headers, agent }, onResponse);
  }

  // The callback runs once the API has answered, whatever the answer, or
  // when the request failed (the addon ignores failed posts too, saying
  // so when the API refused one: `asAddon`).
  post(path, text, headers, callback, asAddon = false, agent = this.agent) {
    const body = Buffer.from(text, 'utf8');
    let called = false;
    const done = () => {
      if (!called) {
        called = true;
        callback();
      }
    };
    const request = this.request('POST', path, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      ...headers,
    }, (response) => {
      const status = response.statusCode;
      if (asAddon && (status < 200 || status > 299)) {
        addonLog(`Failed to post handler success response. Http response code: ${status}.`);
      }
      response.on('data', () => {});
      response.on('end', done);
      response.on('error', done);
    }, agent);
    request.on('error', done);
    request.end(body);
  }
}
