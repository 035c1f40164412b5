// The invoke loop: wait for /next, run the handler, answer, repeat, with
// the completion rules of AWS's client (Runtime.js): a promise settles the
// invocation; a callback answers when the event loop is empty unless
// context.callbackWaitsForEmptyEventLoop is false; a handler that does
// neither is answered null once the event loop is empty.

import { beforeExit, buildCallbackContext, InvokeContext, isPromise } from './context.mjs';
import { structuredConsole } from './logging.mjs';
import { STREAM_RESPONSE } from './loader.mjs';
import { runStreamingInvoke } from './streaming.mjs';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

export class Runtime {
  // options.promiseOnly: Node.js 24's model (no callback, no waiting for an
  // empty event loop; a plain return value is the answer).
  constructor(client, handler, metadata, errorCallbacks, options = {}) {
    this.client = client;
    this.handler = handler;
    this.metadata = metadata;
    this.errorCallbacks = errorCallbacks;
    this.promiseOnly = Boolean(options.promiseOnly);
  }

  // Starts the next iteration on the next turn of the event loop. An error
  // escaping an iteration is the runtime's own fault: it is reported as an
  // uncaught exception would be.
  scheduleIteration() {
    setImmediate(() => {
      this.handleOnce().then(() => {}, (err) => {
        console.log(`Unexpected Top Level Error: ${err.toString()}`);
        this.errorCallbacks.uncaughtException(err);
      });
    });
  }

  async handleOnce() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const invokeContext = new InvokeContext(headers);
    invokeContext.updateLoggingContext();
    const scheduleNext = () => this.scheduleIteration();
    const id = invokeContext.invokeId;
    if (this.metadata.streaming === STREAM_RESPONSE) {
      this.setErrorCallbacks(id);
      return runStreamingInvoke(this, bodyJson, invokeContext, scheduleNext);
    }
    if (this.promiseOnly) return this.invokePromiseOnly(bodyJson, invokeContext, scheduleNext);
    const [callback, callbackContext, markCompleted] = buildCallbackContext(this.client, id, scheduleNext);
    try {
      this.setErrorCallbacks(id);
      this.setDefaultExitListener(id, markCompleted);
      const result = this.handler(JSON.parse(bodyJson),
        invokeContext.attachEnvironmentData(callbackContext), callback);
      if (isPromise(result)) {
        result.then(callbackContext.succeed, callbackContext.fail).catch(callbackContext.fail);
      }
    } catch (err) {
      callback(err);
    }
  }

  async invokePromiseOnly(bodyJson, invokeContext, scheduleNext) {
    const id = invokeContext.invokeId;
    this.setErrorCallbacks(id);
    beforeExit.reset();
    const context = invokeContext.attachEnvironmentData({},
      { xRayTraceId: invokeContext.headers['lambda-runtime-trace-id'] || undefined });
    let result;
    try {
      result = await this.handler(JSON.parse(bodyJson), context);
    } catch (err) {
      await nextTurn();
      structuredConsole.logError('Invoke Error', err);
      return this.client.postInvocationError(err, id, scheduleNext);
    }
    await nextTurn();
    try {
      this.client.postInvocationResponse(result, id, scheduleNext);
    } catch (err) {
      structuredConsole.logError('Invoke Error', err);
      this.client.postInvocationError(err, id, scheduleNext);
    }
  }

  // From now on an uncaught exception (exit 129) or an unhandled rejection
  // (exit 128) fails this invocation.
  setErrorCallbacks(id) {
    this.errorCallbacks.uncaughtException = (error) => {
      this.client.abandonResponseStream();
      this.client.postInvocationError(error, id, () => process.exit(129));
    };
    this.errorCallbacks.unhandledRejection = (error) => {
      this.client.abandonResponseStream();
      this.client.postInvocationError(error, id, () => process.exit(128));
    };
  }

  // A handler that neither returns a promise nor calls back is answered
  // null when the event loop empties.
  setDefaultExitListener(id, markCompleted) {
    beforeExit.set(() => {
      markCompleted();
      this.client.postInvocationResponse(null, id, () => this.scheduleIteration());
    });
  }
}
