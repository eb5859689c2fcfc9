/**
 * @module generate/errors
 * Errors of the generators and the migration planner, with stable codes.
 */
import { PodtrustError } from '../errors.ts'

export type GenerateErrorCode = 'GENERATE_INPUT' | 'MIGRATE_INPUT'

export class GenerateError extends PodtrustError<GenerateErrorCode> {}
