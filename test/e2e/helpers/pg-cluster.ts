/**
 * A throw-away PostgreSQL cluster for tests and benchmarks that need server settings the machine's shared
 * server does not have (password authentication lines in pg_hba.conf, `ssl = on`): initdb into a temp
 * directory (as the `postgres` OS user when run as root, since initdb refuses root), a server certificate,
 * and `postgres` on an ephemeral port of 127.0.0.1. https://www.postgresql.org/docs/current/app-initdb.html
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, removeDir } from './index.ts'

const pgBin = existsSync('/usr/lib/postgresql')
  ? readdirSync('/usr/lib/postgresql')
      .map((v) => join('/usr/lib/postgresql', v, 'bin'))
      .find((d) => existsSync(join(d, 'initdb')))
  : undefined
const asRoot = process.getuid?.() === 0
const postgresUid = (): number | undefined => {
  if (!asRoot) return undefined
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
  return id.status === 0 ? Number(id.stdout.trim()) : undefined
}

/** Why a cluster cannot be started here, or false when it can. */
export function pgClusterUnavailable(): string | false {
  if (pgBin === undefined) return 'no PostgreSQL server binaries (initdb) under /usr/lib/postgresql'
  if (asRoot && postgresUid() === undefined)
    return 'running as root without a postgres OS user to run initdb as'
  return false
}

export interface PgClusterOptions {
  /** pg_hba.conf lines. */
  hba: string[]
  /** initdb's `-A` (default trust) and, for password methods, the superuser's password. */
  authMethod?: string
  superPassword?: string
  /** The server certificate (PEM); default: a self-signed P-256 one for 127.0.0.1 and localhost. */
  cert?: { certPem: string; keyPem: string }
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>
}

export interface PgCluster {
  port: number
  /** The directory of the cluster's Unix-domain socket (`.s.PGSQL.PORT`). */
  socketDir: string
  /** The server certificate's PEM (the trust root for verify-full with a self-signed one). */
  certPem: string
  stop(): void
}

/** Runs a PostgreSQL binary as the postgres OS user when we are root. */
function pgCommand(bin: string, args: string[]): [string, string[]] {
  const full = join(pgBin as string, bin)
  return asRoot ? ['runuser', ['-u', 'postgres', '--', full, ...args]] : [full, args]
}

function selfSigned(dir: string): { certPem: string; keyPem: string } {
  const [key, cert] = [join(dir, 'self.key'), join(dir, 'self.crt')]
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { encoding: 'utf8' },
  )
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`)
  return { certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') }
}

/** Starts a cluster and waits until it accepts connections. Throws when it cannot. */
export async function startPgCluster(options: PgClusterOptions): Promise<PgCluster> {
  const unavailable = pgClusterUnavailable()
  if (unavailable !== false) throw new Error(unavailable)
  const uid = postgresUid()
  const dir = mkdtempSync(join(tmpdir(), 'podtrust-pg-'))
  let server: ChildProcess | undefined
  const stop = (): void => {
    server?.kill('SIGINT')
    removeDir(dir)
  }
  try {
    const own = (file: string): void => {
      if (uid !== undefined) chownSync(file, uid, uid)
    }
    own(dir)
    chmodSync(dir, 0o700)
    const data = join(dir, 'data')
    const initArgs = [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      options.authMethod ?? 'trust',
      '--no-sync',
    ]
    if (options.superPassword !== undefined) {
      const pwfile = join(dir, 'pw')
      writeFileSync(pwfile, `${options.superPassword}\n`)
      own(pwfile)
      initArgs.push('--pwfile', pwfile)
    }
    const [cmd, args] = pgCommand('initdb', initArgs)
    const init = spawnSync(cmd, args, { encoding: 'utf8' })
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`)
    const cert = options.cert ?? selfSigned(dir)
    for (const [name, pem] of [
      ['server.crt', cert.certPem],
      ['server.key', cert.keyPem],
    ] as const) {
      writeFileSync(join(data, name), pem)
      own(join(data, name))
    }
    chmodSync(join(data, 'server.key'), 0o600)
    writeFileSync(join(data, 'pg_hba.conf'), [...options.hba, ''].join('\n'))
    const port = await freePort()
    const settings = {
      listen_addresses: '127.0.0.1',
      ssl: 'on',
      unix_socket_directories: dir,
      ...options.settings,
    }
    const [scmd, sargs] = pgCommand('postgres', [
      '-D',
      data,
      '-p',
      String(port),
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ])
    server = spawn(scmd, sargs, { stdio: 'ignore' })
    for (let i = 0; ; i++) {
      const [icmd, iargs] = pgCommand('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-q'])
      if (spawnSync(icmd, iargs).status === 0) break
      if (i === 100) throw new Error('the PostgreSQL cluster did not start within 20 s')
      await new Promise((r) => setTimeout(r, 200))
    }
    return { port, socketDir: dir, certPem: cert.certPem, stop }
  } catch (err) {
    stop()
    throw err
  }
}
