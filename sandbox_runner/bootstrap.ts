// The in-isolate shim. One Deno process runs exactly one job and is then killed by the runner.
//
// Protocol (stdout, one line per frame): the shim prints "@@READY" once it waits for its job;
// the runner writes the job as JSON on stdin and closes it; every later frame is
// "<nonce> <json>" where the nonce comes from the job, so text the code writes to stdout
// directly can never pass for a frame.
//
// Written against intrinsics captured before the code runs: the code may replace any global or
// prototype method (JSON.stringify, Uint8Array.prototype.subarray, Object.prototype getters,
// Response.prototype.status...), and nothing the shim does afterwards looks one up. Frames are
// built by concatenating JSON-encoded primitives, fetch options are null-prototype objects, so
// the frame nonce and the capability token never pass through the code's hands. The runner still
// validates every frame, and the MCP server believes an infra or api kind only when its
// api-proxy saw that failure: this file is hardening, not the trust boundary.
//
// Nothing here may import a string-literal specifier: Deno loads the main module's statically
// visible imports without a permission check, which would let later dynamic imports of those
// files bypass --deny-read.

interface Job {
  code: string;
  language: "javascript" | "typescript";
  sdk: string;
  token: string;
  maxApiCalls: number;
  maxOutputBytes: number;
  nonce: string;
}

type ErrorKind = "user" | "api" | "infra";

// Captured before the code runs so that tampering with globals cannot redirect the shim.
const realFetch = globalThis.fetch;
const stringify = JSON.stringify;
const parse = JSON.parse;
const inspect = Deno.inspect;
const realExit = Deno.exit;
const stdout = Deno.stdout;
const writeSync = stdout.writeSync;
const encoder = new TextEncoder();
const encode = TextEncoder.prototype.encode;
const apply = Reflect.apply;
const realSetTimeout = globalThis.setTimeout;
const split = String.prototype.split;
const sliceString = String.prototype.slice;
const startsWith = String.prototype.startsWith;
const trim = String.prototype.trim;
const execPattern = RegExp.prototype.exec;
const subarray = Uint8Array.prototype.subarray;
const typedLength = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  "length",
)!.get!;
const responseStatus = Object.getOwnPropertyDescriptor(Response.prototype, "status")!.get!;
const responseText = Response.prototype.text;
const objectCreate = Object.create;
const defineProperty = Object.defineProperty;
const hasOwn = Object.hasOwn;
const toText = String;
const toNumber = Number;
const max = Math.max;
const RealPromise = Promise;
// Where the model's code is: its module wraps it in one line (`export default async function`).
const WRAPPER_LINES = 1;
const ANNOUNCED_SLEEP_MS = 1000;
const LOCATION = /^(\d+):(\d+)/;
// What the shim itself threw: its kind, and for ApiError its status and operation.
type Brand = { kind: ErrorKind; status?: number; operationId?: string };
const brands = new WeakMap<object, Brand>();
const getBrand = WeakMap.prototype.get;
const setBrand = WeakMap.prototype.set;

function bare<T extends object>(fields: T): T {
  const copy = objectCreate(null);
  for (const key in fields) if (apply(hasOwn, null, [fields, key])) copy[key] = fields[key];
  return copy;
}

function slice(text: string, start: number, end?: number): string {
  return apply(sliceString, text, [start, end]);
}

function byteLength(text: string): number {
  return apply(typedLength, apply(encode, encoder, [text]), []);
}

function writeLine(text: string): void {
  const bytes: Uint8Array = apply(encode, encoder, [text + "\n"]);
  const length: number = apply(typedLength, bytes, []);
  let offset = 0;
  while (offset < length) {
    offset += apply(writeSync, stdout, [apply(subarray, bytes, [offset])]);
  }
}

// The JSON text of an object whose values are strings, numbers, booleans or JSON texts already.
function jsonObject(fields: Record<string, string | number | boolean | { json: string }>): string {
  let out = "";
  for (const key in fields) {
    if (!apply(hasOwn, null, [fields, key])) continue;
    const value = fields[key];
    const text = typeof value === "object" ? value.json : stringify(value);
    out += (out === "" ? "" : ",") + stringify(key) + ":" + text;
  }
  return "{" + out + "}";
}

function brand<E extends Error>(error: E, kind: ErrorKind, extra?: Omit<Brand, "kind">): E {
  apply(setBrand, brands, [error, bare({ kind, ...extra })]);
  return error;
}

