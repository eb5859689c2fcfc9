/**
 * @module server/logger
 * Structured logs: one JSON object per line (`time`, `level`, `event`, fields). Every field passes through
 * the redactor, so a token, secret or session token handed to the logger by mistake is not written.
 */
import type { Writable } from 'node:stream'
import { redact } from '../audit/redact.ts'
import type { Logger } from '../app/context.ts'

export type LogLevel = 'info' | 'warn' | 'error' | 'silent'
const ORDER: Record<LogLevel, number> = { info: 0, warn: 1, error: 2, silent: 3 }

export interface LoggerOptions {
  stream?: Writable
  level?: LogLevel
  now?: () => Date
  /** Fields on every line (e.g. `{ component: 'server' }`). */
  base?: Record<string, unknown>
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr
  const min = ORDER[options.level ?? 'info']
  const now = options.now ?? (() => new Date())
  const write = (
    level: Exclude<LogLevel, 'silent'>,
    event: string,
    fields?: Record<string, unknown>,
  ): void => {
    if (ORDER[level] < min) return
    const line = {
      time: now().toISOString(),
      level,
      event,
      ...(options.base ?? {}),
      ...((redact(fields ?? {}) as Record<string, unknown>) ?? {}),
    }
    stream.write(`${JSON.stringify(line, errorReplacer)}\n`)
  }
  return {
    info: (e, f) => write('info', e, f),
    warn: (e, f) => write('warn', e, f),
    error: (e, f) => write('error', e, f),
  }
}

/** Errors serialize as name/code/message (their messages are token-free by rule); no stack in logs. */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) }
  }
  return value
}

/** A logger that drops everything (tests, CLI commands that open the store). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} }
