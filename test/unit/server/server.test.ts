import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import type { Hono } from 'hono'
import { createLogger } from '../../../src/server/logger.ts'
import { startServer } from '../../../src/server/start.ts'
import { ensureIssuer } from '../../../src/tokens/issuer.ts'
import { mintServiceAccountToken } from '../../../src/tokens/mint.ts'

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })
}

void describe('server', () => {
  void it('serves health, readiness, metrics, discovery and JWKS on both listeners', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-server-'))
    const boom = {
      name: 'boom',
      mount: (app: Hono) => app.get('/boom', () => Promise.reject(new Error('kaput'))),
    }
    const server = await startServer({
      dataDir: dir,
      port: 0,
      httpsPort: 0,
      logLevel: 'silent',
      modules: [boom],
    })
    try {
      assert.match(server.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.match(server.httpsBaseUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+$/)
      assert.equal(
        ((await (await fetch(`${server.baseUrl}/healthz`)).json()) as { status: string }).status,
        'ok',
      )
      const ready = await fetch(`${server.baseUrl}/readyz`)
      assert.equal(ready.status, 200)
      const disc = (await (
        await fetch(`${server.baseUrl}/.well-known/openid-configuration`)
      ).json()) as Record<string, string>
      // The issuer URL is https, at the TLS listener's port, even when fetched over plain http.
      assert.equal(disc['issuer'], server.httpsBaseUrl)
      assert.equal(disc['jwks_uri'], `${server.httpsBaseUrl}/openid/v1/jwks`)
      const ca = readFileSync(server.caFile ?? '', 'utf8')
      const tlsDisc = await httpsGet(`${server.httpsBaseUrl}/.well-known/openid-configuration`, ca)
      assert.equal(tlsDisc.status, 200)
      assert.equal(
        (JSON.parse(tlsDisc.body) as Record<string, string>)['issuer'],
        server.httpsBaseUrl,
      )
      const jwks = JSON.parse((await httpsGet(disc['jwks_uri']!, ca)).body) as {
        keys: { kid: string }[]
      }
      assert.equal(jwks.keys.length, 1)
      // A token minted offline-style verifies through the server's verifier with the served key.
      const token = await mintServiceAccountToken(server.ctx.db, {
        namespace: 'ns',
        serviceAccount: 'sa',
        audiences: ['sts.amazonaws.com'],
        now: new Date(),
      })
      const v = await server.ctx.tokens.verify(token, {
        issuer: disc['issuer']!,
        audiences: ['sts.amazonaws.com'],
        now: new Date(),
      })
      assert.equal(v.kid, jwks.keys[0]!.kid)
      // Named issuers live under the default one.
      await ensureIssuer(server.ctx.db, 'cluster:prod')
      const prod = (await (
        await fetch(`${server.baseUrl}/issuers/cluster:prod/.well-known/openid-configuration`)
      ).json()) as Record<string, string>
      assert.equal(prod['issuer'], `${server.httpsBaseUrl}/issuers/cluster:prod`)
      assert.equal(
        (await fetch(`${server.baseUrl}/issuers/nope/.well-known/openid-configuration`)).status,
        404,
      )
      const boomRes = await fetch(`${server.baseUrl}/boom`)
      assert.equal(boomRes.status, 500)
      assert.ok(!(await boomRes.text()).includes('kaput'))
      const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text()
      assert.match(
        metrics,
        /podtrust_http_requests_total\{method="GET",route="discovery",status="200"\} [1-9]/,
      )
      assert.match(
        metrics,
        /podtrust_http_requests_total\{method="GET",route="other",status="500"\} 1/,
      )
    } finally {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it('keeps the issuer URL and keys across restarts; explicit --issuer-url wins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-server-'))
    try {
      const a = await startServer({
        dataDir: dir,
        port: 0,
        logLevel: 'silent',
        issuerUrl: 'https://oidc.example.test',
      })
      const kidA = (
        (await (await fetch(`${a.baseUrl}/openid/v1/jwks`)).json()) as { keys: { kid: string }[] }
      ).keys[0]?.kid
      await a.close()
      const b = await startServer({ dataDir: dir, port: 0, logLevel: 'silent' })
      try {
        const disc = (await (
          await fetch(`${b.baseUrl}/.well-known/openid-configuration`)
        ).json()) as Record<string, string>
        assert.equal(disc['issuer'], 'https://oidc.example.test')
        const kidB = (
          (await (await fetch(`${b.baseUrl}/openid/v1/jwks`)).json()) as { keys: { kid: string }[] }
        ).keys[0]?.kid
        assert.equal(kidB, kidA)
      } finally {
        await b.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  void it('fails clearly on a busy port and a broken config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podtrust-server-'))
    try {
      const a = await startServer({ dataDir: dir, port: 0, logLevel: 'silent' })
      const port = Number(new URL(a.baseUrl).port)
      await assert.rejects(
        startServer({ dataDir: join(dir, 'b'), port, logLevel: 'silent' }),
        /cannot listen/,
      )
      await a.close()
      const bad = join(dir, 'bad.yaml')
      const { writeFileSync } = await import('node:fs')
      writeFileSync(bad, 'issuers: {}\n')
      await assert.rejects(
        startServer({ dataDir: dir, port: 0, logLevel: 'silent', configFiles: [bad] }),
        (e: unknown) =>
          e instanceof Error && e.message === `${bad}: issuers: expected a list, got a mapping`,
      )
      // Found while applying, not parsing: still FILE: PATH: message, once.
      const late = join(dir, 'late.yaml')
      writeFileSync(
        late,
        'podIdentityAssociations:\n  - cluster: nope\n    namespace: ns\n    serviceAccount: sa\n    roleArn: arn:aws:iam::000000000000:role/r\n',
      )
      await assert.rejects(
        startServer({ dataDir: dir, port: 0, logLevel: 'silent', configFiles: [late] }),
        (e: unknown) =>
          e instanceof Error &&
          e.message ===
            `${late}: podIdentityAssociations[0].cluster: cluster 'nope' is not registered`,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

void describe('logger', () => {
  void it('writes JSON lines and never a token or secret', () => {
    const out = new PassThrough()
    let text = ''
    out.on('data', (c: Buffer) => (text += c.toString()))
    const log = createLogger({ stream: out, now: () => new Date(0) })
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'
    log.info('sts.call', {
      webIdentityToken: jwt,
      note: `saw ${jwt}`,
      secretAccessKey: 'wJalr',
      accessKeyId: 'AKIA1',
    })
    log.error('x', { error: new Error(`bad ${jwt}`) })
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.equal(lines[0]?.['event'], 'sts.call')
    assert.equal(lines[0]?.['time'], '1970-01-01T00:00:00.000Z')
    assert.equal(lines[0]?.['accessKeyId'], 'AKIA1')
    assert.ok(!text.includes(jwt))
    assert.ok(!text.includes('wJalr'))
    assert.match(text, /"message":"bad \*\*\*"/)
  })
})

void describe('startServer: SQLite durability', () => {
  void it('opens the store with synchronous = FULL by default and NORMAL when asked', async () => {
    // PRAGMA synchronous reads 2 for FULL, 1 for NORMAL: https://www.sqlite.org/pragma.html#pragma_synchronous
    for (const [option, expected] of [
      [undefined, 2],
      ['NORMAL', 1],
    ] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'podtrust-server-'))
      const server = await startServer({
        dataDir: dir,
        port: 0,
        logLevel: 'silent',
        ...(option === undefined ? {} : { sqliteSynchronous: option }),
      })
      try {
        const row = await server.ctx.db.get<{ synchronous: number }>('PRAGMA synchronous')
        assert.equal(row?.synchronous, expected)
      } finally {
        await server.close()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  })
})
