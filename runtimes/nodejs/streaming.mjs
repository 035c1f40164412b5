// Handlers wrapped in awslambda.streamifyResponse(): the response is one
// POST /response sent as the handler writes it (HTTP/1.1 chunked, one
// chunk per write) with `Lambda-Runtime-Function-Response-Mode: streaming`;
// an error ends it with the trailers Lambda-Runtime-Function-Error-Type and
// Lambda-Runtime-Function-Error-Body (base64 of the error's JSON), whether
// or not anything was written before.
//
// What the handler writes to is a node:http ClientRequest behind a plain
// object of some of its methods and properties, as under AWS's client, so
// that what node:http does with it (when the headers go out, framing,
// corking, backpressure, its errors and events) is what AWS's client does,
// quirks included: end(chunk) writes the chunk past the JSON conversion and
// the HTTP prelude, and drops its callback; the highWaterMark option sizes
// the socket, not the request; an error of the request (destroy(), a lost
// connection) is also an unhandled rejection, which ends the process.

import http from 'node:http';
import net from 'node:net';
import { beforeExit, isPromise } from './context.mjs';
import { InvalidStreamingOperation, toRapidResponse } from './errors.mjs';
import { structuredConsole } from './logging.mjs';

const RESPONSE_MODE_HEADER = 'Lambda-Runtime-Function-Response-Mode';
const ERROR_TYPE_TRAILER = 'Lambda-Runtime-Function-Error-Type';
const ERROR_BODY_TRAILER = 'Lambda-Runtime-Function-Error-Body';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

// awslambda.HttpResponseStream.from(stream, {statusCode, headers, cookies}):
// the prelude's JSON and eight NUL bytes go out (as two chunks of their
// own) before the first write's.
export class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    const metadataPrelude = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadataPrelude);
      write(new Uint8Array(8));
    };
    return underlyingStream;
  }
}

// The members of the request the handler sees: these methods, bound to it
// (the only enumerable keys), and these properties, read (and for the
// first ones also set) through to it.
const EXPOSED_METHODS = [
  'cork', 'destroy', 'end', 'uncork', 'write',
  'addListener', 'emit', 'eventNames', 'getMaxListeners', 'listenerCount', 'listeners', 'off', 'on',
  'once', 'prependListener', 'prependOnceListener', 'rawListeners', 'removeAllListeners',
  'removeListener', 'setMaxListeners',
  'setContentType',
];
const SETTABLE_PROPERTIES = ['destroyed', 'writable', '_onBeforeFirstWrite'];
const READ_ONLY_PROPERTIES = [
  'writableFinished', 'writableObjectMode', 'writableBuffer', 'writableEnded', 'writableNeedDrain',
  'writableHighWaterMark', 'writableCorked', 'writableLength',
];

function exposed(request) {
  const stream = {};
  for (const name of EXPOSED_METHODS) stream[name] = request[name].bind(request);
  for (const name of SETTABLE_PROPERTIES) {
    Object.defineProperty(stream, name, {
      get: () => request[name],
      set: (value) => { request[name] = value; },
    });
  }
  for (const name of READ_ONLY_PROPERTIES) Object.defineProperty(stream, name, { get: () => request[name] });
  return stream;
}

function deferred() {
  const d = {};
  d.promise = new Promise((resolve, reject) => Object.assign(d, { resolve, reject }));
  return d;
}

const isBytes = (chunk) => Buffer.isBuffer(chunk) || chunk?.constructor === Uint8Array;

