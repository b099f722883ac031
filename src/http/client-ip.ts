import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/** Whether a hop's address may name the client in X-Forwarded-For (Fastify's trustProxy, as a function). */
export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * TRUST_PROXY as Fastify reads it: `true` trusts every hop, a string is a
 * comma-separated list of addresses, CIDRs and proxy-addr's names (`loopback`),
 * false trusts none (the peer is the client). Compiled once, so that Fastify's
 * `req.ip` and a WebSocket's upgrade request (clientIpOf) agree.
 */
export function trustProxyFunction(trustProxy: boolean | string): TrustProxy {
  if (trustProxy === true) return () => true;
  if (trustProxy === false) return () => false;
  return proxyAddr.compile(trustProxy.split(',').map((address) => address.trim()));
}

/** The client's address of a request that Fastify does not route (a WebSocket upgrade). */
export const clientIpOf = (request: IncomingMessage, trust: TrustProxy): string => proxyAddr(request, trust);
