/**
 * @module agent/listen
 * One HTTP handler listening on several hosts (the agent and the metadata endpoint bind their link-local
 * address and loopback): with port 0 the first host picks the port and every further host binds the same one.
 * A failure to bind any host closes those already bound.
 */
import { type RequestListener, type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface HostListeners {
  urls: string[]
  port: number
  close(): Promise<void>
}

export async function listenOnHosts(
  hosts: readonly string[],
  port: number,
  handler: RequestListener,
  configure: (server: Server) => void = () => {},
): Promise<HostListeners> {
  const servers: Server[] = []
  const urls: string[] = []
  try {
    for (const host of hosts) {
      const server = createServer(handler)
      server.keepAliveTimeout = 5000
      configure(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          resolve()
        })
      })
      servers.push(server)
      port = (server.address() as AddressInfo).port
      urls.push(`http://${host.includes(':') ? `[${host}]` : host}:${port}`)
    }
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
    throw err
  }
  return {
    urls,
    port,
    async close() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve())
              s.closeAllConnections()
            }),
        ),
      )
    },
  }
}
