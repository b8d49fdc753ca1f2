// Proof of work for rooms that ask one on join (rooms[].pow_difficulty): find a nonce such that
// SHA-256(challenge || nonce) starts with `difficulty` zero bits. The nonce is counted in decimal.
//
// Used in two ways: as the Web Worker script (sdk/pow.js loaded by `new Worker`, answering
// {challenge, difficulty} with {nonce} and progress messages {tried}), and as a module whose
// solve() runs on the calling thread in slices (when no worker can be started, e.g. the SDK is
// loaded from another origin, where browsers refuse a worker script).
//
// SHA-256 is done here in plain JavaScript: SubtleCrypto answers one hash per promise, which is
// far slower for millions of short messages, and is missing outside secure contexts.

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const W = new Uint32Array(64);

const H = new Int32Array(8);
let block = new Uint8Array(128);

// SHA-256 of `bytes` (ASCII codes, length < 2^29), as eight 32-bit words. The answer is a view
// that the next call overwrites; nothing is allocated for messages under 120 bytes.
export function sha256Words(bytes) {
  const n = bytes.length;
  const blocks = Math.ceil((n + 9) / 64);
  if (block.length < blocks * 64) block = new Uint8Array(blocks * 64);
  const m = block;
  m.set(bytes);
  m.fill(0, n, blocks * 64);
  m[n] = 0x80;
  const bits = n * 8;
  const end = blocks * 64;
  m[end - 4] = bits >>> 24;
  m[end - 3] = (bits >>> 16) & 0xff;
  m[end - 2] = (bits >>> 8) & 0xff;
  m[end - 1] = bits & 0xff;
  const h = H;
  for (let i = 0; i < 8; i++) h[i] = H0[i];
  for (let b = 0; b < blocks; b++) {
    const o = b * 64;
    for (let i = 0; i < 16; i++) {
      W[i] = (m[o + 4 * i] << 24) | (m[o + 4 * i + 1] << 16) | (m[o + 4 * i + 2] << 8) | m[o + 4 * i + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = W[i - 15];
      const y = W[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let a = h[0];
    let bb = h[1];
    let c = h[2];
    let d = h[3];
    let e = h[4];
    let f = h[5];
    let g = h[6];
    let hh = h[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[i] + W[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & bb) ^ (a & c) ^ (bb & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = bb;
      bb = a;
      a = (t1 + t2) | 0;
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + bb) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0;
    h[5] = (h[5] + f) | 0;
    h[6] = (h[6] + g) | 0;
    h[7] = (h[7] + hh) | 0;
  }
  return h;
}

// Whether the digest words start with `bits` zero bits.
export function leadingZeroBits(words, bits) {
  let i = 0;
  for (; bits >= 32; bits -= 32, i++) if (words[i] !== 0) return false;
  return bits === 0 || (words[i] >>> (32 - bits)) === 0;
}

function asciiBytes(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0x7f;
  return out;
}

// Tries nonces from `start`, `count` of them; the solving nonce (a string) or null.
export function search(challenge, difficulty, start, count) {
  const prefix = asciiBytes(challenge);
  const buf = new Uint8Array(prefix.length + 20);
  buf.set(prefix);
  for (let n = start; n < start + count; n++) {
    const digits = String(n);
    for (let i = 0; i < digits.length; i++) buf[prefix.length + i] = digits.charCodeAt(i);
    if (leadingZeroBits(sha256Words(buf.subarray(0, prefix.length + digits.length)), difficulty)) {
      return digits;
    }
  }
  return null;
}

const SLICE = 4096;

// Solves on this thread, yielding between slices so that the page stays responsive.
// onProgress(tried) is called after each slice; `signal` (AbortSignal) stops the search.
export async function solve(challenge, difficulty, { onProgress, signal } = {}) {
  for (let start = 0; ; start += SLICE) {
    if (signal?.aborted) throw new Error('aborted');
    const found = search(challenge, difficulty, start, SLICE);
    if (found !== null) return found;
    onProgress?.(start + SLICE);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

// As a worker: one message {challenge, difficulty} in, {tried} progress and one {nonce} out.
if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  self.onmessage = (event) => {
    const { challenge, difficulty } = event.data;
    for (let start = 0; ; start += SLICE * 16) {
      const found = search(challenge, difficulty, start, SLICE * 16);
      if (found !== null) {
        self.postMessage({ nonce: found });
        return;
      }
      self.postMessage({ tried: start + SLICE * 16 });
    }
  };
}
