/**
 * @module server/issuer-routes
 * Discovery and JWKS for every issuer this podtrust serves, on both listeners, at the path of each issuer's
 * URL (`/.well-known/openid-configuration` and `/openid/v1/jwks` for the default issuer;
 * `/issuers/cluster:NAME/…` for cluster issuers). Requests matching no issuer fall through to later routes
 * (Entra serves its own discovery under `/{tenant}/…`).
 */
import type { Hono } from 'hono'
import { publishedKeys } from '../keys/store.ts'
import { DEFAULT_ACTIVATION_DELAY_SECONDS } from '../keys/store.ts'
import {
  DISCOVERY_PATH,
  JWKS_PATH,
  discoveryDocument,
  issuerPath,
  listIssuers,
} from '../tokens/issuer.ts'
import type { AppContext } from '../app/context.ts'
import type { ProtocolModule } from '../app/module.ts'

/** Relying parties may cache our JWKS this long: the rotation delay guarantees a new key is seen first. */
const JWKS_MAX_AGE = DEFAULT_ACTIVATION_DELAY_SECONDS

export const issuerModule: ProtocolModule = {
  name: 'issuer',
  mount(app: Hono, ctx: AppContext) {
    app.get('*', async (c, next) => {
      const path = c.req.path
      const kind = path.endsWith(DISCOVERY_PATH)
        ? 'discovery'
        : path.endsWith(JWKS_PATH)
          ? 'jwks'
          : undefined
      if (kind === undefined) return next()
      const prefix = path.slice(
        0,
        path.length - (kind === 'discovery' ? DISCOVERY_PATH : JWKS_PATH).length,
      )
      const issuer = (await listIssuers(ctx.db)).find((i) => issuerPath(i.url) === prefix)
      if (issuer === undefined) return next()
      if (kind === 'discovery') {
        const doc = discoveryDocument(issuer)
        c.header('cache-control', `public, max-age=${JWKS_MAX_AGE}`)
        return c.json(doc)
      }
      const keys = await publishedKeys(ctx.db, issuer.name, ctx.now())
      c.header('cache-control', `public, max-age=${JWKS_MAX_AGE}`)
      c.header('content-type', 'application/jwk-set+json')
      return c.body(JSON.stringify({ keys }))
    })
  },
}