class ApiError extends Error {
  override name = "ApiError";
  constructor(
    message: string,
    readonly status: number,
    readonly operationId: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

function proxyError(message: string): Error {
  const error = new Error(message);
  error.name = "ProxyError";
  return brand(error, "infra");
}

// The call itself was wrong (unknown operation or parameter, bad arguments, too large a body).
function callError(message: string): Error {
  const error = new Error(message);
  error.name = "ApiCallError";
  return brand(error, "user");
}

function callLimitError(limit: number, message?: string): Error {
  const error = new Error(message ?? `this execution may make at most ${limit} API calls`);
  error.name = "ApiCallLimitError";
  return brand(error, "user");
}

// An own property only: a getter the code put on Object.prototype is never consulted.
function field(value: unknown, key: string): unknown {
  if (typeof value !== "object" || value === null || !apply(hasOwn, null, [value, key])) return undefined;
  return (value as Record<string, unknown>)[key];
}

function describeThrown(error: unknown): string {
  try {
    return toText(field(error, "message") ?? error);
  } catch {
    return "unknown error";
  }
}

async function main(): Promise<void> {
  const callUrl = Deno.args[0].replace(/\/+$/, "") + "/proxy/v1/call";
  writeLine("@@READY");
  const raw = await new Response(Deno.stdin.readable).text();
  if (raw === "") realExit(0); // the runner went away before handing over a job
  const job: Job = parse(raw);
  // The leading newline ends any partial line the code wrote to stdout itself.
  const frame = (fields: Parameters<typeof jsonObject>[0]): void =>
    writeLine("\n" + job.nonce + " " + jsonObject(fields));
  const inspectOptions = bare({ depth: 6 });

  let outputBytes = 0;
  let truncated = false;
  const emit = (...args: unknown[]): void => {
    if (truncated) return;
    let line = "";
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      line += (i === 0 ? "" : " ") + (typeof arg === "string" ? arg : toText(inspect(arg, inspectOptions)));
    }
    const size = byteLength(line);
    if (outputBytes + size > job.maxOutputBytes) {
      truncated = true;
      frame({ t: "log", line: `[output truncated: more than ${job.maxOutputBytes} bytes]` });
      return;
    }
    outputBytes += size;
    frame({ t: "log", line });
  };
  for (const level of ["log", "info", "warn", "error", "debug", "trace", "dir", "table"] as const) {
    console[level] = emit;
  }
  console.assert = (condition?: unknown, ...args: unknown[]): void => {
    if (!condition) emit("Assertion failed:", ...args);
  };

  let calls = 0;
  const call = async (operationId: string, params: unknown = {}): Promise<unknown> => {
    calls += 1;
    if (calls > job.maxApiCalls) throw callLimitError(job.maxApiCalls);
    const name = toText(operationId);
    // The params' JSON is the code's own business (its toJSON may run); the rest is ours.
    const body = jsonObject({ operationId: name, params: { json: stringify(params ?? {}) ?? "{}" } });
    let response: Response;
    try {
      const headers = bare({ authorization: "Bearer " + job.token, "content-type": "application/json" });
      response = await realFetch(callUrl, bare({ method: "POST", headers, body }));
    } catch (error) {
      throw proxyError("api-proxy unreachable: " + describeThrown(error));
    }
    const status: number = apply(responseStatus, response, []);
    let answer: unknown;
    try {
      answer = parse(await apply(responseText, response, []));
    } catch {
      answer = undefined;
    }
    const error = field(answer, "error");
    const said = field(error, "message");
    const message = typeof said === "string" ? said : undefined;
    // The api-proxy keeps the caps (calls, and polls apart from them) and says which was hit.
    if (status === 429) throw callLimitError(job.maxApiCalls, message);
    // A token this execution was given and the proxy does not know: ours to fix.
    if (status === 401) throw proxyError("api-proxy rejected the capability token");
    if (status >= 500) throw proxyError("api-proxy answered HTTP " + status);
    // 400, 413: what the proxy said is about this call.
    if (status !== 200) throw callError(message ?? "api-proxy answered HTTP " + status);
    if (answer === undefined) throw proxyError("api-proxy answered with invalid JSON");
    const kind = field(error, "kind");
    if (kind === "api") {
      const backendStatus = toNumber(field(answer, "status") ?? 0);
      const text = message ?? name + " failed with " + backendStatus;
      const apiError = new ApiError(text, backendStatus, name, field(answer, "body"));
      throw brand(apiError, "api", { status: backendStatus, operationId: name });
    }
    if (kind === "user") throw callError(message ?? "invalid call");
    if (error !== undefined) throw proxyError(message ?? "backend failure");
    return field(answer, "body");
  };

  const mediaType = job.language === "javascript" ? "application/javascript" : "application/typescript";
  const moduleUrl = (source: string, type: string): string =>
    `data:${type},` + encodeURIComponent(source);
  const userUrl = moduleUrl(`export default async function (api) {\n${job.code}\n}`, mediaType);
  const codeLines: string[] = apply(split, job.code, ["\n"]);
  const lineOfCode = (line: number): string =>
    line >= 1 && line <= codeLines.length ? apply(trim, codeLines[line - 1], []) : "";
  // "…at data:application/typescript,export%20…:3:11" becomes "line 2, column 11" of the
  // model's code (Deno names the module by its whole URL-encoded source, wrapper included).
  type Place = { line: number; column: number };
  const locate = (text: string): { text: string; at?: Place } => {
    const parts: string[] = apply(split, text, [userUrl + ":"]);
    let out = parts[0];
    let at: Place | undefined;
    for (let i = 1; i < parts.length; i++) {
      const found = apply(execPattern, LOCATION, [parts[i]]) as RegExpExecArray | null;
      if (!found) {
        out += userUrl + ":" + parts[i];
        continue;
      }
      const place = { line: max(1, toNumber(found[1]) - WRAPPER_LINES), column: toNumber(found[2]) };
      at ??= place;
      out += "line " + place.line + ", column " + place.column + slice(parts[i], found[0].length);
    }
    return { text: out, at };
  };
  const describe = (error: unknown): string => {
    const isObject = (typeof error === "object" && error !== null) || typeof error === "function";
    const branded: Brand | undefined = isObject ? apply(getBrand, brands, [error]) : undefined;
    const kind: ErrorKind = branded?.kind ?? "user";
    // The code's own getters and toString may run here: a throw is caught by fail().
    let name = isObject ? toText((error as Error).name ?? "Error") : "Error";
    let message = toText(isObject ? (error as Error).message : error);
    const { text, at } = kind === "user" ? locate(message) : { text: message, at: undefined };
    const syntax = "SyntaxError: ";
    if (at !== undefined && apply(startsWith, text, [syntax])) {
      // Deno reports code that does not parse as a TypeError wrapping a SyntaxError, with a code
      // frame numbered by the wrapped module: keep the headline, show the model's own line.
      name = "SyntaxError";
      const headline: string = apply(split, slice(text, syntax.length), ["\n"])[0];
      message = headline + " at line " + at.line + ", column " + at.column + "\n  " + at.line +
        " | " + lineOfCode(at.line);
    } else {
      message = text;
    }
    const details: Parameters<typeof jsonObject>[0] = bare({ kind, name, message: slice(message, 0, 4000) });
    if (kind === "api" && branded?.operationId !== undefined) {
      details.status = branded.status ?? 0;
      details.operationId = branded.operationId;
    }
    return jsonObject(details);
  };
  const fail = (error: unknown): void => {
    let details: string;
    try {
      details = describe(error);
    } catch {
      // Thrown values with throwing getters or toString are still the code's own error.
      details = jsonObject({ kind: "user", name: "Error", message: "the code threw a value that cannot be shown" });
    }
    frame({ t: "result", ok: false, error: { json: details }, truncated });
    realExit(0);
  };
  // An error thrown from a timer or a forgotten promise still ends the job with a result.
  globalThis.addEventListener("error", (event) => fail(event.error));
  globalThis.addEventListener("unhandledrejection", (event) => fail(event.reason));

  try {
    const sdk = job.sdk.trim() === "" ? {} : await import(moduleUrl(job.sdk, "application/typescript"));
    const factory = sdk.createClient ?? sdk.default;
    // Without a generated client every property of `api` is an operation by its operationId
    // ("then" excepted, so that `await api` does not turn into a call).
    const operation = (_target: object, name: string | symbol) =>
      typeof name !== "string" || name === "then"
        ? undefined
        : (params?: unknown) => call(name, params);
    const api = typeof factory === "function" ? factory(call) : new Proxy({}, { get: operation });
    defineProperty(globalThis, "ApiError", bare({ value: ApiError }));
    // Waiting is free: `await sleep(2000)` between polls (repeated reads are not API calls).
    // A long sleep is announced so that the runner's idle watchdog knows the wait is meant.
    defineProperty(globalThis, "sleep", bare({
      value: (ms: number): Promise<void> => {
        const wait = max(0, toNumber(ms) || 0);
        if (wait >= ANNOUNCED_SLEEP_MS) frame({ t: "wait", ms: wait });
        return new RealPromise((resolve) => apply(realSetTimeout, globalThis, [resolve, wait]));
      },
    }));
    Deno.exit = () => {
      throw new Error("Deno.exit is not available in the sandbox");
    };
    const userModule = await import(userUrl);
    const result = await userModule.default(api);
    // The result's JSON is the code's (its toJSON may run, or throw: a user error).
    let text: string = stringify(result) ?? "null";
    let resultTruncated = false;
    if (text.length > job.maxOutputBytes) {
      text = stringify(
        slice(text, 0, job.maxOutputBytes) + "…[result truncated: " + text.length + " characters]",
      );
      resultTruncated = true;
    }
    frame({ t: "result", ok: true, result: { json: text }, truncated: truncated || resultTruncated });
  } catch (error) {
    fail(error);
  }
  realExit(0);
}

await main();
