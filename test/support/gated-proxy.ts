// An HTTP proxy in front of a local stack, for a client in another process (the CLI, through
// SUPABASE_URL): the test closes its gate at a point it chooses, and every request that arrives
// while it is closed waits there until the test opens it. So "nothing is read meanwhile" holds
// by construction, not by a guessed delay.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxiedRequest {
  method: string;
  /** The path and query, as the client sent them. */
  path: string;
}

export interface GatedProxy {
  /** The origin to give the client instead of the stack's. */
  url: string;
  /** Closes the gate as the answer to the next request that `matches` goes back (before the client has it). */
  closeAfter(matches: (request: ProxiedRequest) => boolean): void;
  /** How many requests are waiting at the closed gate. */
  held(): number;
  /** Requests forwarded so far, in the order they were sent on. */
  forwarded: ProxiedRequest[];
  open(): void;
  stop(): Promise<void>;
}

export async function startGatedProxy(target: string): Promise<GatedProxy> {
  const upstream = new URL(target);
  let closeWhen: ((request: ProxiedRequest) => boolean) | undefined;
  let gate: { opened: Promise<void>; open: () => void } | undefined;
  let waiting = 0;
  const forwarded: ProxiedRequest[] = [];

  const server = http.createServer(async (request, response) => {
    const proxied = { method: request.method ?? "GET", path: request.url ?? "/" };
    while (gate) {
      waiting += 1;
      await gate.opened;
      waiting -= 1;
    }
    forwarded.push(proxied);
    const headers = { ...request.headers, host: upstream.host };
    const onward = http.request({ host: upstream.hostname, port: upstream.port, method: proxied.method, path: proxied.path, headers }, (answer) => {
      if (closeWhen?.(proxied)) {
        closeWhen = undefined;
        let open = () => undefined as void;
        const opened = new Promise<void>((resolve) => (open = resolve));
        gate = { opened, open };
      }
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    onward.on("error", () => response.destroy());
    request.pipe(onward);
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    closeAfter(matches) {
      closeWhen = matches;
    },
    held: () => waiting,
    open() {
      const opening = gate;
      gate = undefined;
      opening?.open();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        gate?.open();
        gate = undefined;
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
