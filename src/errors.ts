/**
 * The base of podtrust's error hierarchy. Each component (policy, sts, webhook, store, …) extends it with a
 * closed union of stable codes, so callers `switch (err.code)` and never match on messages.
 *
 * - `message` is safe to show to an operator; it never contains a token, a secret or a session token.
 * - `hint` tells a CLI user how to fix the problem.
 * - `cause` carries the underlying error for operators' logs; it never reaches a protocol response.
 */
export class PodtrustError<Code extends string = string> extends Error {
  readonly code: Code
  readonly hint: string | undefined

  constructor(code: Code, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.hint = options.hint
  }
}

/** A CLI argument or invocation problem: printed with the command's usage, exit code 2. */
export class UsageError extends PodtrustError<'USAGE'> {
  constructor(message: string, hint?: string) {
    super('USAGE', message, hint === undefined ? {} : { hint })
  }
}
