// The AWS SigV4 test suite (../shared/conformance/sigv4/v4, read in place): for every case and both signing forms
// (header, presigned query), the canonical request, string to sign and signature computed from the signed
// request match the suite's files, the signed request verifies under the case's credentials and clock, and every
// one-byte change to a signed part (method, path, signed header values, query, body, signature) is rejected.
// The suite's raw requests are parsed here, below the HTTP layer (some are not valid HTTP for Node's parser).
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import {
  buildCanonicalRequest,
  canonicalPath,
  buildStringToSign,
  checkClock,
  computeSignature,
  parseSignature,
  verifySignature,
  type SigV4Request,
} from '../../src/aws/sigv4/sigv4.ts'
import { conformanceRoot, summarize, type SetResult, type SuiteResult } from './suite.ts'

interface CaseContext {
  credentials: { access_key_id: string; secret_access_key: string; token?: string }
  normalize: boolean
  region: string
  service: string
  timestamp: string
  omit_session_token?: boolean
}

/** Parses a suite request file: request line (the target may contain spaces), folded headers, body. */
export function parseRawRequest(text: string): SigV4Request {
  const blank = text.indexOf('\n\n')
  const head = blank === -1 ? text : text.slice(0, blank)
  const body = blank === -1 ? '' : text.slice(blank + 2)
  const lines = head.split('\n')
  const requestLine = lines.shift() ?? ''
  const firstSpace = requestLine.indexOf(' ')
  const lastSpace = requestLine.lastIndexOf(' HTTP/')
  const method = requestLine.slice(0, firstSpace)
  const target = requestLine.slice(firstSpace + 1, lastSpace === -1 ? undefined : lastSpace)
  const q = target.indexOf('?')
  const headers: [string, string][] = []
  for (const line of lines) {
    if (line === '') continue
    if (/^\s/.test(line) && headers.length > 0) {
      const last = headers[headers.length - 1] as [string, string]
      last[1] = `${last[1]}\n${line}`
      continue
    }
    const colon = line.indexOf(':')
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()])
  }
  return {
    method,
    path: q === -1 ? target : target.slice(0, q),
    query: q === -1 ? '' : target.slice(q + 1),
    headers,
    body: Buffer.from(body, 'utf8'),
  }
}

function bump(text: string, index: number): string {
  const c = text.charCodeAt(index)
  // Flip to a different character of the same class so the change survives normalization.
  const next = c === 0x7a ? 'y' : c === 0x5a ? 'Y' : c === 0x39 ? '8' : String.fromCharCode(c + 1)
  return text.slice(0, index) + next + text.slice(index + 1)
}

function alnumIndex(text: string): number {
  for (let i = text.length - 1; i >= 0; i--) if (/[A-Za-z0-9]/.test(text.charAt(i))) return i
  return -1
}

/** One-byte changes to every signed part of `request`. */
function mutations(request: SigV4Request, kind: 'header' | 'query'): [string, SigV4Request][] {
  const out: [string, SigV4Request][] = []
  out.push(['method', { ...request, method: request.method === 'GET' ? 'PUT' : 'GET' }])
  const pi = alnumIndex(request.path)
  let path = pi === -1 ? `${request.path}x` : bump(request.path, pi)
  // `/a/..` normalizes to `/` whatever `a` is: change a segment that survives normalization instead.
  if (canonicalPath(path, true) === canonicalPath(request.path, true)) path = `${request.path}/x`
  out.push(['path', { ...request, path }])
  const parsed = parseSignature(request)
  for (const name of parsed?.signedHeaders ?? []) {
    const hi = request.headers.findIndex(([n]) => n.toLowerCase() === name)
    if (hi === -1) continue
    const [hn, hv] = request.headers[hi] as readonly [string, string]
    const vi = alnumIndex(hv)
    const headers = request.headers.map((h, i) =>
      i === hi ? ([hn, vi === -1 ? `${hv}x` : bump(hv, vi)] as const) : h,
    )
    out.push([`header ${name}`, { ...request, headers }])
  }
  // query parameters (for presigned URLs: every parameter but the signature; for header signing: all)
  const parts = request.query === '' ? [] : request.query.split('&')
  parts.forEach((part, i) => {
    if (part.startsWith('X-Amz-Signature=')) {
      const sig = part.slice('X-Amz-Signature='.length)
      const changed = `X-Amz-Signature=${bump(sig, 0)}`
      out.push([
        'signature',
        { ...request, query: parts.map((p, j) => (j === i ? changed : p)).join('&') },
      ])
      return
    }
    if (kind === 'query' && part.startsWith('X-Amz-Security-Token=')) return // may be unsigned (omit_session_token)
    const vi = alnumIndex(part)
    if (vi === -1) return
    out.push([
      `query ${part.split('=')[0]}`,
      { ...request, query: parts.map((p, j) => (j === i ? bump(p, vi) : p)).join('&') },
    ])
  })
  out.push([
    'added query parameter',
    { ...request, query: request.query === '' ? 'a=b' : `${request.query}&a=b` },
  ])
  const body = Buffer.from(request.body)
  if (body.length > 0) {
    body[body.length - 1] = (body[body.length - 1] as number) ^ 1
    out.push(['body', { ...request, body }])
  } else out.push(['body', { ...request, body: Buffer.from('x') }])
  if (kind === 'header') {
    const ai = request.headers.findIndex(([n]) => n.toLowerCase() === 'authorization')
    const [an, av] = request.headers[ai] as readonly [string, string]
    out.push([
      'signature',
      {
        ...request,
        headers: request.headers.map((h, i) =>
          i === ai ? ([an, bump(av, av.length - 1)] as const) : h,
        ),
      },
    ])
  }
  return out
}

