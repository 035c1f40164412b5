#!/usr/bin/env node
// The deploy flow and the error cases through the AWS SDK for JavaScript v3
// (@aws-sdk/client-lambda), asserting each error's `.name` and HTTP status.
//
// Normally run by test_js.sh, which starts the daemon and passes
// LAMBDAD_ENDPOINT and LAMBDAD_STATE_DIR. Without LAMBDAD_ENDPOINT this script
// starts the daemon itself (LAMBDAD, default <repo>/build/daemon/lambdad).
//
// The SDK is looked up in $LAMBDAD_NODE_MODULES, then each entry of
// $NODE_PATH, then <repo>/.cache/npm/node_modules; missing -> exit 77.
// `node test_js.mjs --probe` only checks that the SDK can be found.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, lstatSync, chmodSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const SKIP = 77;
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}`;
const ROLE = `arn:aws:iam::${ACCOUNT}:role/lambda-role`;
const started = Date.now();

// ---------------------------------------------------------------- the SDK
function findNodeModules() {
  const candidates = [];
  if (process.env.LAMBDAD_NODE_MODULES) candidates.push(process.env.LAMBDAD_NODE_MODULES);
  for (const p of (process.env.NODE_PATH || '').split(':')) if (p) candidates.push(p);
  candidates.push(join(REPO, '.cache', 'npm', 'node_modules'));
  for (const dir of candidates) {
    if (existsSync(join(dir, '@aws-sdk', 'client-lambda', 'package.json'))) return dir;
  }
  return null;
}

const modules = findNodeModules();
if (!modules) {
  console.log('SKIP: @aws-sdk/client-lambda not found (looked in $LAMBDAD_NODE_MODULES, $NODE_PATH and ' +
              `${join(REPO, '.cache', 'npm', 'node_modules')}); install it with ` +
              `npm install --prefix ${join(REPO, '.cache', 'npm')} @aws-sdk/client-lambda@3.1164.0`);
  process.exit(SKIP);
}
const requireSdk = createRequire(join(modules, 'noop.js'));
const sdk = requireSdk('@aws-sdk/client-lambda');
const sdkVersion = JSON.parse(readFileSync(join(modules, '@aws-sdk', 'client-lambda', 'package.json'))).version;
if (process.argv.includes('--probe')) {
  console.log(`@aws-sdk/client-lambda ${sdkVersion} in ${modules}`);
  process.exit(0);
}
const {
  LambdaClient, CreateFunctionCommand, GetFunctionCommand, GetFunctionConfigurationCommand,
  UpdateFunctionCodeCommand, DeleteFunctionCommand, ListFunctionsCommand, PublishLayerVersionCommand,
  ListLayerVersionsCommand, GetAccountSettingsCommand, waitUntilFunctionUpdatedV2,
  PublishVersionCommand, ListVersionsByFunctionCommand, CreateAliasCommand, GetAliasCommand, UpdateAliasCommand,
  ListAliasesCommand, DeleteAliasCommand, AddPermissionCommand, GetPolicyCommand, RemovePermissionCommand,
  TagResourceCommand, UntagResourceCommand, ListTagsCommand, CreateFunctionUrlConfigCommand,
  GetFunctionUrlConfigCommand, UpdateFunctionUrlConfigCommand, DeleteFunctionUrlConfigCommand,
  ListFunctionUrlConfigsCommand, UpdateFunctionConfigurationCommand, InvokeWithResponseStreamCommand,
} = sdk;

// ---------------------------------------------------------------- checks
const failures = [];
let checks = 0;
function check(cond, what, detail = '') {
  checks += 1;
  if (cond) {
    console.log(`  ok   ${what}`);
  } else {
    console.log(`  FAIL ${what}${detail ? `\n       ${detail}` : ''}`);
    failures.push(`${what}${detail ? `: ${detail}` : ''}`);
  }
  return cond;
}
function equal(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  return check(g === w, what, `got ${g}, want ${w}`);
}

async function expectError(what, name, status, command, messagePart) {
  try {
    await client.send(command);
    check(false, `${what} -> ${name}`, 'the call succeeded');
  } catch (e) {
    check(e.name === name && e.$metadata?.httpStatusCode === status, `${what} -> ${name} (${status})`,
          `got ${e.name} (${e.$metadata?.httpStatusCode}): ${e.message}`);
    check(typeof e.message === 'string' && e.message.length > 0, `${what}: error has a message`);
    if (messagePart) check(e.message.includes(messagePart), `${what}: message contains '${messagePart}'`, e.message);
  }
}

// ---------------------------------------------------------------- zips
// A minimal zip writer (stored entries, unix modes in the external attributes).
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xFFFFFFFF;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >>> 8);
  return (c ^ 0xFFFFFFFF) >>> 0;
}
function makeZip(entries) {
  const parts = [];
  const central = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const data = Buffer.from(e.data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);            // version needed
    local.writeUInt16LE(0x21, 12);         // date 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4);    // made by unix
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(((0o100000 | e.mode) * 65536) >>> 0, 38);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, data);
    central.push(cd, name);
    offset += local.length + name.length + data.length;
  }
  const cdir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdir, end]);
}
const functionZip = (tag) => makeZip([
  { name: 'bootstrap', data: `#!/bin/sh\necho ${tag}\n`, mode: 0o755 },
  { name: 'data/info.txt', data: `payload ${tag}\n`, mode: 0o644 },
]);
const layerZip = (tag) => makeZip([{ name: `lib/${tag}.so`, data: `layer ${tag}\n`.repeat(20), mode: 0o644 }]);
const sha256b64 = (buf) => createHash('sha256').update(buf).digest('base64');
const sha256hex = (buf) => createHash('sha256').update(buf).digest('hex');

