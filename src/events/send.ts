/**
 * How a webhook request leaves the process. Node pins the connection to the address it checked
 * (`node-send.ts`); Workers use `fetch`, where only the URL itself can be checked (Cloudflare's
 * egress does not reach private networks, and a Worker cannot choose the address it connects to).
 */
import { checkWebhookTarget } from "./target.js";

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Plain http to a loopback receiver is allowed (never in production). */
  allowLoopbackHttp: boolean;
}

/** Sends one webhook; resolves with the receiver's status, rejects on an unsafe target or a network error. */
export type WebhookSender = (request: WebhookRequest) => Promise<{ status: number }>;

/** Never read more than a small prefix of what a receiver sends back. */
export const MAX_RESPONSE_BYTES = 1_024;

async function readLimited(res: Response): Promise<void> {
  const reader = res.body?.getReader();
  if (!reader) return;
  let read = 0;
  try {
    while (read < MAX_RESPONSE_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** The `fetch` sender: the URL checked, redirects not followed, a short timeout, a bounded read. */
export const fetchSender: WebhookSender = async (request) => {
  const url = checkWebhookTarget(request.url, { allowLoopbackHttp: request.allowLoopbackHttp });
  const res = await fetch(url.toString(), {
    method: "POST",
    redirect: "manual",
    signal: AbortSignal.timeout(request.timeoutMs),
    headers: request.headers,
    body: request.body,
  });
  await readLimited(res);
  return { status: res.status };
};
