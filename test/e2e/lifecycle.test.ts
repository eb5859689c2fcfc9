/**
 * Must-fix: process lifecycle of `podtrust up`. SIGTERM flips /readyz to 503 and drains in-flight requests
 * (a request whose body is still arriving completes) before exiting 0; SIGHUP re-applies --config instead of
 * killing the process; a busy --agent-port is SERVER_LISTEN_FAILED with a hint before readiness is announced;
 * --data-dir under /proc is refused at once; `audit tail | head` ends without EPIPE; a crash writes one JSON line.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { exportedEnv, podtrustBin, podtrustCli, startReplica } from './helpers/replica.ts'

const root = new URL('../..', import.meta.url).pathname

function arwwiBody(env: Record<string, string>, token: string): string {
  return new URLSearchParams({
    Action: 'AssumeRoleWithWebIdentity',
    Version: '2011-06-15',
    RoleArn: env['AWS_ROLE_ARN']!,
    RoleSessionName: 'drain',
    WebIdentityToken: token,
  }).toString()
}

void describe('up lifecycle', () => {
  void it(
    'SIGTERM: readiness 503, the in-flight request completes, exit 0',
    { timeout: 60_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'podtrust-life-'))
      try {
        const r = await startReplica([
          '--port',
          '0',
          '--no-tls',
          '--demo',
          '--data-dir',
          dir,
          '--log-level',
          'warn',
          '--shutdown-delay',
          '1',
          '--drain-timeout',
          '10',
        ])
        const env = exportedEnv(r.output())
        const body = arwwiBody(env, readFileSync(env['AWS_WEB_IDENTITY_TOKEN_FILE']!, 'utf8'))
        const url = new URL(r.baseUrl)
        const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = http.request(
            {
              host: url.hostname,
              port: url.port,
              method: 'POST',
              path: '/',
              agent: false,
              headers: {
                'content-type': 'application/x-www-form-urlencoded',
                'content-length': Buffer.byteLength(body),
              },
            },
            (res) => {
              let text = ''
              res.on('data', (c: Buffer) => (text += c.toString()))
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
            },
          )
          req.on('error', reject)
          req.write(body.slice(0, 20))
          setTimeout(() => req.end(body.slice(20)), 1500)
        })
        await new Promise((res) => setTimeout(res, 200))
        r.proc.kill('SIGTERM')
        await new Promise((res) => setTimeout(res, 300))
        const ready = await fetch(`${r.baseUrl}/readyz`)
        assert.equal(ready.status, 503)
        assert.equal((await fetch(`${r.baseUrl}/healthz`)).status, 200)
        const done = await response
        assert.equal(done.status, 200, done.text)
        assert.match(done.text, /<AccessKeyId>ASIA/)
        assert.equal(await r.exited, 0)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )

  void it('SIGHUP re-applies --config and keeps serving', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-life-'))
    try {
      const config = join(dir, 'config.yaml')
      writeFileSync(config, 'version: 1\nusers:\n  - name: before-reload\n')
      const r = await startReplica([
        '--port',
        '0',
        '--no-tls',
        '--data-dir',
        dir,
        '--log-level',
        'info',
        '--config',
        config,
      ])
      writeFileSync(config, 'version: 1\nusers:\n  - name: before-reload\n  - name: after-reload\n')
      r.proc.kill('SIGHUP')
      const deadline = Date.now() + 10_000
      while (!r.output().includes('server.reloaded') && Date.now() < deadline)
        await new Promise((res) => setTimeout(res, 50))
      assert.match(r.output(), /server\.reloaded/)
      assert.equal((await fetch(`${r.baseUrl}/readyz`)).status, 200)
      await r.stop()
      const exported = podtrustCli(['export', '--data-dir', dir])
      assert.match(exported.out, /after-reload/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it(
    'a busy --agent-port: SERVER_LISTEN_FAILED with a hint, never announced ready',
    { timeout: 60_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'podtrust-life-'))
      const blocker = net.createServer()
      await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res))
      const port = (blocker.address() as net.AddressInfo).port
      try {
        const r = podtrustCli([
          'up',
          '--port',
          '0',
          '--no-tls',
          '--data-dir',
          dir,
          '--agent-port',
          String(port),
          '--log-level',
          'info',
        ])
        assert.equal(r.code, 1)
        assert.match(r.err, /SERVER_LISTEN_FAILED/)
        assert.match(r.err, /hint: .*--agent-port/)
        assert.doesNotMatch(r.err, /server\.started/)
        assert.doesNotMatch(r.out, /ready on/)
      } finally {
        blocker.close()
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )

  void it('--data-dir under /proc is refused at once', () => {
    const started = Date.now()
    const r = podtrustCli(['up', '--port', '0', '--no-tls', '--data-dir', '/proc/self/podtrust'])
    assert.equal(r.code, 2)
    assert.match(r.err, /under \/proc, a kernel pseudo-filesystem/)
    assert.ok(Date.now() - started < 20_000)
  })

  void it('audit tail | head ends without EPIPE', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-life-'))
    try {
      const r = await startReplica([
        '--port',
        '0',
        '--no-tls',
        '--data-dir',
        dir,
        '--log-level',
        'warn',
      ])
      await Promise.all(
        Array.from({ length: 300 }, () =>
          fetch(r.baseUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: 'Action=GetCallerIdentity&Version=2011-06-15',
          }),
        ),
      )
      await r.stop()
      const piped = spawnSync(
        'bash',
        [
          '-c',
          `set -o pipefail; "${process.execPath}" "${podtrustBin}" audit tail -n 5000 --data-dir "${dir}" | head -c 100 >/dev/null`,
        ],
        { encoding: 'utf8', cwd: root },
      )
      assert.doesNotMatch(piped.stderr, /EPIPE|unexpected error/)
      assert.equal(piped.status, 0, piped.stderr)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it('a crash writes exactly one JSON line', () => {
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "const m = await import('./src/cli/process-guards.ts'); m.guardProcess(); setTimeout(() => { throw new Error('boom') }, 10)",
      ],
      { encoding: 'utf8', cwd: root },
    )
    assert.equal(r.status, 70)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    const line = JSON.parse(lines[0]!) as {
      level: string
      event: string
      error: { message: string }
    }
    assert.equal(line.level, 'fatal')
    assert.equal(line.event, 'process.crash')
    assert.equal(line.error.message, 'boom')
  })
})
