/**
 * @module setup/verify
 * `cluster verify`: fetches a self-hosted issuer's published discovery document and JWKS the way AWS STS
 * does (https only — plain http on loopback for development —, the document's `issuer` equal to the URL it
 * was fetched for, its `jwks_uri`, `application/json`, bounded size and time, no private or metadata
 * addresses: the SSRF-guarded transport of tokens/remote.ts), then checks a real service-account token
 * against the keys through the one token verifier. Every problem found is named with how to fix it.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose'
import type { JSONWebKeySet } from 'jose'
import { TokenError } from '../tokens/errors.ts'
import type { NetPolicy } from '../tokens/netguard.ts'
import { type Transport, checkUrl, nodeTransport } from '../tokens/remote.ts'
import type { TokenVerifier } from '../tokens/types.ts'
import { DISCOVERY_CONTENT_TYPE } from './discovery.ts'

export type VerifyProblemCode =
  | 'http-not-https'
  | 'unreachable'
  | 'forbidden-address'
  | 'wrong-content-type'
  | 'not-json'
  | 'issuer-mismatch'
  | 'missing-jwks-uri'
  | 'jwks-invalid'
  | 'token-issuer-mismatch'
  | 'missing-kid'
  | 'token-invalid'

export interface VerifyProblem {
  code: VerifyProblemCode
  message: string
  hint: string
}

export interface VerifyReport {
  ok: boolean
  problems: VerifyProblem[]
  /** What was checked successfully, in order (for the CLI's output). */
  passed: string[]
}

const MAX_DOCUMENT_BYTES = 256 * 1024
const TIMEOUT_MS = 5000

export interface VerifyInput {
  issuerUrl: string
  token: string
  audiences?: readonly string[]
  caBundle?: string
  policy: NetPolicy
  verifier: TokenVerifier
  now: Date
  transport?: Transport
}

function problem(code: VerifyProblemCode, message: string, hint: string): VerifyProblem {
  return { code, message, hint }
}

async function fetchJson(
  raw: string,
  what: string,
  input: VerifyInput,
  problems: VerifyProblem[],
): Promise<Record<string, unknown> | undefined> {
  let url: URL
  try {
    url = checkUrl(raw, input.policy)
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err)
    if (raw.startsWith('http:')) {
      problems.push(
        problem(
          'http-not-https',
          `${what} ${raw} is served over http`,
          'AWS STS, Entra ID and Google STS fetch discovery over https only: publish on an https host',
        ),
      )
    } else {
      problems.push(
        problem(
          'forbidden-address',
          `${what} ${raw}: ${msg}`,
          'relying parties refuse loopback, private and link-local addresses: publish on a public https host',
        ),
      )
    }
    return undefined
  }
  const transport = input.transport ?? nodeTransport(input.policy)
  let res
  try {
    res = await transport(url, {
      timeoutMs: TIMEOUT_MS,
      maxBytes: MAX_DOCUMENT_BYTES,
      ...(input.caBundle === undefined ? {} : { caBundle: input.caBundle }),
    })
  } catch (err) {
    const forbidden = err instanceof TokenError && err.code === 'ISSUER_FORBIDDEN'
    problems.push(
      problem(
        forbidden ? 'forbidden-address' : 'unreachable',
        `${what} ${raw} is unreachable: ${err instanceof Error ? err.message : String(err)}`,
        forbidden
          ? 'the host resolves to an address relying parties refuse (loopback, private, metadata)'
          : 'check DNS, TLS (a private CA needs --ca-file) and that the file was published (podtrust issuer publish)',
      ),
    )
    return undefined
  }
  if (res.status !== 200) {
    problems.push(
      problem(
        'unreachable',
        `${what} ${raw} answered HTTP ${res.status}`,
        'publish it: podtrust issuer publish --cluster NAME --to …; for S3, allow public read (s3:GetObject)',
      ),
    )
    return undefined
  }
  const type = (res.contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  if (type !== DISCOVERY_CONTENT_TYPE) {
    problems.push(
      problem(
        'wrong-content-type',
        `${what} ${raw} is served as '${res.contentType ?? '(none)'}'`,
        `serve it as ${DISCOVERY_CONTENT_TYPE} (S3: --content-type application/json; podtrust issuer publish sets it)`,
      ),
    )
  }
  try {
    const doc = JSON.parse(res.body) as unknown
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      throw new Error('not an object')
    return doc as Record<string, unknown>
  } catch {
    problems.push(
      problem(
        'not-json',
        `${what} ${raw} is not a JSON object`,
        'republish the file podtrust cluster setup wrote',
      ),
    )
    return undefined
  }
}

