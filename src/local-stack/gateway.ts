// A Supabase-shaped front door for the local PostgREST: `/rest/v1/...` is forwarded to
// PostgREST's `/...`, so an unmodified `createClient(url, key)` (another process, the packed
// library, the CLI's SUPABASE_URL mode) can talk to the local stack.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Gateway {
  url: string;
  stop(): Promise<void>;
}

export async function startGateway(postgrestPort: number): Promise<Gateway> {
  const server = http.createServer((request, response) => {
    const path = request.url ?? "/";
    if (!path.startsWith("/rest/v1")) {
      response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ message: `no route for ${path}: only /rest/v1/ is served` }));
      return;
    }
    const upstream = http.request(
      { host: "127.0.0.1", port: postgrestPort, method: request.method, path: path.slice("/rest/v1".length) || "/", headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on("error", (error) => {
      if (!response.headersSent) response.writeHead(503, { "content-type": "application/json" });
      response.end(JSON.stringify({ code: "PGRST000", message: `PostgREST is unreachable: ${error.message}` }));
    });
    request.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
