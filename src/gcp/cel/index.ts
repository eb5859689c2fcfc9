/**
 * @module gcp/cel
 * The CEL subset of workload identity federation: `parse` once, `evaluate` per exchange.
 */
export { CelError, type CelErrorCode } from './errors.ts'
export { parse, MAX_EXPRESSION_LENGTH, type CelValue, type Expr } from './parser.ts'
export { evaluate, evaluateCondition, extract, typeName, type Activation } from './evaluate.ts'