// ---------------------------------------------------------------- the daemon
let daemon = null;
let ownWork = null;
async function startOwnDaemon() {
  const bin = process.env.LAMBDAD || join(REPO, 'build', 'daemon', 'lambdad');
  if (!existsSync(bin)) {
    console.log(`SKIP: daemon binary ${bin} not found (build it, or set LAMBDAD)`);
    process.exit(SKIP);
  }
  ownWork = mkdtempSync(join(tmpdir(), 'lambdad-e2e-js-'));
  const ready = join(ownWork, 'ready');
  const state = join(ownWork, 'state');
  daemon = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--state-dir', state, '--ready-file', ready],
                 { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (existsSync(ready)) {
      const text = readFileSync(ready, 'utf8');
      if (text.endsWith('\n')) return { endpoint: `http://${text.trim()}`, state };
    }
    if (daemon.exitCode !== null) throw new Error(`daemon exited with ${daemon.exitCode} before it was ready`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('daemon not ready after 10 s');
}
async function stopOwnDaemon() {
  if (!daemon) return null;
  if (daemon.exitCode !== null || daemon.signalCode !== null) return daemon.exitCode;
  const exited = new Promise((r) => daemon.once('exit', (code) => r(code)));
  daemon.kill('SIGTERM');
  const timer = setTimeout(() => daemon.kill('SIGKILL'), 5000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
function removeTree(dir) {
  // the daemon leaves read-only (0555) directories
  const walk = (p) => {
    for (const name of readdirSync(p)) {
      const full = join(p, name);
      if (lstatSync(full).isDirectory()) { chmodSync(full, 0o755); walk(full); }
    }
  };
  try { chmodSync(dir, 0o755); walk(dir); } catch { /* best effort */ }
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- the test
let client;
async function main() {
  let endpoint = process.env.LAMBDAD_ENDPOINT;
  let stateDir = process.env.LAMBDAD_STATE_DIR;
  if (!endpoint) ({ endpoint, state: stateDir } = await startOwnDaemon());
  console.log(`@aws-sdk/client-lambda ${sdkVersion}; daemon at ${endpoint}${daemon ? ' (started by node)' : ''}`);
  client = new LambdaClient({
    endpoint, region: REGION, maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

  console.log('== STS (raw POST: the SDK for STS is not installed)');
  const sts = await fetch(`${endpoint}/`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'Action=GetCallerIdentity&Version=2011-06-15',
  });
  const stsText = await sts.text();
  check(sts.status === 200 && stsText.includes(`<Account>${ACCOUNT}</Account>`), 'GetCallerIdentity Account');

  console.log('== layers');
  const base1 = layerZip('js-base1');
  const base2 = layerZip('js-base2');
  const tools1 = layerZip('js-tools1');
  let r = await client.send(new PublishLayerVersionCommand({ LayerName: 'js-base', Content: { ZipFile: base1 },
                                                             CompatibleRuntimes: ['provided.al2'] }));
  equal([r.$metadata.httpStatusCode, r.Version, r.LayerVersionArn], [201, 1, `${ARN}:layer:js-base:1`],
        'PublishLayerVersion js-base #1');
  equal(r.Content.CodeSha256, sha256b64(base1), 'layer CodeSha256');
  r = await client.send(new PublishLayerVersionCommand({ LayerName: 'js-base', Content: { ZipFile: base2 } }));
  equal(r.Version, 2, 'PublishLayerVersion js-base #2');
  const base2Arn = r.LayerVersionArn;
  r = await client.send(new PublishLayerVersionCommand({ LayerName: 'js-tools', Content: { ZipFile: tools1 } }));
  const tools1Arn = r.LayerVersionArn;
  r = await client.send(new ListLayerVersionsCommand({ LayerName: 'js-base' }));
  equal(r.LayerVersions.map((v) => v.Version), [2, 1], 'ListLayerVersions newest first');

  console.log('== CreateFunction + GetFunction');
  const zip1 = functionZip('js-v1');
  const zip2 = functionZip('js-v2');
  const zip3 = functionZip('js-v3');
  const base = { Runtime: 'provided.al2', Role: ROLE, Handler: 'bootstrap' };
  r = await client.send(new CreateFunctionCommand({ ...base, FunctionName: 'js-fn', Code: { ZipFile: zip1 },
                                                    Layers: [base2Arn, tools1Arn] }));
  equal([r.$metadata.httpStatusCode, r.FunctionName, r.CodeSha256], [201, 'js-fn', sha256b64(zip1)],
        'CreateFunction js-fn');
  r = await client.send(new GetFunctionCommand({ FunctionName: 'js-fn' }));
  const cfg = r.Configuration;
  equal(cfg.CodeSha256, sha256b64(zip1), 'GetFunction CodeSha256 = base64(sha256(zip))');
  equal(cfg.CodeSize, zip1.length, 'GetFunction CodeSize');
  equal(cfg.Layers.map((l) => l.Arn), [base2Arn, tools1Arn], 'GetFunction Layers');
  equal([cfg.State, cfg.LastUpdateStatus], ['Active', 'Successful'], 'State Active, LastUpdateStatus Successful');
  const dl = await fetch(r.Code.Location);
  const body = Buffer.from(await dl.arrayBuffer());
  check(dl.status === 200 && body.equals(zip1), 'Code.Location downloads exactly the zip');
  if (stateDir) {
    const boot = join(stateDir, 'trees', 'sha256', sha256hex(zip1), 'bootstrap');
    check(existsSync(boot) && (statSync(boot).mode & 0o111) === 0o111, 'unpacked bootstrap keeps its exec bits');
  }

  console.log('== UpdateFunctionCode + waiter');
  r = await client.send(new UpdateFunctionCodeCommand({ FunctionName: 'js-fn', ZipFile: zip2 }));
  equal(r.CodeSha256, sha256b64(zip2), 'UpdateFunctionCode CodeSha256');
  const waited = await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 10, minDelay: 1, maxDelay: 2 },
                                                  { FunctionName: 'js-fn' });
  equal(waited.state, 'SUCCESS', 'waitUntilFunctionUpdatedV2');
  r = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'js-fn' }));
  equal(r.CodeSha256, sha256b64(zip2), 'GetFunctionConfiguration after update');

  console.log('== ListFunctions paging (MaxItems 1)');
  await client.send(new CreateFunctionCommand({ ...base, FunctionName: 'js-fn-b', Code: { ZipFile: zip3 } }));
  await client.send(new CreateFunctionCommand({ ...base, FunctionName: 'js-fn-c', Code: { ZipFile: zip3 } }));
  const seen = [];
  let marker;
  let pages = 0;
  do {
    r = await client.send(new ListFunctionsCommand({ MaxItems: 1, Marker: marker }));
    pages += 1;
    check(r.Functions.length <= 1, `page ${pages}: at most one function`);
    seen.push(...r.Functions.map((f) => f.FunctionName));
    marker = r.NextMarker;
  } while (marker && pages < 10);
  equal(seen.sort(), ['js-fn', 'js-fn-b', 'js-fn-c'], 'every function seen once');
  r = await client.send(new GetAccountSettingsCommand({}));
  equal(r.AccountUsage.FunctionCount, 3, 'GetAccountSettings FunctionCount');

  console.log('== LoggingConfig');
  r = await client.send(new CreateFunctionCommand({ ...base, FunctionName: 'js-logs', Code: { ZipFile: zip3 },
    LoggingConfig: { LogFormat: 'JSON', SystemLogLevel: 'WARN', LogGroup: '/team/orders' } }));
  equal(r.LoggingConfig, { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN',
    LogGroup: '/team/orders' }, 'CreateFunction with LoggingConfig: JSON, the default application level, the group');
  await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 30 }, { FunctionName: 'js-logs' });
  r = await client.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'js-logs',
    LoggingConfig: { LogFormat: 'Text' } }));
  equal(r.LoggingConfig, { LogFormat: 'Text', LogGroup: '/team/orders' }, 'UpdateFunctionConfiguration to Text');
  await client.send(new DeleteFunctionCommand({ FunctionName: 'js-logs' }));

  console.log('== InvokeWithResponseStream');
  const streamer = makeZip([{ name: 'index.js', mode: 0o644, data:
    "exports.handler = awslambda.streamifyResponse(async (event, stream) => {\n" +
    "  stream.write('first;');\n  await new Promise((r) => setTimeout(r, 300));\n" +
    "  if (event.fail) throw new TypeError('stream broke');\n  stream.write('second');\n  stream.end();\n});\n" }]);
  await client.send(new CreateFunctionCommand({ ...base, FunctionName: 'js-stream', Runtime: 'nodejs20.x',
    Handler: 'index.handler', Code: { ZipFile: streamer } }));
  await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 30 }, { FunctionName: 'js-stream' });
  for (const fail of [false, true]) {
    r = await client.send(new InvokeWithResponseStreamCommand({ FunctionName: 'js-stream', LogType: 'Tail',
      Payload: Buffer.from(JSON.stringify({ fail })) }));
    const got = [];
    let complete;
    for await (const ev of r.EventStream) {
      if (ev.PayloadChunk) got.push(Buffer.from(ev.PayloadChunk.Payload).toString());
      if (ev.InvokeComplete) complete = ev.InvokeComplete;
    }
    equal([r.StatusCode, r.ExecutedVersion], [200, '$LATEST'], `streamed invoke (fail ${fail}): 200, $LATEST`);
    equal(got.join(''), fail ? 'first;' : 'first;second', `... every PayloadChunk, in order (fail ${fail})`);
    equal([complete?.ErrorCode, complete?.ErrorDetails], fail ? ['TypeError', 'stream broke'] : [undefined, undefined],
      `... InvokeComplete's error (fail ${fail})`);
    check(Buffer.from(complete?.LogResult ?? '', 'base64').toString().includes('REPORT RequestId'),
      `... and its LogResult (fail ${fail})`);
  }
  await client.send(new DeleteFunctionCommand({ FunctionName: 'js-stream' }));

  console.log('== error cases');
  await expectError('GetFunction unknown', 'ResourceNotFoundException', 404,
                    new GetFunctionCommand({ FunctionName: 'no-such-fn' }));
  await expectError('CreateFunction duplicate', 'ResourceConflictException', 409,
                    new CreateFunctionCommand({ ...base, FunctionName: 'js-fn', Code: { ZipFile: zip1 } }));
  const six = [0, 1, 2, 3, 4, 5].map((i) => `${ARN}:layer:l${i}:1`);
  await expectError('CreateFunction six layers', 'InvalidParameterValueException', 400,
                    new CreateFunctionCommand({ ...base, FunctionName: 'six', Code: { ZipFile: zip1 }, Layers: six }),
                    'Cannot reference more than 5 layers.');
  await expectError('CreateFunction missing layer version', 'InvalidParameterValueException', 400,
                    new CreateFunctionCommand({ ...base, FunctionName: 'missing', Code: { ZipFile: zip1 },
                                                Layers: [`${ARN}:layer:js-base:42`] }), 'does not exist');
  await expectError('CreateFunction two versions of one layer', 'InvalidParameterValueException', 400,
                    new CreateFunctionCommand({ ...base, FunctionName: 'twice', Code: { ZipFile: zip1 },
                                                Layers: [`${ARN}:layer:js-base:1`, base2Arn] }));
  await expectError('CreateFunction bad role', 'ValidationException', 400,
                    new CreateFunctionCommand({ ...base, Role: 'not-a-role', FunctionName: 'badrole',
                                                Code: { ZipFile: zip1 } }));
  await expectError('CreateFunction Timeout 901', 'ValidationException', 400,
                    new CreateFunctionCommand({ ...base, FunctionName: 't901', Timeout: 901, Code: { ZipFile: zip1 } }));
  await expectError('CreateFunction MemorySize 64', 'ValidationException', 400,
                    new CreateFunctionCommand({ ...base, FunctionName: 'm64', MemorySize: 64, Code: { ZipFile: zip1 } }));
  await expectError('CreateFunction runtime java21', 'InvalidParameterValueException', 400,
                    new CreateFunctionCommand({ ...base, Runtime: 'java21', FunctionName: 'py',
                                                Code: { ZipFile: zip1 } }));
  await expectError('CreateFunction env vars > 4 KB', 'InvalidParameterValueException', 400,
                    new CreateFunctionCommand({ ...base, FunctionName: 'bigenv', Code: { ZipFile: zip1 },
                                                Environment: { Variables: { BIG: 'x'.repeat(4100) } } }), '4KB');
  await expectError('CreateFunction with a bad zip', 'InvalidParameterValueException', 400,
                    new CreateFunctionCommand({ ...base, FunctionName: 'badzip', Code: { ZipFile: Buffer.from('nope') } }),
                    'Could not unzip uploaded file.');

  console.log('== DeleteFunction');
  r = await client.send(new DeleteFunctionCommand({ FunctionName: 'js-fn' }));
  equal(r.$metadata.httpStatusCode, 204, 'DeleteFunction -> 204');
  await expectError('GetFunction after delete', 'ResourceNotFoundException', 404,
                    new GetFunctionCommand({ FunctionName: 'js-fn' }));
  r = await client.send(new ListFunctionsCommand({}));
  equal(r.Functions.map((f) => f.FunctionName).sort(), ['js-fn-b', 'js-fn-c'], 'ListFunctions after delete');
  await versionsAndUrls();
  client.destroy();
}

