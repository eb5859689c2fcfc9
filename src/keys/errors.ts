import { PodtrustError } from '../errors.ts'

export type KeyErrorCode = 'KEY_NOT_FOUND' | 'KEY_ROTATION_INVALID'

export class KeyError extends PodtrustError<KeyErrorCode> {}
