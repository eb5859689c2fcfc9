/**
 * @module setup/errors
 * The errors of the self-hosted issuer kit: each names what is wrong and how to fix it.
 */
import { PodtrustError } from '../errors.ts'

export type SetupErrorCode =
  | 'SETUP_INVALID'
  | 'SETUP_KEY_INVALID'
  | 'SETUP_NOT_FOUND'
  | 'SETUP_EXISTS'
  | 'ROTATION_OUT_OF_ORDER'
  | 'ROTATION_TOO_EARLY'
  | 'PUBLISH_FAILED'
  | 'VERIFY_FAILED'

export class SetupError extends PodtrustError<SetupErrorCode> {}
