/**
 * @module analysis/inputs/jwks
 * A cluster's published signing keys (`kubectl get --raw /openid/v1/jwks`, or the issuer's `jwks_uri` document;
 * an OpenID discovery document merged in adds its `issuer`), reduced to RFC 7638 thumbprints so the same key is
 * recognised under any `kid` (https://www.rfc-editor.org/rfc/rfc7638).
 */
import { createHash } from 'node:crypto'
import type { ClusterJwks } from '../model.ts'
import { JsonReader } from './json-path.ts'

/** The members RFC 7638 §3.2 hashes, per key type, in lexicographic order. */
const REQUIRED: Record<string, string[]> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
}

export function parseClusterJwks(json: unknown, source: string, cluster: string): ClusterJwks {
  const r: JsonReader = new JsonReader(source)
  const doc = r.object(json, '')
  const keys = doc.keys
  if (!Array.isArray(keys)) r.fail('keys', 'expected the JWKS array of keys')
  const out: ClusterJwks = {
    cluster,
    keys: keys.map((k, i) => {
      const path = `keys[${i}]`
      const key = r.object(k, path)
      const kty = r.string(key, 'kty', path)
      const members = REQUIRED[kty]
      if (members === undefined)
        r.fail(`${path}.kty`, `unsupported key type '${kty}' (RSA, EC, OKP)`)
      const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(r.string(key, m, path))}`).join(',')}}`
      const thumbprint = createHash('sha256').update(canonical).digest('base64url')
      const kid = r.optionalString(key, 'kid', path)
      return kid !== undefined ? { kid, thumbprint } : { thumbprint }
    }),
  }
  const issuer = r.optionalString(doc, 'issuer', '')
  if (issuer !== undefined) out.issuer = issuer
  return out
}
