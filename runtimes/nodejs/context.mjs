// The handler's context object and its callback: what AWS's client builds
// in CallbackContext.js and InvokeContext.js, with the same properties in
// the same order (console.log(context) prints the same).

import { setCurrentRequestId, setCurrentTenantId, structuredConsole } from './logging.mjs';

// One beforeExit listener for the whole process, swapped per invocation; the
// slot is global like AWS's, so user code sees the same thing there.
const LISTENER = Symbol.for('aws.lambda.beforeExit');
const noListener = () => {};
export const beforeExit = {
  invoke: () => globalThis[LISTENER](),
  reset: () => { globalThis[LISTENER] = noListener; },
  set: (listener) => { globalThis[LISTENER] = listener; },
};

export const isPromise = (value) => value && value.then && typeof value.then === 'function';

// callback(err, result), context.done/succeed/fail and the
// callbackWaitsForEmptyEventLoop flag; returns [callback, context part, markCompleted].
function rawCallbackContext(client, id, scheduleNext) {
  const postError = (err, next) => {
    structuredConsole.logError('Invoke Error', err);
    client.postInvocationError(err, id, next);
  };
  let completed = false;
  const complete = (result, next) => {
    if (completed) {
      console.error('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
      return;
    }
    completed = true;
    client.postInvocationResponse(result, id, next);
  };
  let waitForEmptyEventLoop = true;
  const callback = function (err, result) {
    beforeExit.reset();
    if (err !== undefined && err !== null) return postError(err, scheduleNext);
    if (!waitForEmptyEventLoop) return complete(result, scheduleNext);
    beforeExit.set(() => setImmediate(() => complete(result, scheduleNext)));
  };
  const done = (err, result) => {
    beforeExit.reset();
    if (err !== undefined && err !== null) postError(err, scheduleNext);
    else complete(result, scheduleNext);
  };
  const succeed = (result) => done(null, result);
  const fail = (err) => (err === undefined || err === null ? done('handled') : done(err, null));
  const part = {
    get callbackWaitsForEmptyEventLoop() { return waitForEmptyEventLoop; },
    set callbackWaitsForEmptyEventLoop(value) { waitForEmptyEventLoop = value; },
    succeed, fail, done,
  };
  return [callback, part, () => { completed = true; }];
}

// Only the first of callback/succeed/fail/done counts (a call that throws
// does not: the next one still may).
export function buildCallbackContext(client, id, scheduleNext) {
  const [callback, part, markCompleted] = rawCallbackContext(client, id, scheduleNext);
  let finished = false;
  const firstOnly = (fn) => function () {
    if (!finished) {
      fn.apply(null, arguments);
      finished = true;
    }
  };
  part.succeed = firstOnly(part.succeed);
  part.fail = firstOnly(part.fail);
  part.done = firstOnly(part.done);
  return [firstOnly(callback), part, markCompleted];
}

function parseJsonHeader(text, name) {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

// One invocation's headers (lower-case names, as the client hands them over).
export class InvokeContext {
  constructor(headers) {
    this.headers = headers;
  }

  get invokeId() {
    return this.headers['lambda-runtime-aws-request-id'];
  }

  updateLoggingContext() {
    setCurrentRequestId(this.invokeId);
    setCurrentTenantId(this.headers['lambda-runtime-aws-tenant-id']);
  }

  // Adds the function's and the invocation's data to `target`, after
  // moving the trace id into _X_AMZN_TRACE_ID.
  attachEnvironmentData(target, extra = {}) {
    const h = this.headers;
    if (h['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    const env = process.env;
    const deadline = h['lambda-runtime-deadline-ms'];
    return Object.assign(target, {
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    }, {
      clientContext: parseJsonHeader(h['lambda-runtime-client-context'], 'ClientContext'),
      identity: parseJsonHeader(h['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
      invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
      awsRequestId: h['lambda-runtime-aws-request-id'],
      tenantId: h['lambda-runtime-aws-tenant-id'],
      ...extra,
      getRemainingTimeInMillis: function () {
        return deadline - Date.now();
      },
    });
  }
}
