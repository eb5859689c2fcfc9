/**
 * @module agent/imds
 * An IMDSv2-compatible instance metadata endpoint serving a configured node role's credentials — the
 * classic "node role" method (every pod on the node gets the node's role), so it can be run and compared
 * with IRSA and Pod Identity. Behaviour follows the EC2 User Guide
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html,
 *  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html):
 *
 * - `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` (1–21600) returns a session token;
 *   a missing or out-of-range TTL is 400; a PUT carrying `X-Forwarded-For` is 403 (IMDS refuses tokens to
 *   requests that went through a proxy).
 * - GETs carry `X-aws-ec2-metadata-token`: a forged or expired token is 401 in either mode; a missing one is
 *   401 when IMDSv2 is required (`HttpTokens=required`, the default here) and allowed (IMDSv1) only when the
 *   endpoint is configured `optional`.
 * - Paths: `/` lists the versions (`latest`), `/latest` the categories; anything else unknown is IMDS's 404
 *   page (an XHTML document, `text/html`).
 * - Hop limit: EC2 sends the token PUT's response with the IP TTL set to the hop limit (1 by default), so a
 *   container behind a bridge (one more hop) never receives a token. A Node.js socket cannot set its TTL, so
 *   podtrust does not emulate it: bind the endpoint where only the intended clients reach it (loopback for
 *   local use; the node's link-local address with host-network-only access in a cluster) — see
 *   docs/self-hosted.md. `podtrust scan`/`doctor` flag pods that can reach it.
 * - Credentials: `/latest/meta-data/iam/security-credentials/` lists the role name; `…/ROLE` answers
 *   `{Code, LastUpdated, Type: "AWS-HMAC", AccessKeyId, SecretAccessKey, Token, Expiration}`.
 *
 * Tokens are stateless: base64url(expiry ‖ HMAC-SHA256(key, expiry)) under a per-process random key,
 * compared in constant time, so no table grows with requests.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { listenOnHosts } from './listen.ts'

/** The address EC2 serves IMDS on (and the IPv6 one on Nitro instances). */
export const IMDS_HOSTS = ['169.254.169.254', 'fd00:ec2::254'] as const
export const MAX_TOKEN_TTL_SECONDS = 21_600

/** EC2's `HttpTokens` metadata option: `required` is IMDSv2 only; `optional` also answers IMDSv1 GETs. */
export type HttpTokens = 'required' | 'optional'

export interface NodeRoleCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  expiration: Date
}

/** Assumes the node role; the server caches the result until shortly before it expires. */
export type NodeRoleSource = () => Promise<NodeRoleCredentials>

export interface InstanceIdentity {
  accountId: string
  region: string
  availabilityZone: string
  instanceId: string
  instanceType: string
  imageId: string
  privateIp: string
  /** The instance profile's role name (the credentials path's last segment). */
  roleName: string
  instanceProfileArn: string
  instanceProfileId: string
}

export interface ImdsOptions {
  source: NodeRoleSource
  identity: InstanceIdentity
  hosts?: string[]
  port?: number
  /** Default `required` (IMDSv2 only). */
  httpTokens?: HttpTokens
  now?: () => Date
  /** Refresh the node role's credentials when fewer than this many seconds remain (default 900). */
  refreshBeforeSeconds?: number
  log?: (event: string, fields: Record<string, unknown>) => void
}

