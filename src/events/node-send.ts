/**
 * The Node webhook sender. The host name is resolved once, inside the socket's own `lookup`, and
 * every address it resolves to is checked there: the connection goes to an address that was
 * checked, so DNS rebinding cannot swap in another between check and connect. Literal addresses
 * never reach a resolver and are checked from the URL.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import { MAX_RESPONSE_BYTES, type WebhookSender } from "./send.js";
import { checkResolvedAddresses, checkWebhookTarget, UnsafeTargetError } from "./target.js";

/** Resolves a name to all its addresses (tests pass their own). */
export type Resolver = (host: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** A `lookup` for the socket that answers only with checked addresses. */
function checkedLookup(resolver: Resolver, plainHttpToLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname)
      .then((addresses) => {
        checkResolvedAddresses(hostname, addresses.map((a) => a.address), plainHttpToLoopback);
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (wanted.length === 0) throw new UnsafeTargetError(`${hostname} has no IPv${options.family} address`);
        if (options.all) (callback as (err: null, addresses: LookupAddress[]) => void)(null, wanted);
        else callback(null, wanted[0]!.address, wanted[0]!.family);
      })
      .catch((err: NodeJS.ErrnoException) => callback(err, "", 0));
  };
}

export function nodeSender(resolver: Resolver = systemResolver): WebhookSender {
  return (request) =>
    new Promise((resolve, reject) => {
      let url: URL;
      try {
        url = checkWebhookTarget(request.url, { allowLoopbackHttp: request.allowLoopbackHttp });
      } catch (err) {
        return reject(err);
      }
      const send = url.protocol === "https:" ? httpsRequest : httpRequest;
      const req = send(
        url,
        {
          method: "POST",
          headers: { ...request.headers, "content-length": Buffer.byteLength(request.body) },
          lookup: checkedLookup(resolver, url.protocol === "http:"),
          signal: AbortSignal.timeout(request.timeoutMs),
          agent: false, // one connection per delivery: nothing pooled across partners or checks
        },
        (res) => {
          let read = 0;
          res.on("data", (chunk: Buffer) => {
            read += chunk.byteLength;
            if (read >= MAX_RESPONSE_BYTES) res.destroy();
          });
          const done = () => resolve({ status: res.statusCode ?? 0 });
          res.on("end", done);
          res.on("close", done);
          res.on("error", done);
        },
      );
      req.on("error", reject);
      req.end(request.body);
    });
}
