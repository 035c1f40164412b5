"""The cases of test_node_ric_diff.py: for each, the files of a task
directory, the handler, the events the fake Runtime API hands out and any
environment of its own. Every case runs under lambdad's Node.js client and
under AWS's; what they do must be the same.

An event is (request id, body) or (request id, body, extra headers).
"""

CONTEXT_JS = r'''
exports.handler = async (event, context) => {
  console.log(context);
  return {
    echo: event, requestId: context.awsRequestId, functionName: context.functionName,
    functionVersion: context.functionVersion, memory: context.memoryLimitInMB,
    arn: context.invokedFunctionArn, group: context.logGroupName, stream: context.logStreamName,
    remaining: typeof context.getRemainingTimeInMillis(), waits: context.callbackWaitsForEmptyEventLoop,
    clientContext: context.clientContext, identity: context.identity, tenantId: context.tenantId,
    traceId: process.env._X_AMZN_TRACE_ID || null, keys: Object.keys(context),
    awslambda: Object.keys(globalThis.awslambda), streamify: typeof awslambda.streamifyResponse,
  };
};
'''

OUTCOMES_JS = r'''
class MyError extends Error {
  constructor(message) { super(message); this.name = 'MyError'; this.code = 'E42'; this.details = { a: 1 }; }
}
const circular = {}; circular.self = circular;
exports.handler = (event, context, callback) => {
  switch (event.do) {
    case 'succeed': return context.succeed({ via: 'succeed' });
    case 'fail': return context.fail(new Error('failed via context.fail'));
    case 'fail-empty': return context.fail();
    case 'done': return context.done(null, 'via done');
    case 'done-error': return context.done('a string error');
    case 'callback-error': return callback(new RangeError('callback error'));
    case 'callback-string': return callback('callback string');
    case 'throw': throw new TypeError('sync boom\nsecond line');
    case 'throw-custom': throw new MyError('custom\u00e9\u20ac');
    case 'reject': return Promise.reject(new Error('async boom'));
    case 'reject-string': return Promise.reject('rejected with a string');
    case 'reject-object': return Promise.reject({ reason: 'plain object' });
    case 'circular': return Promise.resolve(circular);
    case 'undefined': return Promise.resolve(undefined);
    case 'twice': callback(null, 'first'); callback(null, 'second'); return;
    case 'sync-return': return { ignored: true };
    case 'nothing': return;
  }
};
'''

CALLBACK_JS = r'''
exports.handler = (event, context, callback) => {
  if (event.noWait) context.callbackWaitsForEmptyEventLoop = false;
  let fired = false;
  setTimeout(() => { fired = true; console.log('timer fired for', event.n); }, 200);
  callback(null, { n: event.n, get timerFired() { return fired; } });
};
'''

BOTH_JS = r'''
exports.handler = async (event, context, callback) => {
  if (event.callbackFirst) callback(null, 'from the callback');
  else setTimeout(() => callback(null, 'from the late callback'), 50);
  return 'from the promise';
};
'''

CONSOLE_JS = r'''
console.log('at init', { phase: 'init' });
exports.handler = async (event) => {
  console.log('log line\nwith two lines', 42, { a: [1, 2] });
  console.info('info %s and %d', 'str', 7);
  console.warn('warn');
  console.error('error with an error', new Error('logged\nerror'));
  console.debug('debug');
  console.trace('trace');
  console.fatal('fatal');
  console.log();
  console.log({ only: 'an object', nested: { deep: true } });
  console.error(new TypeError('an error alone'));
  console.log('tab\there', 'cr\rthere');
  const loop = { name: 'loop' }; loop.self = loop;
  console.log(loop);
  console.info(10n, 'and', { big: 1n });
  throw new Error('thrown after logging');
};
'''

UNHANDLED_JS = r'''
exports.handler = async (event) => {
  if (event.kind === 'rejection') Promise.reject(new Error('nobody catches this'));
  if (event.kind === 'rejection-undefined') Promise.reject();
  if (event.kind === 'uncaught') setTimeout(() => { throw new Error('thrown in a timer'); }, 10);
  await new Promise((resolve) => setTimeout(resolve, 300));
  return 'too late';
};
'''