function read(dir: string, file: string): string | undefined {
  const path = join(dir, file)
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined
}

export interface CaseOutcome {
  name: string
  ok: boolean
  failure?: string
}

/** Runs one case directory in one form; returns every failed check (empty = pass). */
export function runCase(dir: string, kind: 'header' | 'query'): string[] | undefined {
  const signedText = read(dir, `${kind}-signed-request.txt`)
  if (signedText === undefined) return undefined
  const context = JSON.parse(readFileSync(join(dir, 'context.json'), 'utf8')) as CaseContext
  const failures: string[] = []
  const request = parseRawRequest(signedText)
  const options = {
    normalizePath: context.normalize,
    omitSecurityTokenFromQuery: context.omit_session_token === true,
  }
  const secret = context.credentials.secret_access_key
  const now = new Date(context.timestamp)
  let parsed
  try {
    parsed = parseSignature(request)
  } catch (err) {
    return [`parse: ${(err as Error).message}`]
  }
  if (parsed === undefined) return ['not recognised as signed']
  if (parsed.accessKeyId !== context.credentials.access_key_id) failures.push('access key id')
  const canonical = buildCanonicalRequest(request, parsed, options)
  const expectedCanonical = read(dir, `${kind}-canonical-request.txt`)
  if (expectedCanonical !== undefined && canonical !== expectedCanonical)
    failures.push(`canonical request differs:\n${canonical}\n---\n${expectedCanonical}`)
  const sts = buildStringToSign(parsed, canonical)
  const expectedSts = read(dir, `${kind}-string-to-sign.txt`)
  if (expectedSts !== undefined && sts !== expectedSts) failures.push('string to sign differs')
  const signature = computeSignature(secret, parsed, sts)
  const expectedSig = read(dir, `${kind}-signature.txt`)?.trim()
  if (expectedSig !== undefined && signature !== expectedSig) failures.push('signature differs')
  try {
    checkClock(parsed, now)
    verifySignature(request, parsed, secret, { normalizePath: context.normalize })
  } catch (err) {
    failures.push(`signed request rejected: ${(err as Error).message}`)
  }
  // wrong secret, wrong clock
  try {
    verifySignature(request, parsed, `${secret}x`, { normalizePath: context.normalize })
    failures.push('accepted under a wrong secret')
  } catch {
    /* expected */
  }
  try {
    checkClock(
      parsed,
      new Date(now.getTime() + (kind === 'header' ? 6 * 60 : 3601) * 1000 + 60_000 * 60 * 24 * 8),
    )
    failures.push('accepted under a clock far past the signature')
  } catch {
    /* expected */
  }
  for (const [what, changed] of mutations(request, kind)) {
    try {
      const p = parseSignature(changed)
      if (p === undefined) continue
      verifySignature(changed, p, secret, { normalizePath: context.normalize })
      failures.push(`accepted after a change to ${what}`)
    } catch {
      /* expected */
    }
  }
  return failures
}

