/**
 * Shared set-up of the gateway end-to-end tests: a moto server (S3 + SQS backend) on a free port started by
 * the test, a podtrust server with IAM/STS, and the gateway in front of moto.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { startGateway, type GatewayOptions, type RunningGateway } from '../../src/gateway/server.ts'
import { freePort, startStsTestServer, type StsTestServer } from './helpers/index.ts'

export interface Moto {
  url: string
  close(): Promise<void>
}

/** `python3 -m moto.server` on a free port; resolves once it answers. */
export async function startMoto(): Promise<Moto> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const child: ChildProcess = spawn(
      'python3',
      ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' },
      },
    )
    let exited = false
    child.once('exit', () => (exited = true))
    child.stderr?.resume()
    const url = `http://127.0.0.1:${port}`
    const deadline = Date.now() + 20_000
    while (!exited && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/moto-api/`)
        await res.arrayBuffer()
        return {
          url,
          close: () =>
            new Promise((resolve) => {
              if (exited) return resolve()
              child.once('exit', () => resolve())
              child.kill('SIGTERM')
            }),
        }
      } catch {
        await new Promise((r) => setTimeout(r, 150))
      }
    }
    child.kill('SIGKILL')
  }
  throw new Error('moto did not start')
}

export interface GatewayFixture {
  s: StsTestServer
  moto: Moto
  gateway: RunningGateway
  close(): Promise<void>
}

export async function startGatewayFixture(
  options: Partial<GatewayOptions> = {},
): Promise<GatewayFixture> {
  const moto = await startMoto()
  const s = await startStsTestServer()
  const gateway = await startGateway(s.server.ctx, {
    port: 0,
    backendS3: moto.url,
    backendSqs: moto.url,
    ...options,
  })
  return {
    s,
    moto,
    gateway,
    async close() {
      await gateway.close()
      await s.close()
      await moto.close()
    },
  }
}