// Opens the streamed POST (its headers leave with the first write, or at
// the end). Returns {stream, fail(err, callback), responseDone, abandon}:
// responseDone settles when the Runtime API has answered (or the request
// failed); fail() ends the body with the error trailers; abandon() drops
// the connection (if the request is not done) and with it what node has
// not sent yet, as the end of AWS's process would, without a word.
export function openResponseStream({ agent, hostname, port, path, highWaterMark }) {
  // Set on the shared agent each time: a socket it keeps alive from an
  // earlier invocation keeps the size it was made with.
  agent.createConnection = (options, onConnect) =>
    net.createConnection({ ...options, highWaterMark }, onConnect);
  const headers = {
    [RESPONSE_MODE_HEADER]: 'streaming',
    Trailer: [ERROR_TYPE_TRAILER, ERROR_BODY_TRAILER],
    'Content-Type': DEFAULT_CONTENT_TYPE,
  };
  // Nobody waits for `answered`: a failed request is an unhandled rejection.
  const answered = deferred();
  const done = deferred();
  let settled = false;
  done.promise.then(() => {}, () => {}).finally(() => { settled = true; });
  const request = http.request({ method: 'POST', hostname, port, path, headers, agent }, (response) => {
    answered.resolve(response.statusCode);
    response.on('data', () => {});
    response.on('aborted', (err) => {
      done.reject(err);
      request.destroy(err);
    });
    response.on('end', () => done.resolve());
  });
  request.on('error', (err) => {
    answered.reject(err);
    done.reject(err);
    request.destroy(err);
  });

  let written = false;
  const write = request.write.bind(request);
  const end = request.end.bind(request);
  request.setContentType = (contentType) => {
    if (written) throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    request.setHeader('Content-Type', contentType);
  };
  // Anything but a string or bytes is written as its JSON (a null chunk
  // fails on its length first, as under AWS's client).
  request.write = function (chunk, encoding, callback) {
    void chunk.length;
    if (typeof chunk !== 'string' && !isBytes(chunk)) chunk = JSON.stringify(chunk);
    if (!written && typeof this._onBeforeFirstWrite === 'function') this._onBeforeFirstWrite((early) => write(early));
    const accepted = write(chunk, encoding, callback);
    written = true;
    return accepted;
  };
  // Only the first argument reaches node:http's end().
  request.end = function (chunkOrCallback) {
    end(chunkOrCallback);
  };
  const fail = (err, callback) => {
    const error = toRapidResponse(err);
    request.addTrailers({
      [ERROR_TYPE_TRAILER]: error.errorType,
      [ERROR_BODY_TRAILER]: Buffer.from(JSON.stringify(error)).toString('base64'),
    });
    request.end(callback);
  };
  const abandon = () => {
    if (settled) return;
    request.removeAllListeners('error');
    request.on('error', () => {});
    request.destroy();
  };
  return { stream: exposed(request), fail, responseDone: done.promise.then(() => {}), abandon };
}

// The context of a streaming invocation: the callbackWaitsForEmptyEventLoop
// flag decides whether the next invocation waits for an empty event loop.
function streamingContext(scheduleNext) {
  let waitForEmptyEventLoop = true;
  const context = {
    get callbackWaitsForEmptyEventLoop() { return waitForEmptyEventLoop; },
    set callbackWaitsForEmptyEventLoop(value) { waitForEmptyEventLoop = value; },
  };
  const next = () => {
    beforeExit.reset();
    if (!waitForEmptyEventLoop) scheduleNext();
    else beforeExit.set(() => setImmediate(scheduleNext));
  };
  return [context, next];
}

// The stream is opened before anything of the invocation is looked at: an
// event that is not JSON, a bad client context, a handler that does not
// return a promise all end it with the error trailers. The next invocation
// comes once the API has answered the whole response, or once the error
// trailers are written.
export async function runStreamingInvoke(runtime, bodyJson, invokeContext, scheduleNext) {
  const highWaterMark = runtime.metadata.highWaterMark || undefined;
  const [part, next] = streamingContext(scheduleNext);
  const { stream, fail: failStream, responseDone } =
    runtime.client.openResponseStream(invokeContext.invokeId, highWaterMark);
  const fail = (err, callback) => {
    structuredConsole.logError('Invoke Error', err);
    failStream(err, callback);
  };
  try {
    // Should the loop empty before the handler is done, go on to the next one.
    beforeExit.set(() => runtime.scheduleIteration());
    const context = invokeContext.attachEnvironmentData(part);
    const event = JSON.parse(bodyJson);
    const pending = runtime.handler(event, stream, context);
    if (!isPromise(pending)) return fail('Streaming does not support non-async handlers.', next);
    const result = await pending;
    if (typeof result !== 'undefined') console.warn('Streaming handlers ignore return values.');
    await responseDone;
    if (!stream.writableFinished) return fail('Response stream is not finished.', next);
    next();
  } catch (err) {
    fail(err, next);
  }
}
