/**
 * @module config/errors
 * Config problems. Every message starts with the path of the offending value (`roles[2].name`), so a user
 * finds it in the file; YAML syntax errors carry the line and column. Once the file is known
 * (`inConfigFile`), the message reads `FILE: PATH: message`, each part once.
 */
import { PodtrustError } from '../errors.ts'

export type ConfigErrorCode = 'CONFIG_YAML_INVALID' | 'CONFIG_INVALID' | 'CONFIG_APPLY_FAILED'

export class ConfigError extends PodtrustError<ConfigErrorCode> {
  /** Path of the offending value (`roles[2].name`), `''` for the document itself. */
  readonly path: string
  /** The problem itself, without file or path. */
  readonly detail: string
  /** The config file, when known. */
  readonly file: string | undefined

  constructor(
    code: ConfigErrorCode,
    path: string,
    message: string,
    options: { hint?: string; cause?: unknown; file?: string } = {},
  ) {
    const where = [options.file, path].filter((p) => p !== undefined && p !== '').join(': ')
    super(code, where === '' ? message : `${where}: ${message}`, {
      ...(options.hint === undefined ? {} : { hint: options.hint }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    })
    this.path = path
    this.detail = message
    this.file = options.file
  }
}

/**
 * The same problem, located in `file` (`FILE: PATH: message`); an error that already names a file is
 * returned as is.
 *
 * @example throw inConfigFile(err, 'podtrust.yaml') // podtrust.yaml: roles[0].name: is required
 */
export function inConfigFile(err: ConfigError, file: string): ConfigError {
  if (err.file !== undefined) return err
  return new ConfigError(err.code, err.path, err.detail, {
    file,
    cause: err,
    ...(err.hint === undefined ? {} : { hint: err.hint }),
  })
}

/** Shorthand for sections: a validation failure at `path`. */
export function invalidAt(path: string, message: string, hint?: string): ConfigError {
  return new ConfigError('CONFIG_INVALID', path, message, hint === undefined ? {} : { hint })
}