STREAMING_JS = r'''
const http = require('node:http');
const stream = require('node:stream');
const { pipeline } = require('node:stream/promises');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// The sizes of the chunks of the response in progress the fake API has had so far (what a
// client has written just before it ends may not have left yet: cases wait for it).
const probe = () => new Promise((resolve, reject) => {
  const port = process.env.AWS_LAMBDA_RUNTIME_API.split(':')[1];
  http.get({ host: '127.0.0.1', port, path: '/_probe/chunks', agent: false }, (res) => {
    let body = '';
    res.on('data', (data) => { body += data; });
    res.on('end', () => resolve(JSON.parse(body)));
  }).on('error', reject);
});
async function seenByTheApi(count) {
  for (let i = 0; i < 100; i++) {
    const seen = await probe();
    if (seen.length >= count) return seen;
    await sleep(20);
  }
  return probe();
}
class LatinError extends Error {}
LatinError.prototype.name = '\u00c9rror';
const kinds = {
  'as-written': async (s) => {
    s.write('first');
    const seen = await seenByTheApi(1);
    s.write(`the API had chunks ${JSON.stringify(seen)} before this write`);
    await sleep(30);
    s.end('the last, by end()');
  },
  'types': async (s) => {
    s.setContentType('text/plain; charset=utf-8');
    s.write({ an: 'object' }); s.write(42); s.write(new Uint8Array([65, 66])); s.write(new Uint16Array([67]));
    s.write(Buffer.from('bytes')); s.write('\u00e9', 'latin1'); s.write('aGk=', 'base64');
    s.cork(); s.write('corked '); s.write('together'); s.uncork();
    s.end();
  },
  'members': async (s, context) => {
    console.log(Object.keys(s), Object.keys(context), s.writableHighWaterMark, s.writableEnded, s.writableFinished);
    await new Promise((resolve) => { console.log('end returns', s.end('x', () => console.log('end callback')));
      s.on('finish', resolve); });
    console.log('after end', s.writableEnded, s.writableFinished, s.destroyed);
    return 'a value';
  },
  'throw-mid': async (s) => { s.write('partial'); await sleep(10); throw new Error('stream broke'); },
  'throw-before': async () => { throw new TypeError('before any write'); },
  'throw-latin1': async (s) => { s.write('x'); throw new LatinError('\u00e9 in the message'); },
  'reject-string': async (s) => { s.write('x'); throw 'a string'; },
  'throw-after-end': async (s) => { s.end('ended'); await sleep(10); throw new Error('after the end'); },
  'late-content-type': async (s) => { s.write('x'); s.setContentType('text/plain'); },
  'write-null': async (s) => { s.write(null); },
  'pipeline': async (s) => { await pipeline(stream.Readable.from(['a', 'bb', 'ccc']), s); },
  'pipeline-callback': (s) => new Promise((resolve) => {
    stream.pipeline(stream.Readable.from([Buffer.from('x'), Buffer.from('yz')]), s, (err) => {
      console.log('pipeline done', err);
      resolve();
    });
  }),
  'pipeline-fails': async (s) => {
    const source = new stream.Readable({ read() {} });
    source.push('one');
    seenByTheApi(1).then(() => source.destroy(new Error('the source failed')));
    await pipeline(source, s);
  },
  'destroy': async (s) => { s.write('partial'); await seenByTheApi(1); s.destroy(new Error('destroyed')); },
  'uncaught': async (s) => {
    s.write('partial');
    await seenByTheApi(1);
    setTimeout(() => { throw new Error('thrown in a timer'); }, 10);
    await sleep(200);
    s.end();
  },
  'timers': async (s, context, event) => {
    if (event.noWait) context.callbackWaitsForEmptyEventLoop = false;
    setTimeout(() => console.log('timer of', event.n), 100);
    s.end(`n=${event.n}`);
  },
  'never-ends': async (s) => { s.write('and then nothing'); },
};
// Not an async function: the 'sync' kind returns no promise.
exports.handler = awslambda.streamifyResponse((event, responseStream, context) => {
  if (event.do === 'sync') { responseStream.write('sync'); return undefined; }
  return kinds[event.do](responseStream, context, event);
});
exports.large = awslambda.streamifyResponse(async (event, s) => {
  const size = 256 * 1024;
  const accepted = [1, 2, 3, 4].map((n) => s.write(Buffer.alloc(size, 48 + n)));
  console.log('accepted', accepted, s.writableNeedDrain, s.writableLength > 4 * size);
  s.end();
});
exports.http = awslambda.streamifyResponse(async (event, responseStream) => {
  const s = awslambda.HttpResponseStream.from(responseStream,
    { statusCode: 201, headers: { 'x-custom': 'yes' }, cookies: ['a=1', 'b=2; Path=/'] });
  console.log('accepted', s.write('body'), s.writableHighWaterMark);
  if (event.endOnly) return s.end();
  await sleep(10);
  s.write({ second: true });
  s.end();
}, { highWaterMark: 16 });
exports.endOnly = awslambda.streamifyResponse(async (event, responseStream) => {
  awslambda.HttpResponseStream.from(responseStream, { statusCode: 404 }).end('end() alone');
});
'''

