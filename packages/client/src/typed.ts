/**
 * Argument and result types of an operation, read off the types openapi-typescript generates
 * from the served document (`api.ts`). Nothing here names an operation or a path: whatever the
 * document says is what the client accepts.
 */
import type { operations, paths } from "./api.js";

export type { components, operations, paths } from "./api.js";

/** Every operationId of the document. */
export type OperationId = keyof operations & string;
/** Lower-case HTTP methods, as path items name them. */
export type HttpMethod = "get" | "put" | "post" | "delete" | "patch" | "head" | "options" | "trace";
/** The operation at `method` `path` of the document (never when there is none). */
export type PathOperation<P extends keyof paths, M extends HttpMethod> = NonNullable<paths[P][M]>;

type IsNever<T> = [T] extends [never] ? true : false;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type SuccessStatus = 200 | 201 | 202 | 203 | 204 | 205 | 206 | "2XX";

/** The body of one content map: JSON where offered, else the only (or any) type it lists. */
type ContentBody<C> = C extends { "application/json": infer J } ? J : C[keyof C];
type RequestContent<RB> = RB extends { content: infer C } ? ContentBody<C> : never;
type ResponseContent<R> = R extends { content: infer C } ? ContentBody<C> : undefined;

/** `{ member: string }` for `/v1/members/{member}`; never without path parameters. */
export type PathParamsOf<O> = O extends { parameters: { path: infer P } } ? P : never;
/** The query parameters; never when the operation takes none. */
export type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? Exclude<Q, undefined> : never;
/** The JSON request body; never when the operation takes none. */
export type BodyOf<O> = O extends { requestBody?: infer RB } ? RequestContent<Exclude<RB, undefined>> : never;
/** The body of any 2xx answer (`undefined` for 204). */
export type ResultOf<O> = O extends { responses: infer Rs } ? { [S in keyof Rs & SuccessStatus]: ResponseContent<Rs[S]> }[keyof Rs & SuccessStatus] : never;

type QueryRequired<O> = O extends { parameters: { query: unknown } } ? true : false;
type BodyRequired<O> = O extends { requestBody: unknown } ? true : false;

/** Per request: the Idempotency-Key (POSTs get a random one unless given), extra headers, claim overrides. */
export interface RequestOptions {
  idempotencyKey?: string;
  headers?: Record<string, string>;
  /** Override or remove claims for one request (tests of the verifier use this). */
  claims?: Record<string, unknown>;
}

/** What one operation takes: `params` (path), `query` and `body` as the document types them, plus request options. */
export type ArgsOf<O> = Simplify<
  (IsNever<PathParamsOf<O>> extends true ? { params?: undefined } : { params: PathParamsOf<O> }) &
    (IsNever<QueryOf<O>> extends true ? { query?: undefined } : QueryRequired<O> extends true ? { query: QueryOf<O> } : { query?: QueryOf<O> }) &
    (IsNever<BodyOf<O>> extends true ? { body?: undefined } : BodyRequired<O> extends true ? { body: BodyOf<O> } : { body?: BodyOf<O> }) &
    RequestOptions
>;
/** The argument list: optional when the operation needs nothing. */
export type ArgsTuple<O> = {} extends ArgsOf<O> ? [args?: ArgsOf<O>] : [args: ArgsOf<O>];

export type OperationArgs<K extends OperationId> = ArgsOf<operations[K]>;
export type OperationResult<K extends OperationId> = ResultOf<operations[K]>;
export type OperationBody<K extends OperationId> = BodyOf<operations[K]>;
export type OperationQuery<K extends OperationId> = QueryOf<operations[K]>;
export type OperationParams<K extends OperationId> = PathParamsOf<operations[K]>;
