import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { decodeJwt } from 'jose'
import { createAuditLog, auditTime } from '../../../src/audit/log.ts'
import { main } from '../../../src/cli/main.ts'
import { openDb } from '../../../src/server/store.ts'
import { deriveUid } from '../../../src/tokens/mint.ts'

async function run(
  argv: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (c: Buffer) => (out += c.toString()))
  stderr.on('data', (c: Buffer) => (err += c.toString()))
  const code = await main(argv, { stdout, stderr, env, cwd })
  return { code, out, err }
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'podtrust-cli-'))
}

void describe('cli: token', () => {
  void it('rejects bad arguments with usage (exit 2)', async () => {
    const dir = tmp()
    try {
      const base = ['token', '--data-dir', dir]
      const cases: [string[], RegExp][] = [
        [[...base, '--service-account', 'sa'], /--namespace is required/],
        [[...base, '--namespace', 'ns'], /--service-account is required/],
        [
          [...base, '--namespace', 'ns', '--service-account', 'sa', '--expiration', 'abc'],
          /--expiration must be a whole number/,
        ],
        [
          [...base, '--namespace', 'ns', '--service-account', 'sa', '--expiration', '0'],
          /--expiration/,
        ],
        [
          [...base, '--namespace', 'ns', '--service-account', 'sa', '--expiration', '86401'],
          /--expiration/,
        ],
        [
          [...base, '--namespace', 'ns', '--service-account', 'sa', '--pod-uid', 'u'],
          /--pod-uid needs --pod/,
        ],
        [[...base, '--namespace', 'ns', '--service-account', 'sa', '--bogus'], /bogus/],
        [[...base, '--namespace', 'ns', '--service-account', 'sa', 'extra'], /unexpected argument/],
        [
          [...base, '--namespace', 'ns', '--service-account', 'sa', '--audience', ' '],
          /--audience must not be empty/,
        ],
        [
          [...base, '--namespace', 'ns', '--service-account', 'sa', '--cluster', 'bad name'],
          /invalid cluster name/,
        ],
      ]
      for (const [argv, message] of cases) {
        const r = await run(argv, dir)
        assert.equal(r.code, 2, `${argv.join(' ')} → ${r.err}`)
        assert.match(r.err, message)
        assert.match(r.err, /Usage:/)
      }
      // Invalid values the minting layer rejects: exit 1 with the reason.
      const bad = await run([...base, '--namespace', 'Bad_NS', '--service-account', 'sa'], dir)
      assert.equal(bad.code, 1)
      assert.match(bad.err, /invalid namespace/)
      const noCluster = await run(
        [...base, '--namespace', 'ns', '--service-account', 'sa', '--cluster', 'prod'],
        dir,
      )
      assert.equal(noCluster.code, 1)
      assert.match(noCluster.err, /hint: register it first: podtrust cluster add prod/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it('prints or writes a token with the requested claims, offline', async () => {
    const dir = tmp()
    try {
      const r = await run(
        [
          'token',
          '--namespace',
          'ns',
          '--service-account',
          'sa',
          '--audience',
          'a1',
          '--audience',
          'a2',
          '--expiration',
          '600',
          '--pod',
          'web-0',
        ],
        dir,
        { PODTRUST_HOME: join(dir, 'home') },
      )
      assert.equal(r.code, 0, r.err)
      assert.ok(existsSync(join(dir, 'home', 'podtrust.db')), 'PODTRUST_HOME is the data dir')
      const c = decodeJwt(r.out.trim())
      assert.equal(c.sub, 'system:serviceaccount:ns:sa')
      assert.deepEqual(c.aud, ['a1', 'a2'])
      assert.equal((c.exp ?? 0) - (c.iat ?? 0), 600)
      assert.equal(c.iss, 'https://127.0.0.1:7443')
      const pod = (c['kubernetes.io'] as { pod: { name: string; uid: string } }).pod
      assert.deepEqual(pod, { name: 'web-0', uid: deriveUid('pod', 'ns', 'web-0') })
      const out = join(dir, 'sub', 'token')
      const w = await run(
        [
          'token',
          '--data-dir',
          join(dir, 'home'),
          '-n',
          'ns',
          '--service-account',
          'sa',
          '--pod',
          'p',
          '--pod-uid',
          'abc-123',
          '--out',
          out,
        ],
        dir,
      )
      assert.equal(w.code, 0, w.err)
      assert.equal(w.out, '')
      assert.equal(statSync(out).mode & 0o777, 0o600)
      const written = decodeJwt(readFileSync(out, 'utf8'))
      assert.deepEqual(written.aud, ['sts.amazonaws.com'])
      assert.equal((written['kubernetes.io'] as { pod: { uid: string } }).pod.uid, 'abc-123')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

void describe('cli: keys, certs, apply, export, audit, up', () => {
  void it('keys: validates arguments and rotates', async () => {
    const dir = tmp()
    try {
      assert.equal((await run(['keys', '--data-dir', dir], dir)).code, 2)
      assert.equal((await run(['keys', 'spin', '--data-dir', dir], dir)).code, 2)
      assert.equal(
        (await run(['keys', 'rotate', '--alg', 'HS256', '--data-dir', dir], dir)).code,
        2,
      )
      assert.equal(
        (await run(['keys', 'rotate', '--activate-in', '-1', '--data-dir', dir], dir)).code,
        2,
      )
      assert.equal(
        (
          await run(
            ['keys', 'list', '--issuer', 'default', '--cluster', 'x', '--data-dir', dir],
            dir,
          )
        ).code,
        2,
      )
      assert.equal(
        (await run(['keys', 'list', '--cluster', 'ghost', '--data-dir', dir], dir)).code,
        1,
      )
      const r = await run(
        ['keys', 'rotate', '--activate-in', '0', '--alg', 'ES256', '--data-dir', dir],
        dir,
      )
      assert.equal(r.code, 0, r.err)
      assert.match(r.out, /new key \S+ \(ES256\) published/)
      const list = await run(['keys', 'list', '--data-dir', dir], dir)
      assert.equal(list.out.trim().split('\n').length, 2)
      assert.match(list.out, /ES256 .* signing/)
      assert.match(list.out, /RS256 .* retiring/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it('certs: prints the CA file path', async () => {
    const dir = tmp()
    try {
      const r = await run(['certs', '--data-dir', dir], dir)
      assert.equal(r.code, 0)
      assert.equal(r.out.trim(), join(dir, 'ca', 'ca.pem'))
      assert.match(readFileSync(r.out.trim(), 'utf8'), /BEGIN CERTIFICATE/)
      assert.equal((await run(['certs', 'extra', '--data-dir', dir], dir)).code, 2)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it('apply/export: validates, applies, round-trips', async () => {
    const dir = tmp()
    try {
      assert.equal((await run(['apply', '--data-dir', dir], dir)).code, 2)
      assert.equal((await run(['apply', 'missing.yaml', '--data-dir', dir], dir)).code, 2)
      assert.equal((await run(['apply', 'a.yaml', 'b.yaml', '--data-dir', dir], dir)).code, 2)
      writeFileSync(join(dir, 'bad.yaml'), 'issuers:\n  - name: ok\n    urll: https://x\n')
      const bad = await run(['apply', 'bad.yaml', '--data-dir', dir], dir)
      assert.equal(bad.code, 1)
      // FILE: PATH: message, each once.
      assert.equal(
        bad.err.split('\n')[0],
        'podtrust: bad.yaml: issuers[0].urll: unknown key `urll` [CONFIG_INVALID]',
      )
      // An error found while applying (not while parsing) names the file too.
      writeFileSync(
        join(dir, 'late.yaml'),
        'podIdentityAssociations:\n  - cluster: nope\n    namespace: ns\n    serviceAccount: sa\n    roleArn: arn:aws:iam::000000000000:role/r\n',
      )
      const late = await run(['apply', 'late.yaml', '--data-dir', dir], dir)
      assert.equal(late.code, 1)
      assert.equal(
        late.err.split('\n')[0],
        "podtrust: late.yaml: podIdentityAssociations[0].cluster: cluster 'nope' is not registered [CONFIG_INVALID]",
      )
      writeFileSync(join(dir, 'syntax.yaml'), 'issuers: [\n')
      const syntax = await run(['apply', 'syntax.yaml', '--data-dir', dir], dir)
      assert.match(syntax.err, /^podtrust: syntax\.yaml: invalid YAML at line \d+, column \d+: /)
      writeFileSync(join(dir, 'good.yaml'), 'issuers:\n  - name: cluster:dev\n')
      const dry = await run(['apply', 'good.yaml', '--dry-run', '--data-dir', dir], dir)
      assert.match(dry.out, /valid \(issuers\)/)
      assert.equal(
        (await run(['apply', 'good.yaml', '--account-id', '12', '--data-dir', dir], dir)).code,
        2,
      )
      assert.equal(
        (await run(['apply', 'good.yaml', '--region', 'moon', '--data-dir', dir], dir)).code,
        2,
      )
      const ok = await run(['apply', 'good.yaml', '--data-dir', dir], dir)
      assert.equal(ok.code, 0, ok.err)
      const exported = await run(['export', '--data-dir', dir], dir)
      assert.match(exported.out, /- name: cluster:dev/)
      await run(['export', '--out', 'state.yaml', '--data-dir', dir], dir)
      assert.equal(readFileSync(join(dir, 'state.yaml'), 'utf8'), exported.out)
      assert.equal((await run(['apply', 'state.yaml', '--data-dir', dir], dir)).code, 0)
      assert.equal((await run(['export', '--data-dir', dir], dir)).out, exported.out)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it('audit tail: prints events as JSON lines, validates arguments', async () => {
    const dir = tmp()
    try {
      const db = await openDb({ dataDir: dir })
      const log = createAuditLog(db)
      for (const [i, name] of [
        'CreateRole',
        'AssumeRoleWithWebIdentity',
        'GetCallerIdentity',
      ].entries()) {
        await log.record({
          eventVersion: '1.08',
          eventTime: auditTime(new Date(Date.UTC(2026, 0, 1, 0, 0, i))),
          eventSource: 'sts.amazonaws.com',
          eventName: name,
          awsRegion: 'us-east-1',
          sourceIPAddress: '127.0.0.1',
          userAgent: 'x',
          userIdentity: { type: 'Unknown' },
          requestParameters: null,
          responseElements: null,
          requestID: `r${i}`,
          eventID: `e${i}`,
          readOnly: true,
          eventType: 'AwsApiCall',
          ...(i === 1 ? { errorCode: 'AccessDenied' } : {}),
        })
      }
      await db.close()
      const all = await run(['audit', 'tail', '--data-dir', dir], dir)
      assert.equal(all.code, 0, all.err)
      assert.deepEqual(
        all.out
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { eventName: string }).eventName),
        ['CreateRole', 'AssumeRoleWithWebIdentity', 'GetCallerIdentity'],
      )
      const two = await run(['audit', 'tail', '-n', '2', '--data-dir', dir], dir)
      assert.equal(two.out.trim().split('\n').length, 2)
      const failed = await run(['audit', 'tail', '--failed', '--data-dir', dir], dir)
      assert.match(failed.out, /"errorCode":"AccessDenied"/)
      assert.equal(failed.out.trim().split('\n').length, 1)
      assert.equal((await run(['audit', '--data-dir', dir], dir)).code, 2)
      assert.equal((await run(['audit', 'tail', '-n', '0', '--data-dir', dir], dir)).code, 2)
      assert.equal((await run(['audit', 'tail', '--event', 'a b', '--data-dir', dir], dir)).code, 2)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it('audit tail --follow: prints new events, stops on SIGINT or SIGTERM, leaves no listener', async () => {
    const dir = tmp()
    const db = await openDb({ dataDir: dir })
    try {
      const log = createAuditLog(db)
      const event = (name: string) =>
        log.record({
          eventVersion: '1.08',
          eventTime: auditTime(new Date()),
          eventSource: 'sts.amazonaws.com',
          eventName: name,
          awsRegion: 'us-east-1',
          sourceIPAddress: '127.0.0.1',
          userAgent: 'x',
          userIdentity: { type: 'Unknown' },
          requestParameters: null,
          responseElements: null,
          requestID: name,
          eventID: name,
          readOnly: true,
          eventType: 'AwsApiCall',
        })
      const until = async (what: string, check: () => boolean) => {
        const deadline = Date.now() + 10_000
        while (!check()) {
          if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
          await new Promise((r) => setTimeout(r, 20))
        }
      }
      await event('First')
      const sigint = process.listenerCount('SIGINT')
      const sigterm = process.listenerCount('SIGTERM')
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        const stdout = new PassThrough()
        let out = ''
        stdout.on('data', (c: Buffer) => (out += c.toString()))
        const running = main(['audit', 'tail', '--follow', '--data-dir', dir], {
          stdout,
          stderr: new PassThrough(),
          env: {},
          cwd: dir,
        })
        await until('the first event', () => out.includes('"eventName":"First"'))
        await until(
          'the listeners',
          () => process.listenerCount(signal) > (signal === 'SIGINT' ? sigint : sigterm),
        )
        await event(`After${signal}`)
        await until('the new event', () => out.includes(`"eventName":"After${signal}"`))
        const started = Date.now()
        process.emit(signal)
        assert.equal(await running, 0)
        assert.ok(Date.now() - started < 900, 'the signal ends the wait at once')
        assert.equal(process.listenerCount('SIGINT'), sigint, `SIGINT listeners after ${signal}`)
        assert.equal(process.listenerCount('SIGTERM'), sigterm, `SIGTERM listeners after ${signal}`)
      }
    } finally {
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it('up: rejects bad arguments before starting', async () => {
    const dir = tmp()
    try {
      const cases: [string[], RegExp][] = [
        [['--port', 'abc'], /--port must be a whole number/],
        [['--port', '70000'], /--port/],
        [['--no-tls', '--https-port', '1'], /not both/],
        [['--port', '8000', '--https-port', '8000'], /must differ/],
        [['--log-level', 'loud'], /--log-level/],
        [['--issuer-url', 'http://x'], /https/],
        [['--account-id', 'abc'], /12 digits/],
        [['--agent-port', 'x'], /--agent-port/],
        [['stray'], /unexpected argument/],
      ]
      for (const [argv, message] of cases) {
        const r = await run(['up', '--data-dir', dir, ...argv], dir)
        assert.equal(r.code, 2, argv.join(' '))
        assert.match(r.err, message)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
