// The in-isolate shim. One Deno process runs exactly one job and is then killed by the runner.
//
// Protocol (stdout, one line per frame): the shim prints "@@READY" once it waits for its job;
// the runner writes the job as JSON on stdin and closes it; every later frame is
// "<nonce> <json>" where the nonce comes from the job, so text the code writes to stdout
// directly can never pass for a frame.
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
const execPattern = RegExp.prototype.exec;
// Where the model's code is: its module wraps it in one line (`export default async function`).
const WRAPPER_LINES = 1;
const LOCATION = /^(\d+):(\d+)/;
const kindOf = new WeakMap<object, ErrorKind>();
const getKind = WeakMap.prototype.get;
const setKind = WeakMap.prototype.set;

function writeLine(text: string): void {
  const bytes: Uint8Array = apply(encode, encoder, [text + "\n"]);
  let offset = 0;
  while (offset < bytes.length) {
    offset += apply(writeSync, stdout, [bytes.subarray(offset)]);
  }
}

function brand<E extends Error>(error: E, kind: ErrorKind): E {
  apply(setKind, kindOf, [error, kind]);
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

async function main(): Promise<void> {
  const callUrl = Deno.args[0].replace(/\/+$/, "") + "/proxy/v1/call";
  writeLine("@@READY");
  const raw = await new Response(Deno.stdin.readable).text();
  if (raw === "") realExit(0); // the runner went away before handing over a job
  const job: Job = parse(raw);
  // The leading newline ends any partial line the code wrote to stdout itself.
  const frame = (payload: Record<string, unknown>): void =>
    writeLine("\n" + job.nonce + " " + stringify(payload));

  let outputBytes = 0;
  let truncated = false;
  const emit = (...args: unknown[]): void => {
    if (truncated) return;
    const line = args.map((a) => (typeof a === "string" ? a : inspect(a, { depth: 6 }))).join(" ");
    const size: number = apply(encode, encoder, [line]).length;
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
    let response: Response;
    try {
      response = await realFetch(callUrl, {
        method: "POST",
        headers: { authorization: `Bearer ${job.token}`, "content-type": "application/json" },
        body: stringify({ operationId: String(operationId), params: params ?? {} }),
      });
    } catch (error) {
      throw proxyError(`api-proxy unreachable: ${(error as Error).message}`);
    }
    if (response.status === 429) {
      // The api-proxy keeps the caps (calls, and polls apart from them) and says which was hit.
      let said: string | undefined;
      try {
        said = parse(await response.text())?.error?.message;
      } catch {
        said = undefined;
      }
      throw callLimitError(job.maxApiCalls, typeof said === "string" ? said : undefined);
    }
    // A token this execution was given and the proxy does not know: ours to fix.
    if (response.status === 401) throw proxyError("api-proxy rejected the capability token");
    if (response.status >= 500) throw proxyError(`api-proxy answered HTTP ${response.status}`);
    if (!response.ok) {
      // 400, 413: what the proxy said is about this call.
      let said: unknown;
      try {
        said = parse(await response.text())?.error?.message;
      } catch {
        said = undefined;
      }
      throw callError(typeof said === "string" ? said : `api-proxy answered HTTP ${response.status}`);
    }
    let answer: { status?: number; body?: unknown; error?: { kind?: string; message?: string } };
    try {
      answer = parse(await response.text());
    } catch {
      throw proxyError("api-proxy answered with invalid JSON");
    }
    if (answer.error?.kind === "api") {
      const message = answer.error.message ?? `${operationId} failed with ${answer.status}`;
      throw brand(new ApiError(message, answer.status ?? 0, operationId, answer.body), "api");
    }
    if (answer.error?.kind === "user") throw callError(answer.error.message ?? "invalid call");
    if (answer.error) throw proxyError(answer.error.message ?? "backend failure");
    return answer.body;
  };

  const mediaType = job.language === "javascript" ? "application/javascript" : "application/typescript";
  const moduleUrl = (source: string, type: string): string =>
    `data:${type},` + encodeURIComponent(source);
  const userUrl = moduleUrl(`export default async function (api) {\n${job.code}\n}`, mediaType);
  const codeLines: string[] = apply(split, job.code, ["\n"]);
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
      const place = { line: Math.max(1, Number(found[1]) - WRAPPER_LINES), column: Number(found[2]) };
      at ??= place;
      out += `line ${place.line}, column ${place.column}` + parts[i].slice(found[0].length);
    }
    return { text: out, at };
  };
  const describe = (error: unknown): Record<string, unknown> => {
    const isObject = typeof error === "object" && error !== null;
    const kind: ErrorKind = (isObject && apply(getKind, kindOf, [error])) || "user";
    let name = isObject ? String((error as Error).name ?? "Error") : "Error";
    let message = String(isObject ? (error as Error).message : error);
    const { text, at } = kind === "user" ? locate(message) : { text: message, at: undefined };
    if (at !== undefined && text.startsWith("SyntaxError: ")) {
      // Deno reports code that does not parse as a TypeError wrapping a SyntaxError, with a code
      // frame numbered by the wrapped module: keep the headline, show the model's own line.
      name = "SyntaxError";
      const headline: string = apply(split, text.slice("SyntaxError: ".length), ["\n"])[0];
      const source = codeLines[at.line - 1] ?? "";
      message = `${headline} at line ${at.line}, column ${at.column}\n  ${at.line} | ${source.trim()}`;
    } else {
      message = text;
    }
    const details: Record<string, unknown> = {
      kind,
      name,
      message: message.slice(0, 4000),
    };
    if (error instanceof ApiError && kind === "api") {
      details.status = error.status;
      details.operationId = error.operationId;
    }
    return details;
  };
  const fail = (error: unknown): void => {
    let details: Record<string, unknown>;
    try {
      details = describe(error);
    } catch {
      // Thrown values with throwing getters or toString are still the code's own error.
      details = { kind: "user", name: "Error", message: "the code threw a value that cannot be shown" };
    }
    frame({ t: "result", ok: false, error: details, truncated });
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
    Object.defineProperty(globalThis, "ApiError", { value: ApiError });
    // Waiting is free: `await sleep(2000)` between polls (repeated reads are not API calls).
    Object.defineProperty(globalThis, "sleep", {
      value: (ms: number): Promise<void> =>
        new Promise((resolve) => apply(realSetTimeout, globalThis, [resolve, Math.max(0, Number(ms) || 0)])),
    });
    Deno.exit = () => {
      throw new Error("Deno.exit is not available in the sandbox");
    };
    const userModule = await import(userUrl);
    const result = await userModule.default(api);
    let text: string = stringify(result) ?? "null";
    let resultTruncated = false;
    if (text.length > job.maxOutputBytes) {
      text = stringify(
        text.slice(0, job.maxOutputBytes) + `…[result truncated: ${text.length} characters]`,
      );
      resultTruncated = true;
    }
    frame({ t: "result", ok: true, result: parse(text), truncated: truncated || resultTruncated });
  } catch (error) {
    fail(error);
  }
  realExit(0);
}

await main();