export function caseDirs(root: string): string[] {
  const v4 = join(root, 'v4')
  return readdirSync(v4, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(v4, d.name))
    .sort()
}

/** The suite file as bytes on the wire: CRLF line ends, the body after the blank line. */
function wireBytes(text: string): Buffer {
  const blank = text.indexOf('\n\n')
  const head = blank === -1 ? text.replace(/\n+$/, '') : text.slice(0, blank)
  const body = blank === -1 ? '' : text.slice(blank + 2)
  return Buffer.from(`${head.split('\n').join('\r\n')}\r\nConnection: close\r\n\r\n${body}`, 'utf8')
}

function rawParts(req: IncomingMessage, body: Buffer): SigV4Request {
  const target = req.url ?? '/'
  const q = target.indexOf('?')
  const headers: [string, string][] = []
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
    headers.push([req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string])
  return {
    method: req.method ?? 'GET',
    path: q === -1 ? target : target.slice(0, q),
    query: q === -1 ? '' : target.slice(q + 1),
    headers,
    body,
  }
}

/**
 * The same signed requests sent over a socket to a node:http server that verifies what Node parsed (raw target,
 * raw header pairs, body). Requests Node's parser refuses (400 before any handler) are counted as covered below
 * the HTTP layer only, and listed.
 */
export async function runOverHttp(
  root: string,
): Promise<{ set: SetResult; belowHttpOnly: string[] }> {
  const set: SetResult = { name: 'sigv4 over node:http', passed: 0, total: 0, failures: [] }
  const belowHttpOnly: string[] = []
  let current: { secret: string; now: Date; normalize: boolean } | undefined
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      try {
        const raw = rawParts(req, Buffer.concat(chunks))
        const parsed = parseSignature(raw)
        if (parsed === undefined || current === undefined) throw new Error('unsigned')
        checkClock(parsed, current.now)
        verifySignature(raw, parsed, current.secret, { normalizePath: current.normalize })
        res.writeHead(200).end('verified')
      } catch (err) {
        res.writeHead(403).end((err as Error).message)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const send = (bytes: Buffer) =>
    new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      let response = ''
      socket.on('data', (d: Buffer) => (response += d.toString()))
      socket.on('close', () => resolve(response))
      socket.on('error', () => resolve(response))
      socket.end(bytes)
    })
  try {
    for (const caseDir of caseDirs(root)) {
      const context = JSON.parse(readFileSync(join(caseDir, 'context.json'), 'utf8')) as CaseContext
      current = {
        secret: context.credentials.secret_access_key,
        now: new Date(context.timestamp),
        normalize: context.normalize,
      }
      for (const kind of ['header', 'query'] as const) {
        const text = read(caseDir, `${kind}-signed-request.txt`)
        if (text === undefined) continue
        const name = `${caseDir.split('/').pop()} (${kind})`
        const response = await send(wireBytes(text))
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0)
        if (status === 400 || status === 0) {
          belowHttpOnly.push(name)
          continue
        }
        set.total++
        if (status === 200) set.passed++
        else set.failures.push(`${name}: ${response.split('\r\n\r\n')[1] ?? response}`)
      }
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return { set, belowHttpOnly }
}

export async function run(dir?: string): Promise<SuiteResult> {
  const root = dir ?? join(conformanceRoot(), 'sigv4')
  const sets: SetResult[] = []
  for (const kind of ['header', 'query'] as const) {
    const set: SetResult = { name: `sigv4 ${kind}`, passed: 0, total: 0, failures: [] }
    for (const caseDir of caseDirs(root)) {
      const failures = runCase(caseDir, kind)
      if (failures === undefined) continue
      set.total++
      if (failures.length === 0) set.passed++
      else set.failures.push(`${caseDir.split('/').pop()}: ${failures.join(' | ')}`)
    }
    sets.push(set)
  }
  const http = await runOverHttp(root)
  sets.push(http.set)
  if (http.belowHttpOnly.length > 0)
    console.log(
      `not valid HTTP for Node's parser (verified below the HTTP layer only): ${http.belowHttpOnly.join(', ')}`,
    )
  return summarize(sets)
}