// Versions, aliases, the resource policy, tags and function URL configs.
async function versionsAndUrls() {
  console.log('== versions, aliases, permissions, tags, function URLs');
  const fn = `${ARN}:function:js-fn-b`;
  let r = await client.send(new PublishVersionCommand({ FunctionName: 'js-fn-b', Description: 'first' }));
  equal([r.$metadata.httpStatusCode, r.Version, r.FunctionArn, r.Description], [201, '1', `${fn}:1`, 'first'],
        'PublishVersion -> 201, version 1');
  r = await client.send(new ListVersionsByFunctionCommand({ FunctionName: 'js-fn-b' }));
  equal(r.Versions.map((v) => v.Version), ['$LATEST', '1'], 'ListVersionsByFunction');
  r = await client.send(new CreateAliasCommand({ FunctionName: 'js-fn-b', Name: 'live', FunctionVersion: '1' }));
  equal([r.$metadata.httpStatusCode, r.AliasArn], [201, `${fn}:live`], 'CreateAlias -> 201');
  await expectError('CreateAlias twice', 'ResourceConflictException', 409,
                    new CreateAliasCommand({ FunctionName: 'js-fn-b', Name: 'live', FunctionVersion: '1' }),
                    'Alias already exists');
  r = await client.send(new UpdateAliasCommand({ FunctionName: 'js-fn-b', Name: 'live', Description: 'prod' }));
  equal(r.Description, 'prod', 'UpdateAlias');
  r = await client.send(new GetAliasCommand({ FunctionName: 'js-fn-b', Name: 'live' }));
  equal([r.FunctionVersion, r.Description], ['1', 'prod'], 'GetAlias');
  r = await client.send(new ListAliasesCommand({ FunctionName: 'js-fn-b' }));
  equal(r.Aliases.map((a) => a.Name), ['live'], 'ListAliases');
  r = await client.send(new GetFunctionCommand({ FunctionName: 'js-fn-b', Qualifier: 'live' }));
  equal([r.Configuration.FunctionArn, r.Configuration.Version], [`${fn}:live`, '1'], 'GetFunction Qualifier=live');
  r = await client.send(new AddPermissionCommand({ FunctionName: 'js-fn-b', Qualifier: 'live', StatementId: 'url',
                                                   Action: 'lambda:InvokeFunctionUrl', Principal: '*',
                                                   FunctionUrlAuthType: 'NONE' }));
  equal(JSON.parse(r.Statement).Condition, { StringEquals: { 'lambda:FunctionUrlAuthType': 'NONE' } },
        'AddPermission: the FunctionUrlAuthType condition');
  r = await client.send(new AddPermissionCommand({ FunctionName: 'js-fn-b', Qualifier: 'live', StatementId: 'via',
                                                   Action: 'lambda:InvokeFunction', Principal: '*',
                                                   InvokedViaFunctionUrl: true }));
  equal(JSON.parse(r.Statement).Condition, { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
        'AddPermission InvokedViaFunctionUrl: a Bool condition');
  r = await client.send(new GetPolicyCommand({ FunctionName: 'js-fn-b', Qualifier: 'live' }));
  equal(JSON.parse(r.Policy).Statement.map((st) => st.Sid), ['url', 'via'], 'GetPolicy');
  r = await client.send(new RemovePermissionCommand({ FunctionName: 'js-fn-b', Qualifier: 'live', StatementId: 'via' }));
  equal(r.$metadata.httpStatusCode, 204, 'RemovePermission -> 204');
  r = await client.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'js-fn-b', Qualifier: 'live',
                                                             AuthType: 'NONE', Cors: { AllowOrigins: ['*'] },
                                                             InvokeMode: 'BUFFERED' }));
  check(/^http:\/\/[a-z0-9]{32}\.lambda-url\.us-east-1\.localhost:\d+\/$/.test(r.FunctionUrl),
        'CreateFunctionUrlConfig: the URL on the daemon\'s port', r.FunctionUrl);
  const url = r.FunctionUrl;
  r = await client.send(new UpdateFunctionUrlConfigCommand({ FunctionName: 'js-fn-b', Qualifier: 'live',
                                                             Cors: { AllowOrigins: ['http://page.example'] } }));
  equal([r.FunctionUrl, r.Cors.AllowOrigins, r.InvokeMode], [url, ['http://page.example'], 'BUFFERED'],
        'UpdateFunctionUrlConfig');
  r = await client.send(new GetFunctionUrlConfigCommand({ FunctionName: 'js-fn-b', Qualifier: 'live' }));
  equal([r.FunctionUrl, r.AuthType, r.FunctionArn], [url, 'NONE', `${fn}:live`], 'GetFunctionUrlConfig');
  r = await client.send(new ListFunctionUrlConfigsCommand({ FunctionName: 'js-fn-b' }));
  equal(r.FunctionUrlConfigs.map((u) => u.FunctionUrl), [url], 'ListFunctionUrlConfigs');
  r = await client.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'js-fn-b', Qualifier: 'live' }));
  equal(r.$metadata.httpStatusCode, 204, 'DeleteFunctionUrlConfig -> 204');
  await expectError('GetFunctionUrlConfig after delete', 'ResourceNotFoundException', 404,
                    new GetFunctionUrlConfigCommand({ FunctionName: 'js-fn-b', Qualifier: 'live' }),
                    'The resource you requested does not exist.');
  await client.send(new TagResourceCommand({ Resource: fn, Tags: { team: 'js', stage: 'dev' } }));
  await client.send(new UntagResourceCommand({ Resource: fn, TagKeys: ['stage'] }));
  r = await client.send(new ListTagsCommand({ Resource: fn }));
  equal(r.Tags, { team: 'js' }, 'TagResource, UntagResource, ListTags');
  await expectError('TagResource on an alias', 'InvalidParameterValueException', 400,
                    new TagResourceCommand({ Resource: `${fn}:live`, Tags: { a: 'b' } }), 'Tags on function aliases');
  r = await client.send(new DeleteAliasCommand({ FunctionName: 'js-fn-b', Name: 'live' }));
  equal(r.$metadata.httpStatusCode, 204, 'DeleteAlias -> 204');
  r = await client.send(new DeleteFunctionCommand({ FunctionName: 'js-fn-b', Qualifier: '1' }));
  r = await client.send(new ListVersionsByFunctionCommand({ FunctionName: 'js-fn-b' }));
  equal(r.Versions.map((v) => v.Version), ['$LATEST'], 'DeleteFunction Qualifier=1 removes the version');
}

let rc = 0;
try {
  await main();
} catch (e) {
  console.log(e?.stack || String(e));
  failures.push(`exception: ${e?.name}: ${e?.message}`);
} finally {
  if (daemon) {
    const code = await stopOwnDaemon();
    check(code === 0, 'SIGTERM: daemon (started by node) exits 0', `exit code ${code}`);
    if (ownWork && !failures.length) removeTree(ownWork);
  }
}
const took = ((Date.now() - started) / 1000).toFixed(1);
if (failures.length) {
  console.log(`\nFAILED: ${failures.length} of ${checks} checks (${took} s)`);
  for (const f of failures) console.log(`  - ${f}`);
  rc = 1;
} else {
  console.log(`\nPASSED: ${checks} checks (${took} s)`);
}
process.exit(rc);
