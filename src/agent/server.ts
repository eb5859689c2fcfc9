/**
 * @module agent/server
 * The Pod Identity node agent: a container-credentials endpoint (`GET /v1/credentials`, raw pod token in
 * `Authorization`) answering `{AccessKeyId, SecretAccessKey, Token, AccountId, Expiration}` as the EKS Pod
 * Identity Agent does (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html,
 * https://github.com/aws/eks-pod-identity-agent), plus `/healthz` and `/metrics`. Plain node:http: this
 * path is hot.
 *
 * Errors are JSON `{"Code","Message"}` with EKS Auth's status passed through: JS v3 reads that body on 4xx,
 * botocore retries any non-200 (its container credential provider,
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html). A request without `Authorization` is refused, never
 * served: the JS SDK's last fallback sends one unauthenticated GET.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { listenOnHosts } from './listen.ts'
import { Counter, Histogram, Registry } from 'prom-client'
import { type CredentialCache, createCredentialCache } from './cache.ts'
import { TokenPrecheckError, basicClaimCheck } from './jwt.ts'
import { type CredentialSource, UpstreamError } from './source.ts'

/** The link-local addresses the SDKs accept over plain http (besides loopback and ECS's 169.254.170.2). */
export const POD_IDENTITY_AGENT_HOSTS = ['169.254.170.23', 'fd00:ec2::23'] as const

export interface AgentOptions {
  source: CredentialSource
  /** Addresses to bind (default `['127.0.0.1']`); in a cluster `169.254.170.23` and `fd00:ec2::23`. */
  hosts?: string[]
  /** Port (default 0 = ephemeral; 80 in a cluster). */
  port?: number
  now?: () => Date
  /** Refuse requests whose Host header is not a bound address or loopback (default true): DNS rebinding. */
  checkHost?: boolean
  maxEntries?: number
  renewAfterSeconds?: number
  minServeSeconds?: number
  log?: (event: string, fields: Record<string, unknown>) => void
}

export interface RunningAgent {
  /** `http://HOST:PORT` per bound host (IPv6 in brackets). */
  urls: string[]
  /** The first URL + `/v1/credentials`, what AWS_CONTAINER_CREDENTIALS_FULL_URI takes. */
  credentialsUrl: string
  port: number
  cache: CredentialCache
  close(): Promise<void>
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1'])

function hostOnly(hostHeader: string | undefined): string | undefined {
  if (hostHeader === undefined) return undefined
  const h = hostHeader.trim().toLowerCase()
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'))
  const colon = h.lastIndexOf(':')
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** `arn:P:sts::ACCT:assumed-role/…` → ACCT. */
function accountOf(arn: string): string | undefined {
  const acct = arn.split(':')[4]
  return acct !== undefined && /^\d{12}$/.test(acct) ? acct : undefined
}

/**
 * Starts the agent.
 * @example const agent = await startAgent({ source: remoteSource({...}), hosts: ['127.0.0.1'], port: 0 })
 */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const now = options.now ?? (() => new Date())
  const hosts = options.hosts ?? ['127.0.0.1']
  const checkHost = options.checkHost ?? true
  const log = options.log ?? (() => undefined)
  const cacheOptions: Parameters<typeof createCredentialCache>[0] = { source: options.source, now }
  if (options.maxEntries !== undefined) cacheOptions.maxEntries = options.maxEntries
  if (options.renewAfterSeconds !== undefined)
    cacheOptions.renewAfterSeconds = options.renewAfterSeconds
  if (options.minServeSeconds !== undefined) cacheOptions.minServeSeconds = options.minServeSeconds
  const cache = createCredentialCache(cacheOptions)

  const registry = new Registry()
  const requests = new Counter({
    name: 'podtrust_agent_credential_requests_total',
    help: 'Credential requests by HTTP status and cache result',
    labelNames: ['status', 'cache'] as const,
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'podtrust_agent_eks_auth_seconds',
    help: 'Latency of EKS Auth AssumeRoleForPodIdentity calls made by the agent',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  const allowed = new Set([...hosts.map((h) => h.toLowerCase()), ...LOOPBACK_HOSTS])

  function send(res: ServerResponse, status: number, body: unknown, cacheLabel = 'none'): void {
    const text = JSON.stringify(body)
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    })
    res.end(text)
    requests.inc({ status: String(status), cache: cacheLabel })
  }

  async function credentials(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = hostOnly(req.headers.host)
    if (checkHost && (host === undefined || !allowed.has(host))) {
      send(res, 403, {
        Code: 'AccessDenied',
        Message: `Access Denied. Called agent through invalid address, please use one of [${hosts.join(' ')}]`,
      })
      return
    }
    const token = (req.headers.authorization ?? '').trim()
    if (token === '') {
      send(res, 401, { Code: 'AccessDenied', Message: 'Service account token cannot be empty' })
      return
    }
    try {
      basicClaimCheck(token, now())
    } catch (err) {
      if (err instanceof TokenPrecheckError) {
        send(res, 400, { Code: 'InvalidTokenException', Message: err.message })
        return
      }
      throw err
    }
    const started = process.hrtime.bigint()
    let result: Awaited<ReturnType<CredentialCache['get']>>
    try {
      result = await cache.get(token)
    } catch (err) {
      if (err instanceof UpstreamError) {
        log('agent.credentials.failed', { status: err.status, code: err.code })
        send(res, err.status, { Code: err.code, Message: err.message })
        return
      }
      log('agent.credentials.error', { error: (err as Error).message })
      send(res, 500, {
        Code: 'InternalServerException',
        Message: 'credentials could not be obtained',
      })
      return
    }
    if (!result.cached) latency.observe(Number(process.hrtime.bigint() - started) / 1e9)
    const c = result.creds
    const body: Record<string, string> = {
      AccessKeyId: c.accessKeyId,
      SecretAccessKey: c.secretAccessKey,
      Token: c.sessionToken,
      Expiration: rfc3339(c.expiration),
    }
    const account = accountOf(c.roleArn)
    if (account !== undefined) body['AccountId'] = account
    send(res, 200, body, result.cached ? 'hit' : 'miss')
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/v1/credentials') return credentials(req, res)
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      res.end('ok\n')
      return
    }
    if (path === '/metrics') {
      const s = cache.stats()
      const text = `${await registry.metrics()}# HELP podtrust_agent_cache_entries Tokens with cached credentials\n# TYPE podtrust_agent_cache_entries gauge\npodtrust_agent_cache_entries ${s.size}\n`
      res.writeHead(200, { 'Content-Type': registry.contentType })
      res.end(text)
      return
    }
    res.writeHead(404, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify({ Code: 'NotFound', Message: 'not found' }))
  }

  const listeners = await listenOnHosts(hosts, options.port ?? 0, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log('agent.request.error', { error: (err as Error).message })
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ Code: 'InternalServerException', Message: 'internal error' }))
    })
  })
  return {
    urls: listeners.urls,
    credentialsUrl: `${listeners.urls[0] ?? ''}/v1/credentials`,
    cache,
    port: listeners.port,
    close: listeners.close,
  }
}
