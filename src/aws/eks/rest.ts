/**
 * @module aws/eks/rest
 * restJson1 response helpers shared by EKS and EKS Auth: JSON bodies with `x-amzn-RequestId`, errors as
 * model status + `x-amzn-ErrorType` + `{"message"}`
 * (https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html#operation-error-serialization). Only errors whose class says
 * they are client-safe are exposed; anything else becomes the service's generic 500.
 */
import type { Context } from 'hono'
import { PodtrustError } from '../../errors.ts'
import { BodyTooLargeError, readBody } from '../body.ts'
import { uuidV4 } from './ids.ts'

export function newRequestId(randomBytes: (size: number) => Uint8Array): string {
  return uuidV4(randomBytes)
}

export function jsonResponse(c: Context, requestId: string, body: unknown, status = 200): Response {
  return c.body(JSON.stringify(body), status as 200, {
    'Content-Type': 'application/json',
    'x-amzn-RequestId': requestId,
  })
}

/** An error that carries an AWS code and HTTP status (EksError, EksAuthError, the STS engineer's AwsError). */
export interface ExposableError {
  code: string
  status: number
  message: string
}

export function asExposable(err: unknown): ExposableError | undefined {
  if (!(err instanceof PodtrustError)) return undefined
  const e = err as PodtrustError & { status?: unknown; statusCode?: unknown; httpStatus?: unknown }
  const status = [e.status, e.statusCode, e.httpStatus].find((s) => typeof s === 'number') as
    number | undefined
  if (status === undefined || !/^[A-Za-z]+$/.test(e.code)) return undefined
  return { code: e.code, status, message: e.message }
}

export function errorResponse(
  c: Context,
  requestId: string,
  err: ExposableError,
  extra: Record<string, string> = {},
): Response {
  return c.body(JSON.stringify({ message: err.message, ...extra }), err.status as 400, {
    'Content-Type': 'application/json',
    'x-amzn-RequestId': requestId,
    'x-amzn-ErrorType': err.code,
  })
}

/** Body text → JSON object; an empty body is `{}` (GET/DELETE carry none). */
export function parseJsonBody(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: {} }
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false }
  }
}

/** Bound on an EKS / EKS Auth JSON body (the largest field, an association's session policy, is 2048). */
export const MAX_EKS_BODY_BYTES = 64 * 1024

/** An oversized body: EKS and EKS Auth both answer `InvalidRequestException` (400). */
class BodyLimitError extends PodtrustError<'InvalidRequestException'> {
  readonly status = 400
  constructor(limit: number) {
    super('InvalidRequestException', `the request body exceeds ${limit} bytes`)
  }
}

/** The request body as text, at most MAX_EKS_BODY_BYTES; beyond it EKS's `InvalidRequestException`. */
export async function readEksBody(c: Context): Promise<string> {
  try {
    return Buffer.from(await readBody(c, MAX_EKS_BODY_BYTES)).toString('utf8')
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err
    throw new BodyLimitError(err.limit)
  }
}
