// lambdad's runtime interface client for Lambda's managed Node.js runtimes
// (nodejs18.x … nodejs24.x): `node /var/runtime/index.mjs` with _HANDLER,
// LAMBDA_TASK_ROOT and AWS_LAMBDA_RUNTIME_API in the environment. It behaves
// as AWS's client (aws-lambda-ric 3.x) does; see README.md beside it.

import { beforeExit } from './context.mjs';
import { CallbackHandlerDeprecated, UnhandledPromiseRejection } from './errors.mjs';
import { handlerMetadata, loadHandler } from './loader.mjs';
import { patchConsole, structuredConsole } from './logging.mjs';
import { RapidClient } from './rapid.mjs';
import { Runtime } from './runtime.mjs';

const CALLBACK_REMOVED = 'ERROR: AWS Lambda has removed support for callback-based function handlers ' +
  'starting with Node.js 24. You need to modify this function to use a supported handler signature ' +
  'to use Node.js 24 or later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

// nodejs24.x and later (told by AWS_EXECUTION_ENV) take promise handlers only.
function promiseOnlyRuntime() {
  const match = /^AWS_Lambda_nodejs(\d+)\.x$/.exec(process.env.AWS_EXECUTION_ENV ?? '');
  return Boolean(match) && Number(match[1]) >= 24;
}

// Until the first invocation, an uncaught error is an init error; the
// runtime then points these callbacks at the invocation in progress.
function installProcessListeners(client) {
  const errorCallbacks = {
    uncaughtException: (error) => client.postInitError(error, () => process.exit(129)),
    unhandledRejection: (error) => client.postInitError(error, () => process.exit(128)),
  };
  // Each of these ends the process. AWS's client posts the error
  // synchronously and exits, so nothing runs after the first one: a second
  // (the same failure seen by two promises, say) is not reported here either.
  let ending = false;
  process.on('uncaughtException', (error) => {
    if (ending) return;
    ending = true;
    structuredConsole.logError('Uncaught Exception', error);
    errorCallbacks.uncaughtException(error);
  });
  process.on('unhandledRejection', (reason, promise) => {
    if (ending) return;
    ending = true;
    const error = new UnhandledPromiseRejection(reason, promise);
    structuredConsole.logError('Unhandled Promise Rejection', error);
    errorCallbacks.unhandledRejection(error);
  });
  beforeExit.reset();
  process.on('beforeExit', beforeExit.invoke);
  return errorCallbacks;
}

// Node.js 24's client logs a failed init as "Init Error" and rejects
// callback handlers (three parameters or more) before the first invocation.
async function loadPromiseOnly(client, appRoot, handlerName) {
  try {
    const handler = await loadHandler(appRoot, handlerName);
    const metadata = handlerMetadata(handler);
    if (metadata.argsNum >= 3 && !metadata.streaming) throw new CallbackHandlerDeprecated(CALLBACK_REMOVED);
    return [handler, metadata];
  } catch (error) {
    structuredConsole.logError('Init Error', error);
    client.postInitError(error, () => process.exit(129));
    return new Promise(() => {});
  }
}

async function run(appRoot, handlerName = '') {
  patchConsole();
  const client = new RapidClient(process.env.AWS_LAMBDA_RUNTIME_API);
  const errorCallbacks = installProcessListeners(client);
  const promiseOnly = promiseOnlyRuntime();
  let handler, metadata;
  if (promiseOnly) {
    [handler, metadata] = await loadPromiseOnly(client, appRoot, handlerName);
  } else {
    handler = await loadHandler(appRoot, handlerName);
    metadata = handlerMetadata(handler);
  }
  new Runtime(client, handler, metadata, errorCallbacks, { promiseOnly }).scheduleIteration();
}

await run(process.env.LAMBDA_TASK_ROOT ?? '/var/task', process.env._HANDLER);
