/**
 * @module dbproxy/token
 * The IAM database authentication token as the SDKs produce it: a SigV4-presigned `GET` for the `rds-db`
 * service without its scheme, `HOST:PORT/?Action=connect&DBUser=USER&X-Amz-Algorithm=…&X-Amz-Credential=
 * KEY/DATE/REGION/rds-db/aws4_request&X-Amz-Date=…&X-Amz-Expires=900&X-Amz-SignedHeaders=host
 * [&X-Amz-Security-Token=…]&X-Amz-Signature=…` (boto3 `generate_db_auth_token`, `aws rds
 * generate-db-auth-token`, `@aws-sdk/rds-signer`). A token is valid for 15 minutes whatever X-Amz-Expires
 * says (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.Connecting.html).
 * Pure: parsing and the time window; the signature is verified by the platform's SigV4 authenticator.
 */

/** "An authentication token has a lifetime of 15 minutes." */
export const TOKEN_LIFETIME_SECONDS = 900
/** The same clock skew AWS allows a signature made in the future. */
const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
/** Longer than any token the SDKs make (~1–2 KiB with a session token). */
export const MAX_TOKEN_LENGTH = 8192

/** Why a token was refused (for the audit log only: clients see one generic failure). */
export type TokenProblem =
  'malformed' | 'not-connect' | 'expired' | 'not-yet-valid' | 'wrong-service'

export class TokenRejected extends Error {
  readonly problem: TokenProblem
  constructor(problem: TokenProblem, message: string) {
    super(message)
    this.problem = problem
  }
}

export interface AuthToken {
  /** `host:port` as signed (the Host header of the presigned request), host lower-cased. */
  endpoint: string
  /** The raw query string (without `?`) to verify. */
  query: string
  dbUser: string
  region: string
  signedAt: Date
  /** When the token stops being accepted: signedAt + min(X-Amz-Expires, 900 s). */
  expiresAt: Date
}

function param(pairs: URLSearchParams, name: string): string | undefined {
  const v = pairs.get(name)
  return v === null ? undefined : v
}

/** Parses a token; throws `TokenRejected` for anything but the SDKs' shape. */
export function parseAuthToken(token: string): AuthToken {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH)
    throw new TokenRejected('malformed', 'token empty or too long')
  const slash = token.indexOf('/?')
  if (slash <= 0) throw new TokenRejected('malformed', 'token is not HOST:PORT/?QUERY')
  const endpoint = token.slice(0, slash)
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(endpoint))
    throw new TokenRejected('malformed', 'token host is not HOST:PORT')
  const query = token.slice(slash + 2)
  // '+' stays literal in SigV4 queries; URLSearchParams would turn it into a space.
  const pairs = new URLSearchParams(query.replace(/\+/g, '%2B'))
  if (param(pairs, 'Action') !== 'connect')
    throw new TokenRejected('not-connect', 'token Action is not connect')
  const dbUser = param(pairs, 'DBUser')
  if (dbUser === undefined || dbUser === '')
    throw new TokenRejected('malformed', 'token has no DBUser')
  const credential = param(pairs, 'X-Amz-Credential')?.split('/')
  if (credential === undefined || credential.length !== 5)
    throw new TokenRejected('malformed', 'token has no valid X-Amz-Credential')
  if (credential[3] !== 'rds-db')
    throw new TokenRejected('wrong-service', `token is signed for ${credential[3]}, not rds-db`)
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(
    param(pairs, 'X-Amz-Date') ?? '',
  )
  if (date === null) throw new TokenRejected('malformed', 'token has no valid X-Amz-Date')
  const signedAt = new Date(
    Date.UTC(+date[1]!, +date[2]! - 1, +date[3]!, +date[4]!, +date[5]!, +date[6]!),
  )
  const expiresText = param(pairs, 'X-Amz-Expires')
  if (expiresText === undefined || !/^\d{1,7}$/.test(expiresText))
    throw new TokenRejected('malformed', 'token has no valid X-Amz-Expires')
  const lifetime = Math.min(Number(expiresText), TOKEN_LIFETIME_SECONDS)
  return {
    endpoint: endpoint.toLowerCase(),
    query,
    dbUser,
    region: credential[2]!,
    signedAt,
    expiresAt: new Date(signedAt.getTime() + lifetime * 1000),
  }
}

/** Throws `TokenRejected` when `now` is outside the token's window. */
export function checkTokenWindow(token: AuthToken, now: Date): void {
  if (token.signedAt.getTime() > now.getTime() + MAX_FUTURE_SKEW_MS)
    throw new TokenRejected('not-yet-valid', 'token is signed in the future')
  if (now.getTime() > token.expiresAt.getTime()) throw new TokenRejected('expired', 'token expired')
}