export async function verifyPublishedIssuer(input: VerifyInput): Promise<VerifyReport> {
  const problems: VerifyProblem[] = []
  const passed: string[] = []
  const issuer = input.issuerUrl
  const discoveryUrl = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
  const doc = await fetchJson(discoveryUrl, 'discovery document', input, problems)
  let jwks: JSONWebKeySet | undefined
  if (doc !== undefined) {
    passed.push(`discovery document fetched from ${discoveryUrl}`)
    if (doc['issuer'] !== issuer) {
      problems.push(
        problem(
          'issuer-mismatch',
          `discovery document names issuer '${String(doc['issuer'])}', not '${issuer}'`,
          "the document's issuer must equal the URL it is served under and the tokens' iss exactly (mind trailing slashes)",
        ),
      )
    }
    const jwksUri = doc['jwks_uri']
    if (typeof jwksUri !== 'string') {
      problems.push(
        problem(
          'missing-jwks-uri',
          'discovery document has no jwks_uri',
          'republish the discovery bundle podtrust cluster setup wrote',
        ),
      )
    } else {
      const set = await fetchJson(jwksUri, 'JWKS', input, problems)
      if (set !== undefined) {
        if (!Array.isArray(set['keys'])) {
          problems.push(
            problem(
              'jwks-invalid',
              `JWKS at ${jwksUri} has no keys array`,
              'republish the JWKS podtrust cluster setup wrote',
            ),
          )
        } else {
          jwks = set as unknown as JSONWebKeySet
          passed.push(`JWKS fetched from ${jwksUri} (${jwks.keys.length} key(s))`)
        }
      }
    }
  }
  let header: { kid?: string | undefined }
  let iss: string | undefined
  try {
    header = decodeProtectedHeader(input.token.trim())
    iss = decodeJwt(input.token.trim()).iss
  } catch {
    problems.push(
      problem(
        'token-invalid',
        'the token is not a JWT',
        'pass a service-account token: kubectl create token SA --audience sts.amazonaws.com',
      ),
    )
    return { ok: false, problems, passed }
  }
  if (iss !== issuer) {
    problems.push(
      problem(
        'token-issuer-mismatch',
        `the token's iss is '${iss ?? '(none)'}', not '${issuer}'`,
        "kube-apiserver's first --service-account-issuer must be the issuer URL: apply the flags cluster setup wrote and restart the API server",
      ),
    )
  }
  if (jwks !== undefined) {
    const kids = jwks.keys.map((k) => k.kid ?? '')
    if (header.kid === undefined || !kids.includes(header.kid)) {
      problems.push(
        problem(
          'missing-kid',
          `the token's kid '${header.kid ?? '(none)'}' is not in the published JWKS (${kids.join(', ') || 'empty'})`,
          'the API server signs with a key that is not published: check --service-account-signing-key-file, then podtrust issuer publish',
        ),
      )
    } else if (iss === issuer) {
      try {
        const v = await input.verifier.verify(input.token, {
          issuer,
          now: input.now,
          jwks,
          ...(input.audiences === undefined ? {} : { audiences: input.audiences }),
        })
        passed.push(
          `token of ${v.subject} (aud ${v.audience.join(',')}) verified with key ${v.kid ?? ''}`,
        )
      } catch (err) {
        problems.push(
          problem(
            'token-invalid',
            `the token does not verify: ${err instanceof Error ? err.message : String(err)}`,
            'mint a fresh token (kubectl create token …) and check the signing key matches the published JWKS',
          ),
        )
      }
    }
  }
  return { ok: problems.length === 0, problems, passed }
}
