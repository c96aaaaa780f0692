import { Agent, request } from 'node:http';

export const SKU_SCALARS_QUERY = 'query Sku($code: String!) { sku(code: $code) { code title version barcodes productCode } }';
export const SKU_WITH_RELATIONS_QUERY =
  'query SkuWithRelations($code: String!) { sku(code: $code) { code title version barcodes productCode product { code title } mappings { channelCode externalVariantId } } }';
export const PAGE_SIZE = 100;
export const PAGE_QUERY = `query Page { skus(first: ${PAGE_SIZE}) { nodes { code title product { code title } mappings { channelCode externalVariantId } } } }`;

/** Request bodies built once, so the load generator spends its CPU on sending rather than on JSON.stringify. */
export function skuBodies(query: string, codes: readonly string[]): Buffer[] {
  return codes.map((code) => Buffer.from(JSON.stringify({ query, variables: { code } })));
}

export interface GraphqlResponse<T> {
  readonly data?: T;
  readonly errors?: readonly { readonly message: string }[];
}

/**
 * A minimal keep-alive client for sequential latency samples: node:http on one socket, no fetch machinery, so
 * the client adds as little as possible to what is timed.
 */
export class GraphqlClient {
  private readonly agent: Agent;
  private readonly target: URL;

  constructor(
    url: string,
    private readonly apiKey: string,
    private readonly timeoutMs = 10_000, // 10 seconds: far above any sample, only catches a hung gateway
    /** One for sequential samples; one per worker for a closed loop of concurrent requests. */
    sockets = 1,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets });
    this.target = new URL(url);
  }

  /** Resolves with the parsed body; rejects on a non-200 status, GraphQL errors, a timeout or a socket error. */
  post<T>(body: Buffer): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = request(
        this.target,
        {
          method: 'POST',
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${this.apiKey}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              const parsed = JSON.parse(text) as GraphqlResponse<T>;
              if (res.statusCode !== 200 || parsed.errors?.length || parsed.data === undefined) {
                reject(new Error(`GraphQL request failed (HTTP ${res.statusCode}): ${text.slice(0, 300)}`));
              } else {
                resolve(parsed.data);
              }
            } catch {
              reject(new Error(`GraphQL response is not JSON (HTTP ${res.statusCode}): ${text.slice(0, 300)}`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`GraphQL request timed out after ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
