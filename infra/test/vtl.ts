/**
 * A small API Gateway VTL harness on velocityjs: `$input`, `$util`, `$context` with the Java
 * semantics the templates rely on (String.matches and String.replaceAll take regexes;
 * escapeJavaScript is Apache Commons Lang's). Good enough to catch JSON that API Gateway would
 * produce broken; not a full reimplementation.
 */
import { render } from 'velocityjs';

/** A Java-ish String: `replaceAll` and `matches` take Java regexes (same syntax as JS here). */
class JavaString {
  constructor(private readonly s: string) {}
  replaceAll(regex: string, replacement: string): JavaString {
    return new JavaString(this.s.replace(new RegExp(regex, 'g'), () => replacement));
  }
  matches(regex: string): boolean {
    return new RegExp(`^(?:${regex})$`).test(this.s);
  }
  toString(): string {
    return this.s;
  }
}

// velocityjs calls methods on plain JS strings too; give them Java's `matches`.
Object.defineProperty(String.prototype, 'matches', {
  value: function matches(this: string, regex: string) { return new RegExp(`^(?:${regex})$`).test(String(this)); },
  configurable: true,
});

/** org.apache.commons.lang.StringEscapeUtils.escapeJavaScript, as API Gateway's $util uses it. */
export function escapeJavaScript(input: string): string {
  let out = '';
  // Java strings are UTF-16: escape code unit by code unit, as Commons Lang does.
  for (let i = 0; i < input.length; i++) {
    const u = input.charCodeAt(i);
    if (u > 0x7f) out += `\\u${u.toString(16).toUpperCase().padStart(4, '0')}`;
    else if (u < 32) {
      const named: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
      out += named[u] ?? `\\u${u.toString(16).toUpperCase().padStart(4, '0')}`;
    } else {
      const c = input[i];
      out += ({ "'": "\\'", '"': '\\"', '\\': '\\\\', '/': '\\/' } as Record<string, string>)[c] ?? c;
    }
  }
  return out;
}

function at(root: unknown, jsonPath: string): unknown {
  if (jsonPath === '$') return root;
  return jsonPath.replace(/^\$\./, '').split('.').reduce<any>((cur, k) => (cur == null ? undefined : cur[k]), root);
}

/** A Java Map-like view, as `$input.params().header` is. */
function javaMap(entries: Record<string, string>) {
  return { keySet: () => Object.keys(entries), get: (k: string) => entries[k] };
}

export interface VtlRequest {
  body?: unknown;
  headers?: Record<string, string>;
  path?: Record<string, string>;
  requestId?: string;
}

export interface VtlResult {
  output: string;
  responseOverride: { status?: number; header: Record<string, string> };
}

export function renderVtl(template: string, req: VtlRequest = {}): VtlResult {
  const responseOverride: VtlResult['responseOverride'] = { header: {} };
  const context = {
    input: {
      json: (p: string) => JSON.stringify(at(req.body, p) ?? null),
      path: (p: string) => at(req.body, p),
      params: () => ({ header: javaMap(req.headers ?? {}), path: javaMap(req.path ?? {}), querystring: javaMap({}) }),
    },
    util: { escapeJavaScript: (s: unknown) => new JavaString(escapeJavaScript(String(s))) },
    context: { requestId: req.requestId ?? '3f1c2a9e-0000-4000-8000-000000000001', responseOverride },
  };
  return { output: render(template, context), responseOverride };
}
