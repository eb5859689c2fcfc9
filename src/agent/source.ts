/**
 * @module agent/source
 * Where the agent gets credentials for a pod token: EKS Auth `AssumeRoleForPodIdentity`, either in-process
 * (`podtrust up --agent-port`) or over HTTP with SigV4 (`podtrust agent --server URL`).
 */
import { type AwsCredentials, signRequest } from '../aws/sigv4/sign.ts'

/** What the agent needs from an AssumeRoleForPodIdentity answer. */
export interface PodCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  expiration: Date
  /** The assumed-role ARN (its account becomes `AccountId`). */
  roleArn: string
}

/** An EKS Auth failure the agent passes through (status and code as EKS Auth answered). */
export class UpstreamError extends Error {
  override name = 'UpstreamError'
  readonly status: number
  readonly code: string

  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }

  /** The reference agent does not retry these (internal/cloud/eksauth/errors.go). */
  get retryable(): boolean {
    return ![
      'ResourceNotFoundException',
      'ExpiredTokenException',
      'InvalidTokenException',
      'AccessDeniedException',
    ].includes(this.code)
  }
}

export type CredentialSource = (token: string) => Promise<PodCredentials>

interface EksAuthResponse {
  assumedRoleUser?: { arn?: unknown }
  credentials?: {
    accessKeyId?: unknown
    secretAccessKey?: unknown
    sessionToken?: unknown
    expiration?: unknown
  }
}

/** Parses the model's response JSON (timestamps are epoch seconds). */
export function parseEksAuthResponse(body: unknown): PodCredentials {
  const b = (body ?? {}) as EksAuthResponse
  const c = b.credentials ?? {}
  const arn = b.assumedRoleUser?.arn
  if (
    typeof c.accessKeyId !== 'string' ||
    typeof c.secretAccessKey !== 'string' ||
    typeof c.sessionToken !== 'string' ||
    typeof c.expiration !== 'number' ||
    typeof arn !== 'string'
  ) {
    throw new UpstreamError(
      500,
      'InternalServerException',
      'EKS Auth returned an incomplete response',
    )
  }
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
    expiration: new Date(c.expiration * 1000),
    roleArn: arn,
  }
}

export interface RemoteSourceOptions {
  /** podtrust (or EKS Auth) base URL, e.g. `http://127.0.0.1:4566`. */
  serverUrl: string
  clusterName: string
  region: string
  /** Resolved per call, so rotated environment credentials are picked up. */
  credentials: () => AwsCredentials
  now?: () => Date
  fetch?: typeof fetch
  /** Per-call timeout in milliseconds (default 5000). */
  timeoutMs?: number
}

/** EKS Auth over HTTP, signed with SigV4 service `eks-auth`. */
export function remoteSource(options: RemoteSourceOptions): CredentialSource {
  const doFetch = options.fetch ?? fetch
  const base = options.serverUrl.replace(/\/+$/, '')
  const url = `${base}/clusters/${encodeURIComponent(options.clusterName)}/assume-role-for-pod-identity`
  return async (token) => {
    const body = JSON.stringify({ token })
    const headers = signRequest({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      body,
      service: 'eks-auth',
      region: options.region,
      credentials: options.credentials(),
      now: (options.now ?? (() => new Date()))(),
    })
    // `host` is set by fetch itself; sending it is refused by undici.
    delete headers['host']
    let res: Response
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      })
    } catch (err) {
      // Unreachable (a replica restarting, a network blip): the SDK's container provider retries a 503.
      throw new UpstreamError(
        503,
        'ServiceUnavailableException',
        `EKS Auth is unreachable: ${(err as Error).message}`,
      )
    }
    const text = await res.text()
    let json: unknown
    try {
      json = text === '' ? {} : (JSON.parse(text) as unknown)
    } catch {
      json = {}
    }
    if (res.status !== 200) {
      const type =
        (res.headers.get('x-amzn-errortype') ?? 'InternalServerException').split(':')[0] ?? ''
      const message =
        (json as { message?: unknown; Message?: unknown }).message ??
        (json as { Message?: unknown }).Message
      throw new UpstreamError(
        res.status,
        type,
        typeof message === 'string' ? message : `EKS Auth answered ${res.status}`,
      )
    }
    return parseEksAuthResponse(json)
  }
}

export {
  environmentCredentials,
  profileCredentials,
  standardCredentials,
} from '../aws/credentials.ts'
