/**
 * @module tokens/errors
 * The one error type of token minting and verification. Messages name a claim or a key id, never a token.
 */
import { PodtrustError } from '../errors.ts'
import type { TokenErrorCode } from './types.ts'

export type IssuerErrorCode = 'ISSUER_NOT_FOUND' | 'ISSUER_INVALID' | 'TOKEN_REQUEST_INVALID'

export class TokenError extends PodtrustError<TokenErrorCode> {
  /** The claim a claim check failed on (`aud`, `exp`, `nbf`, `iss`), when one did. */
  readonly claim: string | undefined
  /** `missing` when the claim was absent rather than wrong. */
  readonly reason: 'missing' | 'invalid' | undefined
  /** For TOKEN_EXPIRED / TOKEN_NOT_YET_VALID: the token's `exp` / `nbf`. */
  readonly at: Date | undefined

  constructor(
    code: TokenErrorCode,
    message: string,
    options: {
      cause?: unknown
      claim?: string
      reason?: 'missing' | 'invalid'
      at?: Date
    } = {},
  ) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause })
    this.claim = options.claim
    this.reason = options.reason
    this.at = options.at
  }
}

/** Issuer management and mint-request problems (CLI and config), with a hint for the operator. */
export class IssuerError extends PodtrustError<IssuerErrorCode> {}
