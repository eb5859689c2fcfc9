/**
 * @module kube/log
 * The logger the webhook's parts are given (the CLI passes the server's structured JSON logger, which
 * redacts token-looking values). Fields never carry a token, an env value or a patch: names and counts only.
 */
export interface WebhookLogger {
  info(event: string, fields?: Record<string, unknown>): void
  warn(event: string, fields?: Record<string, unknown>): void
  error(event: string, fields?: Record<string, unknown>): void
}

export const quietLogger: WebhookLogger = { info() {}, warn() {}, error() {} }

/** An error's message for a log line (never its stack; ApiException messages hold response headers too). */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const first = err.message.split('\n')[0] ?? err.message
    return first.length > 300 ? `${first.slice(0, 300)}…` : first
  }
  return String(err)
}
