import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { signRequest } from '../../../src/aws/sigv4/sign.ts'
import { parseSignature, verifySignature } from '../../../src/aws/sigv4/sigv4.ts'
import { ASSOCIATION_ID_PATTERN, newAssociationId, uuidV4 } from '../../../src/aws/eks/ids.ts'
import { podIdentitySessionName } from '../../../src/aws/eks-auth/tags.ts'

function verify(headers: Record<string, string>, url: string, body: string, secret: string): void {
  const u = new URL(url)
  const request = {
    method: 'POST',
    path: u.pathname,
    query: u.search.replace(/^\?/, ''),
    headers: Object.entries(headers),
    body: Buffer.from(body, 'utf8'),
  }
  const parsed = parseSignature(request)
  assert.ok(parsed)
  verifySignature(request, parsed, secret, { normalizePath: true })
}

void describe('agent signer against the server verifier (property)', () => {
  void it('every signed EKS Auth call verifies, and a changed body does not', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 2000 }),
        fc.stringMatching(/^[0-9A-Za-z][A-Za-z0-9_-]{0,30}$/),
        fc.string({ minLength: 40, maxLength: 40 }),
        fc.option(
          fc
            .string({ minLength: 1, maxLength: 300 })
            .filter((s) => !/[\r\n]/.test(s) && s.trim() === s && s.length > 0),
        ),
        (token, cluster, secret, sessionToken) => {
          const url = `http://127.0.0.1:7070/clusters/${cluster}/assume-role-for-pod-identity`
          const body = JSON.stringify({ token })
          const credentials = {
            accessKeyId: 'ASIAEXAMPLE',
            secretAccessKey: secret,
            ...(sessionToken === null ? {} : { sessionToken }),
          }
          const headers = signRequest({
            method: 'POST',
            url,
            headers: { 'content-type': 'application/json' },
            body,
            service: 'eks-auth',
            region: 'us-east-1',
            credentials,
            now: new Date('2026-01-01T00:00:00Z'),
          })
          verify(headers, url, body, secret)
          // The verifier refuses it (x-amz-content-sha256 or the signature no longer matches).
          assert.throws(() => verify(headers, url, `${body} `, secret))
        },
      ),
      { numRuns: 200 },
    )
  })
})

void describe('identifier properties', () => {
  void it('association ids always match EKS shape', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        let call = 0
        const id = newAssociationId((n) =>
          call++ === 0 ? bytes.slice(0, n) : new Uint8Array(n).fill(1),
        )
        assert.match(id, ASSOCIATION_ID_PATTERN)
      }),
    )
  })

  void it('session names fit STS (≤ 64, [\\w+=,.@-]) for any cluster and pod name', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 100 }),
        fc.string({ maxLength: 253 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (cluster, pod, rnd) => {
          const name = podIdentitySessionName(
            cluster,
            pod,
            uuidV4(() => rnd),
          )
          assert.ok(name.length <= 64)
          assert.match(name, /^[\w+=,.@-]+$/)
        },
      ),
    )
  })
})
