// Handlers wrapped in awslambda.streamifyResponse(). lambdad's Runtime API
// takes whole responses only, so the stream is collected and posted to
// /response in one piece when the handler is done, with the stream's
// content type and Lambda-Runtime-Function-Response-Mode: streaming; an
// error is posted to /error as any other. (AWS's client sends the chunks
// as they come, chunked, with an error as trailers of that request.)

import { once } from 'node:events';
import { Writable } from 'node:stream';
import { beforeExit } from './context.mjs';
import { InvalidStreamingOperation } from './errors.mjs';
import { structuredConsole } from './logging.mjs';

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

// awslambda.HttpResponseStream.from(stream, {statusCode, headers, cookies}):
// the prelude JSON and eight NUL bytes go before the first chunk.
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

class CollectedResponseStream extends Writable {
  constructor(highWaterMark) {
    super(highWaterMark === undefined ? {} : { highWaterMark });
    this.chunks = [];
    this.contentType = DEFAULT_CONTENT_TYPE;
    this.written = false;
    this._onBeforeFirstWrite = undefined;
  }

  setContentType(contentType) {
    if (this.written) throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    this.contentType = contentType;
  }

  // Anything but a string or bytes is written as its JSON.
  write(chunk, encoding, callback) {
    if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk) && chunk?.constructor !== Uint8Array) {
      chunk = JSON.stringify(chunk);
    }
    if (!this.written && typeof this._onBeforeFirstWrite === 'function') {
      this._onBeforeFirstWrite((early) => super.write(early));
    }
    this.written = true;
    return super.write(chunk, encoding, callback);
  }

  end(chunk, encoding, callback) {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
      this.write(chunk, typeof encoding === 'string' ? encoding : undefined);
      return super.end(typeof encoding === 'function' ? encoding : callback);
    }
    return super.end(chunk, encoding, callback);
  }

  _write(chunk, encoding, done) {
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, encoding));
    done();
  }
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

function postCollected(client, id, stream, next) {
  const body = Buffer.concat(stream.chunks);
  client.post(`/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/response`, body,
    { 'Content-Type': stream.contentType, 'Lambda-Runtime-Function-Response-Mode': 'streaming' }, next);
}

export async function runStreamingInvoke(runtime, bodyJson, invokeContext, scheduleNext) {
  const { client, handler, metadata } = runtime;
  const id = invokeContext.invokeId;
  const [part, next] = streamingContext(scheduleNext);
  const stream = new CollectedResponseStream(metadata.highWaterMark);
  const fail = (err) => {
    structuredConsole.logError('Invoke Error', err);
    client.postInvocationError(err, id, next);
  };
  try {
    // Should the loop empty before the handler is done, go on to the next one.
    beforeExit.set(() => runtime.scheduleIteration());
    const context = invokeContext.attachEnvironmentData(part);
    const pending = handler(JSON.parse(bodyJson), stream, context);
    if (!pending || typeof pending.then !== 'function') {
      return fail('Streaming does not support non-async handlers.');
    }
    const result = await pending;
    if (typeof result !== 'undefined') console.warn('Streaming handlers ignore return values.');
    if (stream.writableEnded && !stream.writableFinished) await once(stream, 'finish');
    if (!stream.writableFinished) return fail('Response stream is not finished.');
    postCollected(client, id, stream, next);
  } catch (err) {
    fail(err);
  }
}