CTX_HEADERS = {
    "Lambda-Runtime-Client-Context": '{"client":{"installation_id":"i-1"},"custom":{"k":"v"},"env":{}}',
    "Lambda-Runtime-Cognito-Identity": '{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}',
    "Lambda-Runtime-Trace-Id": "Root=1-5e1b4151-5ac6c58f5b5dbd6a2c9b6f4e;Parent=1;Sampled=1",
    "Lambda-Runtime-Aws-Tenant-Id": "tenant-7",
}


def events(*bodies):
    return [(f"req-{i}", body) for i, body in enumerate(bodies, 1)]


def outcomes(*kinds):
    return events(*['{"do":"%s"}' % k for k in kinds])


def case(name, files, handler, evs=None, **extra):
    """A case; by default one event, {}. extra: env, settle (seconds to wait
    once idle), wait (seconds to wait for idle or exit, instead of the
    test's limit), telemetry, node_path (a NODE_PATH entry in the task)."""
    if isinstance(files, str):
        files = {"index.js": files}
    return {"name": name, "files": files, "handler": handler, "events": events("{}") if evs is None else evs,
            **extra}


H = "index.handler"
JSON_LOGS = {"AWS_LAMBDA_LOG_FORMAT": "JSON"}

CASES = [
    case("context, async handler", CONTEXT_JS, H, [("req-1", '{"hello":"world"}'), ("req-2", "[1,2]", CTX_HEADERS)]),
    case("sync handler: its return value is ignored (null)", OUTCOMES_JS, H, outcomes("sync-return", "nothing")),
    case("context.succeed/fail/done", OUTCOMES_JS, H, outcomes("succeed", "fail", "fail-empty", "done", "done-error")),
    case("callback errors, a callback called twice", OUTCOMES_JS, H,
         outcomes("callback-error", "callback-string", "twice")),
    case("thrown errors (multi-line, custom fields, non-ASCII)", OUTCOMES_JS, H, outcomes("throw", "throw-custom")),
    case("rejected promises, unserializable and undefined results", OUTCOMES_JS, H,
         outcomes("reject", "reject-string", "reject-object", "circular", "undefined")),
    case("callback waits for the empty event loop", CALLBACK_JS, H, events('{"n":1}', '{"n":2}'), settle=0.8),
    case("callbackWaitsForEmptyEventLoop = false: timers run on", CALLBACK_JS, H,
         events('{"n":1,"noWait":true}', '{"n":2,"noWait":true}'), settle=0.8),
    case("promise and callback: the first one counts", BOTH_JS, H, events('{"callbackFirst":true}', "{}"), settle=0.4),
    case("the API fails /next", OUTCOMES_JS, H, [("req-1", '{"do":"succeed"}'), ("!500", '{"errorMessage":"boom"}')]),
    case("the API refuses the answers", OUTCOMES_JS, H,
         [("req-1", '{"do":"succeed"}', {"fail-posts": True}), ("req-2", '{"do":"throw"}', {"fail-posts": True}),
          ("req-3", '{"do":"done"}')]),
    case("the API fails the first /next", OUTCOMES_JS, H, [("!403", "{}")]),
    # Streaming: one chunked POST /response per invocation, compared header line by header line, chunk
    # by chunk, with its trailers.
    case("streaming: each write is a chunk, sent when written; content types; members", STREAMING_JS, H,
         outcomes("as-written", "types", "members")),
    case("streaming: errors end the body with trailers, written or not", STREAMING_JS, H,
         outcomes("throw-mid", "throw-before", "throw-latin1", "reject-string", "throw-after-end",
                 "late-content-type", "write-null", "sync") +
         [("req-9", "{nope"), ("req-10", "{}", {"Lambda-Runtime-Client-Context": "{bad"})]),
    case("streaming: HttpResponseStream.from (prelude, eight NULs), highWaterMark", STREAMING_JS, "index.http",
         events("{}", '{"endOnly":true}')),
    case("streaming: end(data) alone after HttpResponseStream.from skips the prelude", STREAMING_JS, "index.endOnly"),
    case("streaming: pipeline() from a Readable, promise and callback", STREAMING_JS, H,
         outcomes("pipeline", "pipeline-callback")),
    case("streaming: 1 MB in four writes", STREAMING_JS, "index.large"),
    case("streaming: callbackWaitsForEmptyEventLoop", STREAMING_JS, H,
         events('{"do":"timers","n":1}', '{"do":"timers","n":2,"noWait":true}', '{"do":"timers","n":3}'),
         settle=0.5),
    case("streaming: a pipeline whose source fails", STREAMING_JS, H, outcomes("pipeline-fails")),
    case("streaming: stream.destroy(err)", STREAMING_JS, H, outcomes("destroy")),
    case("streaming: uncaught exception mid-stream", STREAMING_JS, H, outcomes("uncaught")),
    case("streaming: a stream never ended", STREAMING_JS, H, outcomes("never-ends"), wait=1.0),
    case("an event that is not JSON", OUTCOMES_JS, H, events('{"do": nope')),
    case("unhandled rejection during an invocation", UNHANDLED_JS, H, events('{"kind":"rejection"}')),
    case("unhandled rejection without a reason", UNHANDLED_JS, H, events('{"kind":"rejection-undefined"}')),
    case("uncaught exception during an invocation", UNHANDLED_JS, H, events('{"kind":"uncaught"}')),
    case("console levels, multi-line messages (text)", CONSOLE_JS, H),
    case("console in JSON format", CONSOLE_JS, H, env=JSON_LOGS),
    case("JSON format, AWS_LAMBDA_LOG_LEVEL=WARN", CONSOLE_JS, H, env={**JSON_LOGS, "AWS_LAMBDA_LOG_LEVEL": "WARN"}),
    case("text format, AWS_LAMBDA_LOG_LEVEL=error", CONSOLE_JS, H, env={"AWS_LAMBDA_LOG_LEVEL": "error"}),
    case("JSON format: uncaught exception", UNHANDLED_JS, H, events('{"kind":"uncaught"}'), env=JSON_LOGS),
    case("telemetry log fd (framed records)", CONSOLE_JS, H, telemetry=True),
    case("telemetry log fd, JSON format", CONSOLE_JS, H, telemetry=True, env={"AWS_LAMBDA_LOG_FORMAT": "json"}),
    case("AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA=true", "exports.handler = async () => typeof globalThis.awslambda;\n",
         H, env={"AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA": "true"}),
    case("process.exit in the handler", "exports.handler = async () => process.exit(3);\n", H),
    case("ESM: .mjs", {"app.mjs": "export const handler = async (e) => ({ esm: 'mjs', e });\n"}, "app.handler",
         events('{"x":1}')),
    case("ESM: .js under package.json type module",
         {"package.json": '{"type":"module"}',
          "app.js": "export const handler = async () => ({ esm: 'js', url: import.meta.url.length > 0 });\n"},
         "app.handler"),
    case("CommonJS: .cjs", {"app.cjs": "exports.handler = async () => 'cjs';\n"}, "app.handler"),
    case("a directory and a property path",
         {"lib/mod.js": "exports.nested = { deeper: { fn: async () => 'nested' } };\n"}, "lib/mod.nested.deeper.fn"),
    case("an extensionless directory module", {"pkg/index.js": "exports.go = async () => 'dir';\n"}, "pkg.go"),
    case("a module found through NODE_PATH", {"mods/viapath.js": "exports.h = async () => 'np';\n"}, "viapath.h",
         node_path="mods"),
    case("bad handler name (no dot)", OUTCOMES_JS, "index"),
    case("bad handler name (..)", OUTCOMES_JS, "../index.handler"),
    case("handler undefined", OUTCOMES_JS, "index.nothere"),
    case("handler not a function", "exports.notfn = 42;\n", "index.notfn"),
    case("syntax error (CommonJS)", "exports.handler = async (=> {};\n", H),
    case("syntax error (ESM)", {"index.mjs": "export const handler = async ( => 1;\n"}, H),
    case("missing module", OUTCOMES_JS, "missing.handler"),
    case("missing dependency (require)", "require('no-such-package');\n", H),
    case("missing dependency (import)",
         {"index.mjs": "import x from 'no-such-package';\nexport const handler = async () => x;\n"}, H),
    case("error thrown at init", "console.log('loading');\nthrow new Error('init boom');\n", H),
    # Not compared: a promise rejected unhandled at init, which races with the first /next under AWS's
    # client too (it was seen answering an invocation before it reported the init error); an error
    # after init while /next waits (AWS's client then hangs in exit until that /next ends: see
    # own_checks in the test).
    case("error thrown at init, named with non-ASCII letters",
         "class E extends Error {}\nE.prototype.name = '\u00cdnit\u00c9rror';\nthrow new E('bad \u00e9');\n", H),
    case("unreadable package.json", {"package.json": "{nope", "app.js": "exports.h = async () => 1;\n"}, "app.h"),
]
