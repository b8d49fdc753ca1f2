#!/usr/bin/env node
// Verifying a VWR admission token offline in Node.js, with the `jose` package and the public keys
// VWR publishes at /.well-known/jwks.json (see docs/integration.md, "Verifying tokens offline").
//
// As a module:
//
//   import { admissionVerifier, tokenFrom } from './verify.mjs';
//   const verify = admissionVerifier({ jwksUrl: 'https://queue.example.com/.well-known/jwks.json',
//                                      issuer: 'vwr' });
//   const claims = await verify(tokenFrom(req, 'sale'), 'sale');   // throws when not admitted
//
// From the command line (exit 0 and the claims as JSON when valid; exit 1 and the reason when
// not; exit 2 on a usage error):
//
//   node verify.mjs <JWKS URL> <room> <token> [issuer]

import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { pathToFileURL } from 'node:url';

// A verifier for tokens of any room, with one cached copy of the key set. The JWKS is fetched on
// first use, kept for ten minutes, and fetched again at once (at most every 30 s) when a token
// names a key id the copy does not have: that is how a key rotation reaches the verifier.
export function admissionVerifier({ jwksUrl, issuer = 'vwr', clockToleranceSeconds = 5 }) {
  const keys = createRemoteJWKSet(new URL(jwksUrl), {
    cacheMaxAge: 10 * 60 * 1000,
    cooldownDuration: 30 * 1000,
    timeoutDuration: 5000,
  });
  // Resolves with the token's claims when it is a valid admission to `room`; rejects otherwise.
  return async function verify(token, room) {
    if (typeof token !== 'string' || token === '') throw new errors.JWTInvalid('no token');
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ['ES256'], // never anything else: no "none", no HMAC with a public key
      typ: 'JWT', // an entry pass (vwr_pass_<room>) says vwr-pass+jwt: no admission
      issuer,
      audience: room, // a token for another room is no admission to this one
      requiredClaims: ['sub', 'iat', 'nbf', 'exp', 'jti'],
      clockTolerance: clockToleranceSeconds,
    });
    // Entry passes carry "vwr": "pass"; admission tokens have no such claim.
    if (payload.vwr !== undefined) {
      throw new errors.JWTClaimValidationFailed('not an admission token', payload, 'vwr');
    }
    return payload;
  };
}

// The token an HTTP request carries for `room`: `Authorization: Bearer <token>`, else the
// `vwr_<room>` cookie VWR sets when the waiting page admits a visitor. `req` is a node:http
// IncomingMessage (Express's req is one).
export function tokenFrom(req, room) {
  const auth = req.headers.authorization ?? '';
  const bearer = /^Bearer +([A-Za-z0-9_.-]+)$/.exec(auth);
  if (bearer) return bearer[1];
  const name = `vwr_${room}`;
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

async function main(argv) {
  const [jwksUrl, room, token, issuer = 'vwr'] = argv;
  if (!jwksUrl || !room || !token) {
    console.error('usage: node verify.mjs <JWKS URL> <room> <token> [issuer]');
    return 2;
  }
  const verify = admissionVerifier({ jwksUrl, issuer });
  try {
    const claims = await verify(token, room);
    console.log(JSON.stringify(claims));
    return 0;
  } catch (e) {
    console.error(`not admitted: ${e.code ?? e.name}: ${e.message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
