/**
 * @module identity/authz-message
 * Encoded authorization failure messages: a denial's explanation (decision, matched and failed statements,
 * principal, action, resource, context) sealed with the session keyring so only this podtrust can read it,
 * bound to the caller's account. `sts:DecodeAuthorizationMessage` opens it into AWS's JSON shape.
 */
import type { AuthorizationResult } from '../policy/index.ts'
import { openToken, sealToken } from './credentials.ts'
import { keyringFor, type SessionPorts } from './sessions.ts'
import type { RequestContext } from './context.ts'

interface SealedExplanation {
  pur: 'authz'
  acct: string
  iat: number
  msg: DecodedAuthorizationMessage
}

/** AWS's decoded-message shape (DecodeAuthorizationMessage), with podtrust's statement detail in `failures`. */
export interface DecodedAuthorizationMessage {
  allowed: boolean
  explicitDeny: boolean
  matchedStatements: { items: unknown[] }
  failures: { items: unknown[] }
  context: {
    principal: { id: string; arn: string }
    action: string
    resource: string
    conditions: { items: { key: string; values: { items: { value: string }[] } }[] }
  }
}

export function explain(
  result: AuthorizationResult,
  request: {
    principalId: string
    principalArn: string
    action: string
    resource: string
    context: RequestContext
  },
): DecodedAuthorizationMessage {
  return {
    allowed: result.decision === 'Allowed',
    explicitDeny: result.decision === 'ExplicitlyDenied',
    matchedStatements: {
      items: result.matched.map((s) => ({
        statementId: s.sid ?? '',
        effect: s.effect.toUpperCase(),
        index: s.index,
        policyId: s.policyId,
        policyType: s.policyType,
      })),
    },
    failures: {
      items: [
        ...result.unmatched.map((m) => ({
          statementId: m.sid ?? '',
          effect: m.effect.toUpperCase(),
          policyId: m.policyId,
          policyType: m.policyType,
          element: m.element,
          ...(m.detail === undefined ? {} : { detail: m.detail }),
        })),
        ...result.blockedBy.map((b) => ({ blockedBy: b })),
        ...result.errors.map((e) => ({ error: e })),
      ],
    },
    context: {
      principal: { id: request.principalId, arn: request.principalArn },
      action: request.action,
      resource: request.resource,
      conditions: {
        items: Object.entries(request.context).map(([key, value]) => ({
          key,
          values: { items: (Array.isArray(value) ? value : [value]).map((v) => ({ value: v })) },
        })),
      },
    },
  }
}

export async function encodeAuthorizationMessage(
  ctx: SessionPorts,
  accountId: string,
  message: DecodedAuthorizationMessage,
): Promise<string> {
  const keyring = await ctx.keyring.current(ctx.now())
  const sealed: SealedExplanation = {
    pur: 'authz',
    acct: accountId,
    iat: ctx.now().getTime(),
    msg: message,
  }
  return sealToken(keyring, sealed, ctx.randomBytes)
}

/** Opens an encoded message for a caller of `accountId`; undefined when forged, foreign or not a message. */
export async function decodeAuthorizationMessage(
  ctx: SessionPorts,
  accountId: string,
  encoded: string,
): Promise<DecodedAuthorizationMessage | undefined> {
  try {
    const keyring = await keyringFor(ctx, encoded, ctx.now())
    const opened = openToken(keyring, encoded) as Partial<SealedExplanation>
    if (opened.pur !== 'authz' || opened.acct !== accountId || opened.msg === undefined)
      return undefined
    return opened.msg
  } catch {
    return undefined
  }
}
