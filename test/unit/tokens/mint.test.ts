import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { IssuerError } from '../../../src/tokens/errors.ts'
import {
  ensureIssuer,
  getIssuerByUrl,
  listIssuers,
  validateIssuerUrl,
} from '../../../src/tokens/issuer.ts'
import { deriveUid, mintServiceAccountToken } from '../../../src/tokens/mint.ts'
import { tempDb } from './helpers.ts'

const now = new Date('2026-01-02T03:04:05.678Z')

void describe('mintServiceAccountToken', () => {
  void it('uses the kube-apiserver claim layout', async () => {
    const t = await tempDb()
    try {
      const issuer = await ensureIssuer(t.db, 'default')
      const token = await mintServiceAccountToken(t.db, {
        namespace: 'team-a',
        serviceAccount: 'app',
        audiences: ['sts.amazonaws.com'],
        expirationSeconds: 900,
        pod: { name: 'web-0', uid: 'pod-uid-1' },
        now,
        randomUUID: () => 'fixed-jti',
      })
      const header = decodeProtectedHeader(token)
      assert.equal(header.alg, 'RS256')
      assert.equal(typeof header.kid, 'string')
      const c = decodeJwt(token)
      assert.equal(c.iss, issuer.url)
      assert.equal(c.sub, 'system:serviceaccount:team-a:app')
      assert.deepEqual(c.aud, ['sts.amazonaws.com'])
      assert.equal(c.iat, Math.floor(now.getTime() / 1000))
      assert.equal(c.nbf, c.iat)
      assert.equal(c.exp, (c.iat ?? 0) + 900)
      assert.equal(c.jti, 'fixed-jti')
      const k = c['kubernetes.io'] as Record<string, unknown>
      assert.equal(k['namespace'], 'team-a')
      assert.deepEqual(k['pod'], { name: 'web-0', uid: 'pod-uid-1' })
      const sa = k['serviceaccount'] as { name: string; uid: string }
      assert.equal(sa.name, 'app')
      assert.match(sa.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      // Stable across mints.
      const again = decodeJwt(
        await mintServiceAccountToken(t.db, {
          namespace: 'team-a',
          serviceAccount: 'app',
          audiences: ['x'],
          now,
        }),
      )
      assert.equal(
        (again['kubernetes.io'] as { serviceaccount: { uid: string } }).serviceaccount.uid,
        sa.uid,
      )
      assert.equal((again['kubernetes.io'] as Record<string, unknown>)['pod'], undefined)
    } finally {
      await t.cleanup()
    }
  })

  void it('derives uids deterministically and distinctly', () => {
    assert.equal(deriveUid('pod', 'ns', 'a'), deriveUid('pod', 'ns', 'a'))
    assert.notEqual(deriveUid('pod', 'ns', 'a'), deriveUid('pod', 'ns', 'b'))
    assert.notEqual(deriveUid('pod', 'nsa', ''), deriveUid('pod', 'ns', 'a'))
  })

  void it('rejects malformed requests and unknown issuers with a hint', async () => {
    const t = await tempDb()
    try {
      await ensureIssuer(t.db, 'default')
      const base = { namespace: 'ns', serviceAccount: 'sa', audiences: ['a'], now }
      const bad = [
        { ...base, namespace: 'Bad_NS' },
        { ...base, namespace: 'x'.repeat(64) },
        { ...base, serviceAccount: 'UPPER' },
        { ...base, audiences: [] },
        { ...base, audiences: [''] },
        { ...base, expirationSeconds: 0 },
        { ...base, expirationSeconds: 86_401 },
        { ...base, expirationSeconds: 1.5 },
        { ...base, pod: { name: 'Bad Pod', uid: 'u' } },
      ]
      for (const req of bad) {
        await assert.rejects(mintServiceAccountToken(t.db, req), (e: unknown) => {
          assert.ok(e instanceof IssuerError, JSON.stringify(req))
          assert.equal(e.code, 'TOKEN_REQUEST_INVALID')
          return true
        })
      }
      await assert.rejects(
        mintServiceAccountToken(t.db, { ...base, issuer: 'cluster:prod' }),
        (e: unknown) => {
          assert.ok(e instanceof IssuerError)
          assert.equal(e.code, 'ISSUER_NOT_FOUND')
          assert.match(e.hint ?? '', /podtrust cluster add prod/)
          return true
        },
      )
    } finally {
      await t.cleanup()
    }
  })
})

void describe('issuers', () => {
  void it('derive named issuer URLs from the default and follow it when it moves', async () => {
    const t = await tempDb()
    try {
      await ensureIssuer(t.db, 'cluster:prod')
      assert.equal((await ensureIssuer(t.db, 'default')).url, 'https://127.0.0.1:7443')
      assert.equal(
        (await listIssuers(t.db)).find((i) => i.name === 'cluster:prod')?.url,
        'https://127.0.0.1:7443/issuers/cluster:prod',
      )
      await ensureIssuer(t.db, 'default', { url: 'https://oidc.example.test/' })
      const prod = await getIssuerByUrl(t.db, 'https://oidc.example.test/issuers/cluster:prod')
      assert.equal(prod?.name, 'cluster:prod')
      assert.equal(await getIssuerByUrl(t.db, 'https://other.example.test'), undefined)
      // Without a url, an existing issuer keeps its URL.
      assert.equal((await ensureIssuer(t.db, 'default')).url, 'https://oidc.example.test')
    } finally {
      await t.cleanup()
    }
  })

  void it('rejects bad names and URLs', async () => {
    const t = await tempDb()
    try {
      for (const name of ['', ' x', 'a/b', 'x'.repeat(200)]) {
        await assert.rejects(ensureIssuer(t.db, name), IssuerError)
      }
      for (const url of [
        'ftp://x',
        'not a url',
        'https://h/?q=1',
        'https://u:p@h',
        'http://oidc.example.test',
        'http://10.0.0.1:8080',
        'https://h/?',
        'https://h/#',
        'https:h',
        ' https://h',
      ]) {
        assert.throws(() => validateIssuerUrl(url), IssuerError, url)
      }
      // Plain http only on loopback (development).
      for (const url of ['http://127.0.0.1:8080', 'http://localhost:9000/x', 'http://[::1]:1']) {
        assert.equal(validateIssuerUrl(url), url)
      }
    } finally {
      await t.cleanup()
    }
  })
})
