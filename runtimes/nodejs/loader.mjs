// Finding the handler: "dir/file.a.b" names module file in dir/ under the
// task root and the property path a.b in it. The module is tried as
// `file`, `file.js` (as ESM when the nearest package.json says
// "type": "module"), `file.mjs`, `file.cjs`, then through Node's own
// resolution from the task root; the errors are AWS's, word for word.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  HandlerNotFound, ImportModuleError, MalformedHandlerName, MalformedStreamingHandler,
  UserCodeSyntaxError,
} from './errors.mjs';
import { HttpResponseStream } from './streaming.mjs';

// require() as seen from the runtime's entry point, so that a missing
// module's "Require stack" names it (/var/runtime/index.mjs under Lambda).
const require = createRequire(new URL('./index.mjs', import.meta.url));

export const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
export const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
export const STREAM_RESPONSE = 'response';

const noGlobalAwsLambda = ['1', 'true'].includes(process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA);

function installAwsLambdaGlobal() {
  if (noGlobalAwsLambda) return;
  globalThis.awslambda = {
    streamifyResponse: (handler, options) => {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      if (typeof options?.highWaterMark === 'number') {
        handler[HANDLER_HIGHWATERMARK] = parseInt(options.highWaterMark);
      }
      return handler;
    },
    HttpResponseStream,
  };
}

const requireIfExists = (file) => (fs.existsSync(file) ? require(file) : undefined);
const importIfExists = async (file) =>
  (fs.existsSync(file) ? await import(pathToFileURL(file).href) : undefined);

// Is `folder`'s nearest package.json one with "type": "module"? A
// node_modules folder, or a package.json without it, ends the search.
function folderIsModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const manifest = path.join(folder, '/package.json');
  if (fs.existsSync(manifest)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(manifest));
      if (pkg) return pkg.type === 'module';
    } catch (e) {
      console.warn(`${manifest} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  if (folder === '/') return false;
  return folderIsModule(path.resolve(folder, '..'));
}

const jsIsModule = (file) =>
  fs.existsSync(file + '.js') ? folderIsModule(path.resolve(path.dirname(file + '.js'))) : false;

async function loadModule(appRoot, moduleRoot, module) {
  const file = path.resolve(appRoot, moduleRoot, module);
  const extensionless = requireIfExists(file);
  if (extensionless) return extensionless;
  const esm = jsIsModule(file);
  if (!esm) {
    const cjs = requireIfExists(file + '.js');
    if (cjs) return cjs;
  }
  const loaded = (esm && (await importIfExists(file + '.js'))) ||
    (await importIfExists(file + '.mjs')) || requireIfExists(file + '.cjs');
  if (loaded) return loaded;
  // Node's resolution (node_modules, NODE_PATH) from the task root.
  return require(require.resolve(module, { paths: [appRoot, moduleRoot] }));
}

async function loadUserApp(appRoot, moduleRoot, module) {
  installAwsLambdaGlobal();
  try {
    return await loadModule(appRoot, moduleRoot, module);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e.code !== undefined && e.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }
}

// "a/b/index.handler" -> ["a/b/", "index", "handler"]
function splitHandler(fullHandler) {
  const name = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(name));
  const match = name.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new MalformedHandlerName('Bad handler');
  return [moduleRoot, match[1], match[2]];
}

export async function loadHandler(appRoot, fullHandler) {
  if (fullHandler.includes('..')) {
    throw new MalformedHandlerName(`'${fullHandler}' is not a valid handler name. ` +
      'Use absolute paths when specifying root directories in handler names.');
  }
  const [moduleRoot, module, propertyPath] = splitHandler(fullHandler);
  const app = await loadUserApp(appRoot, moduleRoot, module);
  const handler = propertyPath.split('.').reduce((value, key) => value && value[key], app);
  if (!handler) throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${fullHandler} is not a function`);
  return handler;
}

function isStreaming(handler) {
  const mark = handler[HANDLER_STREAMING];
  if (mark === undefined || mark === null || mark === false) return false;
  if (mark === STREAM_RESPONSE) return STREAM_RESPONSE;
  throw new MalformedStreamingHandler('Only response streaming is supported.');
}

function highWaterMark(handler) {
  const mark = handler[HANDLER_HIGHWATERMARK];
  if (mark === undefined || mark === null || mark === false) return undefined;
  const value = parseInt(mark);
  return isNaN(value) ? undefined : value;
}

export const handlerMetadata = (handler) => ({
  streaming: isStreaming(handler),
  highWaterMark: highWaterMark(handler),
  isAsync: handler.constructor?.name === 'AsyncFunction',
  argsNum: handler.length,
});