export interface RunningImds {
  urls: string[]
  port: number
  close(): Promise<void>
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')

/** Signs and checks the session tokens. */
export function createTokenCodec(key: Buffer = randomBytes(32)) {
  const mac = (payload: Buffer) => createHmac('sha256', key).update(payload).digest()
  return {
    issue(expiresAtMs: number): string {
      const payload = Buffer.alloc(8)
      payload.writeBigUInt64BE(BigInt(expiresAtMs))
      return Buffer.concat([payload, mac(payload)]).toString('base64url')
    },
    valid(token: string, nowMs: number): boolean {
      if (!/^[A-Za-z0-9_-]{54}$/.test(token)) return false
      const raw = Buffer.from(token, 'base64url')
      if (raw.length !== 40) return false
      const payload = raw.subarray(0, 8)
      if (!timingSafeEqual(raw.subarray(8), mac(payload))) return false
      return Number(payload.readBigUInt64BE()) > nowMs
    },
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

export async function startImds(options: ImdsOptions): Promise<RunningImds> {
  const now = options.now ?? (() => new Date())
  const hosts = options.hosts ?? ['127.0.0.1']
  const log = options.log ?? (() => undefined)
  const refreshMs = (options.refreshBeforeSeconds ?? 900) * 1000
  const httpTokens = options.httpTokens ?? 'required'
  const codec = createTokenCodec()
  const id = options.identity
  let cached: { creds: NodeRoleCredentials; at: Date } | undefined
  let inflight: Promise<{ creds: NodeRoleCredentials; at: Date }> | undefined

  const credentials = async () => {
    if (cached !== undefined && cached.creds.expiration.getTime() - now().getTime() > refreshMs)
      return cached
    inflight ??= options
      .source()
      .then((creds) => (cached = { creds, at: now() }))
      .finally(() => (inflight = undefined))
    return inflight
  }

  const text = (res: ServerResponse, status: number, body: string, type = 'text/plain') => {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      Server: 'EC2ws',
    })
    res.end(body)
  }
  const json = (res: ServerResponse, body: unknown) => text(res, 200, JSON.stringify(body, null, 2))

  const document = () => ({
    accountId: id.accountId,
    architecture: 'x86_64',
    availabilityZone: id.availabilityZone,
    billingProducts: null,
    devpayProductCodes: null,
    marketplaceProductCodes: null,
    imageId: id.imageId,
    instanceId: id.instanceId,
    instanceType: id.instanceType,
    kernelId: null,
    pendingTime: iso(startedAt),
    privateIp: id.privateIp,
    ramdiskId: null,
    region: id.region,
    version: '2017-09-30',
  })
  const startedAt = now()

  /** Plain-text metadata leaves and the listings SDKs and tools walk (a Map: no prototype keys as paths). */
  const leaves = new Map<string, () => string>(
    Object.entries({
      'meta-data/ami-id': () => id.imageId,
      'meta-data/instance-id': () => id.instanceId,
      'meta-data/instance-type': () => id.instanceType,
      'meta-data/local-ipv4': () => id.privateIp,
      'meta-data/local-hostname': () => `ip-${id.privateIp.replace(/\./g, '-')}.ec2.internal`,
      'meta-data/hostname': () => `ip-${id.privateIp.replace(/\./g, '-')}.ec2.internal`,
      'meta-data/placement/region': () => id.region,
      'meta-data/placement/availability-zone': () => id.availabilityZone,
      'meta-data/iam/security-credentials/': () => id.roleName,
      'meta-data/': () =>
        [
          'ami-id',
          'hostname',
          'iam/',
          'instance-id',
          'instance-type',
          'local-hostname',
          'local-ipv4',
          'placement/',
        ].join('\n'),
      'meta-data/iam/': () => ['info', 'security-credentials/'].join('\n'),
      'meta-data/placement/': () => ['availability-zone', 'region'].join('\n'),
      'dynamic/': () => 'instance-identity/',
      'dynamic/instance-identity/': () => 'document',
      '': () => ['dynamic', 'meta-data'].join('\n'),
    }),
  )

  async function get(path: string, res: ServerResponse): Promise<void> {
    // IMDS answers a listing with or without its trailing slash.
    const leaf = leaves.get(path) ?? leaves.get(`${path}/`)
    if (leaf !== undefined) return text(res, 200, leaf())
    if (path === 'dynamic/instance-identity/document') return json(res, document())
    if (
      path === 'meta-data/iam/info' ||
      path === `meta-data/iam/security-credentials/${id.roleName}`
    ) {
      let got: { creds: NodeRoleCredentials; at: Date }
      try {
        got = await credentials()
      } catch (err) {
        log('imds.credentials.failed', { error: err instanceof Error ? err.message : String(err) })
        // Fail closed; SDKs retry on 5xx.
        return text(
          res,
          500,
          JSON.stringify({
            Code: 'AssumeRoleUnauthorizedAccess',
            Message: `EC2 cannot assume the role ${id.roleName}.`,
          }),
        )
      }
      if (path === 'meta-data/iam/info') {
        return json(res, {
          Code: 'Success',
          LastUpdated: iso(got.at),
          InstanceProfileArn: id.instanceProfileArn,
          InstanceProfileId: id.instanceProfileId,
        })
      }
      return json(res, {
        Code: 'Success',
        LastUpdated: iso(got.at),
        Type: 'AWS-HMAC',
        AccessKeyId: got.creds.accessKeyId,
        SecretAccessKey: got.creds.secretAccessKey,
        Token: got.creds.sessionToken,
        Expiration: iso(got.creds.expiration),
      })
    }
    text(res, 404, notFoundPage, 'text/html')
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (req.method === 'PUT') {
      if (path !== '/latest/api/token') return text(res, 403, forbiddenPage, 'text/html')
      if (header(req, 'x-forwarded-for') !== undefined)
        return text(res, 403, forbiddenPage, 'text/html')
      const ttlRaw = header(req, 'x-aws-ec2-metadata-token-ttl-seconds')
      const ttl =
        ttlRaw !== undefined && /^\d{1,5}$/.test(ttlRaw.trim()) ? Number(ttlRaw.trim()) : NaN
      if (!(ttl >= 1 && ttl <= MAX_TOKEN_TTL_SECONDS))
        return text(res, 400, badRequestPage, 'text/html')
      const token = codec.issue(now().getTime() + ttl * 1000)
      res.writeHead(200, {
        'Content-Type': 'text/plain',
        'Content-Length': Buffer.byteLength(token),
        'X-Aws-Ec2-Metadata-Token-Ttl-Seconds': String(ttl),
        Server: 'EC2ws',
      })
      res.end(token)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD, PUT')
      return text(res, 405, methodNotAllowedPage, 'text/html')
    }
    const token = header(req, 'x-aws-ec2-metadata-token')
    // A token that is sent must be valid even where IMDSv1 is allowed; none at all is IMDSv1.
    const authorized =
      token === undefined ? httpTokens === 'optional' : codec.valid(token.trim(), now().getTime())
    if (!authorized) return text(res, 401, unauthorizedPage, 'text/html')
    if (path === '/') return text(res, 200, 'latest')
    const m = /^\/latest(?:\/(.*))?$/.exec(path)
    if (m === null) return text(res, 404, notFoundPage, 'text/html')
    await get(m[1] ?? '', res)
  }

  const listeners = await listenOnHosts(
    hosts,
    options.port ?? 0,
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        log('imds.request.error', { error: err instanceof Error ? err.message : String(err) })
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' })
        res.end()
      })
    },
    (server) => server.on('clientError', (_err, socket) => socket.destroy()),
  )
  return {
    urls: listeners.urls,
    port: listeners.port,
    close: listeners.close,
  }
}

const page = (status: string) =>
  `<?xml version="1.0" encoding="iso-8859-1"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n <head>\n  <title>${status}</title>\n </head>\n <body>\n  <h1>${status}</h1>\n </body>\n</html>\n`
const notFoundPage = page('404 - Not Found')
const unauthorizedPage = page('401 - Unauthorized')
const forbiddenPage = page('403 - Forbidden')
const badRequestPage = page('400 - Bad Request')
const methodNotAllowedPage = page('405 - Method Not Allowed')
