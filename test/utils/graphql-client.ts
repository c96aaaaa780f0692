/** What a GraphQL HTTP response carries; `data` is typed by the caller's operation. */
export interface GraphqlResponse<T> {
  readonly status: number;
  readonly data: T | null | undefined;
  readonly errors: readonly { message: string; path?: readonly (string | number)[]; extensions?: { code?: string; [key: string]: unknown } }[] | undefined;
  readonly headers: Headers;
}

/** A typed operation: the query text tagged with its result and variables types. */
export interface Operation<TData, TVariables = Record<string, never>> {
  readonly query: string;
  readonly __types?: { data: TData; variables: TVariables };
}

export function operation<TData, TVariables = Record<string, never>>(query: string): Operation<TData, TVariables> {
  return { query };
}

/** A client bound to one gateway URL and API key. */
export function graphqlClient(url: string, key: string | null) {
  return async function execute<TData, TVariables>(op: Operation<TData, TVariables>, variables?: TVariables, headers: Record<string, string> = {}): Promise<GraphqlResponse<TData>> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      body: JSON.stringify({ query: op.query, variables }),
    });
    const body = (await response.json()) as { data?: TData | null; errors?: GraphqlResponse<TData>['errors'] };
    return { status: response.status, data: body.data, errors: body.errors, headers: response.headers };
  };
}

export type GraphqlClient = ReturnType<typeof graphqlClient>;
