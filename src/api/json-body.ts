// Reading a JSON request body defensively: a byte limit checked while reading (413 at once
// past it), a nesting-depth limit, and prototype-pollution keys refused, before any schema
// sees the value.
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';

export interface BodyLimits {
  /** Largest body in bytes (default 1 MiB): above it, 413 without reading the rest. */
  readonly bytes: number;
  /**
   * Deepest nesting of arrays and objects (default 32). Nothing the API takes nests deeper
   * than a quorum rule (about 6); the limit keeps a hostile body's cost bounded.
   */
  readonly depth: number;
}

export const BODY_DEFAULTS: BodyLimits = { bytes: 1024 * 1024, depth: 32 };

/** Keys that would reach Object.prototype through a careless merge (refused, never copied). */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const tooLarge = (): ApiError =>
    new ApiError('api-body-too-large', `the body is larger than ${limit} bytes`, {
      details: { limit },
    });
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        // The rest is discarded by Node after the answer: the client reads a clean 413.
        done = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', (error) => {
      if (!done) {
        done = true;
        reject(error);
      }
    });
  });
}

/** Checks depth and keys of a parsed value without recursion (a deep value cannot overflow). */
export function checkJsonShape(value: unknown, maxDepth: number): void {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) {
      throw new ApiError('api-malformed-json', `the body nests deeper than ${maxDepth} levels`, {
        details: { limit: maxDepth },
      });
    }
    if (Array.isArray(v)) {
      for (const item of v) stack.push({ v: item, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(key)) {
        throw new ApiError('api-malformed-json', `the key '${key}' is not accepted`, {
          details: { key },
        });
      }
      stack.push({ v: (v as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
}

/**
 * Parses JSON text. The depth is checked on the text first (brackets outside strings), so that
 * a body of a million '[' never reaches JSON.parse's recursion.
 */
export function parseJsonBody(bytes: Buffer, limits: BodyLimits): unknown {
  const text = bytes.toString('utf8');
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limits.depth) {
        throw new ApiError(
          'api-malformed-json',
          `the body nests deeper than ${limits.depth} levels`,
          { details: { limit: limits.depth } },
        );
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('api-malformed-json', 'the body is not JSON');
  }
  checkJsonShape(value, limits.depth + 1);
  return value;
}
