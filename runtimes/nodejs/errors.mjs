// The runtime's own error types and the ways AWS's client turns an error
// into JSON: the Runtime API's error body, the "Invoke Error \t{...}" log
// form and the X-Ray error cause. Written for lambdad; the behaviour (names,
// key order, fallbacks) follows aws-lambda-nodejs-runtime-interface-client.

import util from 'node:util';

// Lambda escapes DEL in everything it forwards from an error.
const escapeDel = (s) => s.replace(/\x7F/g, '%7F');

function looksLikeError(value) {
  return Boolean(value && value.name && value.message && value.stack &&
    typeof value.name === 'string' && typeof value.message === 'string' &&
    typeof value.stack === 'string');
}

export function intoError(value) {
  return value instanceof Error ? value : new Error(value);
}

// The body posted to /error and /init/error: {errorType, errorMessage, trace}.
export function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || looksLikeError(error)) {
      return {
        errorType: error.name?.replace(/\x7F/g, '%7F'),
        errorMessage: error.message?.replace(/\x7F/g, '%7F'),
        trace: escapeDel(error.stack).split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while ' +
        'retrieving one or more of its message, name, and stack',
    };
  }
}

// An Error's name, message and code are not enumerable: list them first,
// then the error's own enumerable properties, then the stack as lines.
function withVisibleFields(value) {
  if (!(value instanceof Error)) return value;
  const shown = Object.assign(
    { errorType: value.name, errorMessage: value.message, code: value.code }, value);
  if (typeof value.stack === 'string') shown.stack = value.stack.split('\n');
  return shown;
}

// "\t{...}": what follows "Invoke Error " or "Uncaught Exception " in a log line.
export function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_key, value) => withVisibleFields(value));
  } catch {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

// One stack line "    at label (path:line:col)" as X-Ray wants it.
function xrayFrame(stackLine) {
  let line = stackLine.trim().replace(/\(|\)/g, '');
  line = line.substring(line.indexOf(' ') + 1);
  const cut = line.lastIndexOf(' ');
  const label = cut >= 0 ? line.slice(0, cut) : null;
  const where = (label === null || label.length === 0 ? line : line.slice(cut + 1)).split(':');
  return { path: where[0], line: parseInt(where[1]), label: label || 'anonymous' };
}

// The Lambda-Runtime-Function-XRay-Error-Cause header's JSON ('' if it fails).
export function xrayCause(error) {
  try {
    const stack = error.stack ? escapeDel(error.stack).split('\n').slice(1).map(xrayFrame) : [];
    const cause = {
      working_directory: process.cwd(),
      exceptions: [{
        type: error.name?.replace(/\x7F/g, '%7F'),
        message: error.message?.replace(/\x7F/g, '%7F'),
        stack,
      }],
      paths: [...new Set(stack.map((frame) => frame.path))],
    };
    return JSON.stringify(cause);
  } catch {
    return '';
  }
}

class ImportModuleError extends Error {}
class HandlerNotFound extends Error {}
class MalformedHandlerName extends Error {}
class UserCodeSyntaxError extends Error {}
class MalformedStreamingHandler extends Error {}
class InvalidStreamingOperation extends Error {}
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
// Node.js 24's client (v4) names its errors with an own property.
class CallbackHandlerDeprecated extends Error {
  constructor(message) {
    super(message);
    this.name = 'Runtime.CallbackHandlerDeprecated';
  }
}

for (const type of [ImportModuleError, HandlerNotFound, MalformedHandlerName, UserCodeSyntaxError,
  MalformedStreamingHandler, InvalidStreamingOperation, UnhandledPromiseRejection]) {
  type.prototype.name = `Runtime.${type.name}`;
}

export {
  ImportModuleError, HandlerNotFound, MalformedHandlerName, UserCodeSyntaxError,
  MalformedStreamingHandler, InvalidStreamingOperation, UnhandledPromiseRejection,
  CallbackHandlerDeprecated,
};
