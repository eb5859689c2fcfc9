/**
 * The platform end to end: `podtrust up` as a real process, the issuer over HTTP and TLS, and the offline
 * commands (token, apply, export, keys, certs) working beside it and after it stops, on both store engines.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { GetUserCommand, IAMClient } from '@aws-sdk/client-iam'
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose'
import type { JSONWebKeySet } from 'jose'
import pg from 'pg'
import { postgresSkipReason, postgresUrl } from '../unit/store/engines.ts'
import { findOnPath } from './helpers/index.ts'

const root = new URL('../..', import.meta.url).pathname
const bin = join(root, 'bin', 'podtrust.js')
const awsCli = findOnPath('aws')

function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  })
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr }
}

interface Up {
  proc: ChildProcess
  baseUrl: string
  httpsBaseUrl: string
  output: () => string
  stop(): Promise<number | null>
}

async function up(args: string[]): Promise<Up> {
  const proc = spawn(
    process.execPath,
    [bin, 'up', '--port', '0', '--https-port', '0', '--log-level', 'warn', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  let err = ''
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()))
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString()))
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)))
  const deadline = Date.now() + 30_000
  while (!/ready on .*\n[\s\S]*AWS_WEB_IDENTITY_TOKEN_FILE=.*\n/.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error(`podtrust up did not start:\n${out}\n${err}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const m = /ready on (http:\/\/\S+) and (https:\/\/\S+)/.exec(out)
  assert.ok(m, out)
  return {
    proc,
    baseUrl: m[1]!,
    httpsBaseUrl: m[2]!,
    output: () => out + err,
    async stop() {
      proc.kill('SIGTERM')
      return exited
    },
  }
}

function httpsGet(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => resolve(body))
      })
      .on('error', reject)
  })
}

for (const engine of ['sqlite', 'postgres'] as const) {
  void describe(`platform e2e (${engine})`, async () => {
    const skip = engine === 'postgres' ? await postgresSkipReason() : undefined
    void it(
      'up serves the issuer; token/apply/keys work beside it and after it stops',
      skip === undefined ? {} : { skip },
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'podtrust-e2e-'))
        const schema = `e2e_${process.pid}_${randomBytes(4).toString('hex')}`
        const store = engine === 'postgres' ? ['--store', `${postgresUrl}?schema=${schema}`] : []
        const common = ['--data-dir', dir, ...store]
        const server = await up([...common, '--demo'])
        try {
          const out = server.output()
          for (const v of [
            'AWS_ENDPOINT_URL_STS',
            'AWS_ENDPOINT_URL_IAM',
            'AWS_REGION',
            'AWS_DEFAULT_REGION',
            'AWS_ROLE_ARN',
            'AWS_WEB_IDENTITY_TOKEN_FILE',
          ]) {
            assert.match(out, new RegExp(`^export ${v}=\\S+$`, 'm'), v)
          }
          assert.match(out, new RegExp(`^export AWS_ENDPOINT_URL_STS=${server.baseUrl}$`, 'm'))
          const tokenFile = /AWS_WEB_IDENTITY_TOKEN_FILE=(\S+)/.exec(out)?.[1] ?? ''
          const demoToken = readFileSync(tokenFile, 'utf8')
          const health = await fetch(`${server.baseUrl}/readyz`)
          assert.equal(health.status, 200)
          const disc = (await (
            await fetch(`${server.baseUrl}/.well-known/openid-configuration`)
          ).json()) as Record<string, string>
          assert.equal(disc['issuer'], server.httpsBaseUrl)
          // The TLS listener, trusted through the CA file `podtrust certs` prints.
          const caFile = cli(['certs', '--data-dir', dir]).out.trim()
          const jwks = JSON.parse(
            await httpsGet(disc['jwks_uri']!, readFileSync(caFile, 'utf8')),
          ) as JSONWebKeySet
          const keySet = createLocalJWKSet(jwks)
          const demo = await jwtVerify(demoToken, keySet, {
            issuer: disc['issuer']!,
            audience: 'sts.amazonaws.com',
          })
          assert.equal(demo.payload.sub, 'system:serviceaccount:default:demo')
          // The README's newcomer path: the printed workload environment, pasted, makes the unmodified AWS
          // CLI assume the demo role (the demo seeds the OIDC provider and role of the walkthrough).
          if (awsCli !== undefined) {
            const home = mkdtempSync(join(tmpdir(), 'podtrust-e2e-home-'))
            const printed = Object.fromEntries(
              [...out.split('# IAM administrator')[0]!.matchAll(/^export (\w+)=(\S+)$/gm)].map(
                (m) => [m[1]!, m[2]!],
              ),
            )
            const who = spawnSync(awsCli, ['sts', 'get-caller-identity', '--output', 'json'], {
              encoding: 'utf8',
              env: { PATH: process.env['PATH'] ?? '', HOME: home, ...printed },
              timeout: 60_000,
            })
            assert.equal(who.status, 0, who.stderr)
            assert.match(
              (JSON.parse(who.stdout) as { Arn: string }).Arn,
              /^arn:aws:sts::000000000000:assumed-role\/podtrust-demo\//,
            )
            rmSync(home, { recursive: true, force: true })
          }
          // The separate IAM administrator block: the bootstrap admin's key, which works for IAM calls.
          const adminBlock = out.split('# IAM administrator')[1] ?? ''
          assert.notEqual(adminBlock, '', out)
          const adminKeyId = /^export AWS_ACCESS_KEY_ID=(AKIA[A-Z2-7]{16})$/m.exec(adminBlock)?.[1]
          const adminSecret = /^export AWS_SECRET_ACCESS_KEY=(\S{40})$/m.exec(adminBlock)?.[1]
          assert.ok(adminKeyId !== undefined && adminSecret !== undefined, adminBlock)
          assert.ok(!out.split('# IAM administrator')[0]!.includes('AWS_ACCESS_KEY_ID'))
          const iam = new IAMClient({
            endpoint: server.baseUrl,
            region: 'us-east-1',
            credentials: { accessKeyId: adminKeyId, secretAccessKey: adminSecret },
          })
          const me = await iam.send(new GetUserCommand({}))
          assert.equal(me.User?.Arn, 'arn:aws:iam::000000000000:user/podtrust-admin')
          if (awsCli !== undefined) {
            const home = mkdtempSync(join(tmpdir(), 'podtrust-e2e-home-'))
            const printed = Object.fromEntries(
              [...adminBlock.matchAll(/^export (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
            )
            const who = spawnSync(awsCli, ['iam', 'get-user', '--output', 'json'], {
              encoding: 'utf8',
              env: {
                PATH: process.env['PATH'] ?? '',
                HOME: home,
                AWS_ENDPOINT_URL_IAM: server.baseUrl,
                AWS_DEFAULT_REGION: 'us-east-1',
                ...printed,
              },
              timeout: 60_000,
            })
            assert.equal(who.status, 0, who.stderr)
            assert.equal(
              (JSON.parse(who.stdout) as { User: { UserName: string } }).User.UserName,
              'podtrust-admin',
            )
            rmSync(home, { recursive: true, force: true })
          }
          // `podtrust token` while the server runs: signed with the key the server publishes.
          const tokFile = join(dir, 'tok')
          const t = cli([
            'token',
            ...common,
            '--namespace',
            'team',
            '--service-account',
            'app',
            '--out',
            tokFile,
          ])
          assert.equal(t.code, 0, t.err)
          const v = await jwtVerify(readFileSync(tokFile, 'utf8'), keySet, {
            issuer: disc['issuer']!,
          })
          assert.equal(v.payload.sub, 'system:serviceaccount:team:app')
          // `apply` while the server runs; the server serves the new issuer at once.
          writeFileSync(join(dir, 'c.yaml'), 'issuers:\n  - name: cluster:live\n')
          assert.equal(cli(['apply', join(dir, 'c.yaml'), ...common]).code, 0)
          const live = (await (
            await fetch(`${server.baseUrl}/issuers/cluster:live/.well-known/openid-configuration`)
          ).json()) as Record<string, string>
          assert.equal(live['issuer'], `${server.httpsBaseUrl}/issuers/cluster:live`)
          // Rotation: the new key is published at once, before any token carries it.
          const rot = cli(['keys', 'rotate', ...common, '--activate-in', '3600'])
          assert.equal(rot.code, 0, rot.err)
          const newKid = /new key (\S+)/.exec(rot.out)?.[1]
          const after = (await (
            await fetch(`${server.baseUrl}/openid/v1/jwks`)
          ).json()) as JSONWebKeySet
          assert.ok(after.keys.some((k) => k.kid === newKid))
          assert.equal(after.keys.length, 2)
          const stillOld = cli([
            'token',
            ...common,
            '--namespace',
            'team',
            '--service-account',
            'app',
          ])
          assert.notEqual(
            JSON.parse(Buffer.from(stillOld.out.split('.')[0]!, 'base64url').toString()).kid,
            newKid,
          )
          // Logs never carry a token.
          assert.ok(!server.output().includes(demoToken.split('.')[1]!))
        } finally {
          assert.equal(await server.stop(), 0)
        }
        // Stopped: token and export still work against the store.
        const offline = cli(['token', ...common, '--namespace', 'n', '--service-account', 's'])
        assert.equal(offline.code, 0, offline.err)
        assert.equal(
          decodeJwt(offline.out.trim()).iss,
          /^https:\/\/127\.0\.0\.1:\d+$/.exec(String(decodeJwt(offline.out.trim()).iss))?.[0],
        )
        const exported = cli(['export', ...common])
        assert.match(exported.out, /cluster:live/)
        rmSync(dir, { recursive: true, force: true })
        if (engine === 'postgres') {
          const client = new pg.Client({ connectionString: postgresUrl })
          await client.connect()
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
          await client.end()
        }
      },
    )
  })
}
