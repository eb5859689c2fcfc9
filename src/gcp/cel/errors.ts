/**
 * @module gcp/cel/errors
 * Errors of CEL expressions: syntax (at compile time, with a source offset when known) and evaluation (at
 * run time).
 */
import { PodtrustError } from '../../errors.ts'

export const celErrorCodes = ['CEL_SYNTAX', 'CEL_UNSUPPORTED', 'CEL_EVAL'] as const

export type CelErrorCode = (typeof celErrorCodes)[number]

export class CelError extends PodtrustError<CelErrorCode> {
  /** Offset in the expression where the problem starts (syntax errors only). */
  readonly pos: number | undefined

  constructor(code: CelErrorCode, message: string, pos?: number) {
    super(code, pos === undefined ? message : `${message} at offset ${pos}`)
    this.pos = pos
  }
}
