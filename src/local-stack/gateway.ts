// The local stack's one HTTP front, a Supabase-shaped URL on 127.0.0.1: `/rest/v1/...` is
// forwarded to PostgREST's `/...` on its unix socket (the only rewrite of the prefix), after the
// request limits (request-limits.ts) are checked. PostgREST itself listens on no TCP port, so
// every request the stack serves passes here.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { JsonNestingMeter, maxRequestBodyBytes, maxRequestNesting, type Refusal, tooDeep, tooLarge, urlNesting } from "./request-limits.ts";

export interface Gateway {
  url: string;
  port: number;
  /** Closes the port and drops open connections: clients see connection errors, as with no server. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** PostgREST's unix socket. */
  postgrestSocket: string;
  /** The port on 127.0.0.1; a free one when omitted. */
  port?: number;
}

const prefix = "/rest/v1";

/** PostgREST's path for a gateway path, or undefined outside `/rest/v1`. */
export function postgrestPath(path: string): string | undefined {
  if (!path.startsWith(prefix)) return undefined;
  const rest = path.slice(prefix.length);
  if (rest === "" || rest.startsWith("?")) return `/${rest}`;
  return rest.startsWith("/") ? rest : undefined;
}

function decodedNesting(path: string): number {
  try {
    return urlNesting(decodeURIComponent(path));
  } catch {
    // Not valid percent-encoding: PostgREST refuses it; count what is there.
    return urlNesting(path);
  }
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return void response.destroy();
  response.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const agent = new http.Agent({ keepAlive: true, socketPath: options.postgrestSocket } as http.AgentOptions);
  const refuse = (response: http.ServerResponse, refusal: Refusal) => sendJson(response, refusal.status, refusal.body);

  const server = http.createServer((request, response) => {
    const path = postgrestPath(request.url ?? "/");
    if (path === undefined) return sendJson(response, 404, { message: `no route for ${request.url}: only ${prefix}/ is served` });
    if (decodedNesting(path) > maxRequestNesting) {
      request.resume();
      return refuse(response, tooDeep("URL"));
    }
    // JSON bodies are measured for nesting; CSV, text and binary bodies cannot nest.
    const meter = /json/i.test(request.headers["content-type"] ?? "json") ? new JsonNestingMeter() : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let refused = false;
    request.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (refused) return;
      meter?.feed(chunk);
      // The rest of a refused body is read and dropped, so the client gets the answer.
      if (received > maxRequestBodyBytes) refuse(response, tooLarge(received));
      else if (meter && meter.deepest > maxRequestNesting) refuse(response, tooDeep("body"));
      else return void chunks.push(chunk);
      refused = true;
      chunks.length = 0;
    });
    request.on("end", () => {
      if (refused) return;
      const body = Buffer.concat(chunks);
      const headers = { ...request.headers, "content-length": String(body.length) };
      delete headers["transfer-encoding"];
      const upstream = http.request({ agent, method: request.method, path, headers }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      });
      upstream.on("error", (error) => sendJson(response, 503, { code: "PGRST000", message: `PostgREST is unreachable: ${error.message}`, details: null, hint: null }));
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
