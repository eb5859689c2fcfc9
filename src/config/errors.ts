/**
 * @module config/errors
 * Config problems. Every message starts with the path of the offending value (`roles[2].name`), so a user
 * finds it in the file; YAML syntax errors carry the line and column.
 */
import { PodtrustError } from '../errors.ts'

export type ConfigErrorCode = 'CONFIG_YAML_INVALID' | 'CONFIG_INVALID' | 'CONFIG_APPLY_FAILED'

export class ConfigError extends PodtrustError<ConfigErrorCode> {
  /** Path of the offending value (`roles[2].name`), `''` for the document itself. */
  readonly path: string

  constructor(
    code: ConfigErrorCode,
    path: string,
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(code, path === '' ? message : `${path}: ${message}`, options)
    this.path = path
  }
}

/** Shorthand for sections: a validation failure at `path`. */
export function invalidAt(path: string, message: string, hint?: string): ConfigError {
  return new ConfigError('CONFIG_INVALID', path, message, hint === undefined ? {} : { hint })
}
