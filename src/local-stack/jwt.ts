// HS256 JSON Web Tokens for the local stack's API roles, signed with node:crypto: what
// Supabase's anon and service_role keys are, and what PostgREST verifies with its jwt-secret.
import { createHmac, randomBytes } from "node:crypto";

/** The roles PostgREST switches to (`SET LOCAL ROLE`) for a request carrying the token. */
export type JwtRole = "service_role" | "anon" | "authenticated";

export interface JwtClaims {
  role: JwtRole;
  /** The user id; `auth.uid()` returns it. */
  sub?: string;
  /** Issued at, in seconds since the epoch; now when omitted. */
  iat?: number;
  /** Expiry, in seconds since the epoch; `iat` + {@link DEFAULT_JWT_LIFETIME_SECONDS} when omitted. */
  exp?: number;
  [claim: string]: unknown;
}

/** 24 hours: long enough that no benchmark or test outlives its keys. */
export const DEFAULT_JWT_LIFETIME_SECONDS = 24 * 60 * 60;

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString("base64url");
}

/**
 * Signs `claims` with HMAC-SHA256; fills in `iat` and `exp` when they are missing.
 * @example
 * const userKey = signJwt({ role: "authenticated", sub: userId }, stack.jwtSecret);
 */
export function signJwt(claims: JwtClaims, secret: string): string {
  const iat = claims.iat ?? Math.floor(Date.now() / 1000);
  const payload = { ...claims, iat, exp: claims.exp ?? iat + DEFAULT_JWT_LIFETIME_SECONDS };
  const signingInput = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${base64url(JSON.stringify(payload))}`;
  const signature = createHmac("sha256", secret).update(signingInput).digest("base64url");
  return `${signingInput}.${signature}`;
}

/** A fresh random secret (64 hex characters; PostgREST wants at least 32). */
export function randomJwtSecret(): string {
  return randomBytes(32).toString("hex");
}
