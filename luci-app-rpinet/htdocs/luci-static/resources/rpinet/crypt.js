'use strict';
'require baseclass';

/*
 * rpinet.crypt — a password as a crypt(3) hash, made in the browser so that the password
 * itself never leaves it: node_provision takes `password_hash` only (docs/api.md).
 *
 * SHA-256-crypt ($5$), as Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512" fixes it
 * (glibc's crypt, `openssl passwd -5`): a salt of up to 16 characters, 5000 rounds unless
 * `rounds=N` says otherwise (clamped to 1000–999999999). Raspberry Pi OS's userconf and
 * cloud-init take it as they take `openssl passwd -6`. Pure JavaScript on purpose: LuCI is
 * often served over plain HTTP, where browsers offer no WebCrypto (crypto.subtle); the
 * salt's randomness comes from crypto.getRandomValues, which they offer everywhere.
 * tests/crypt.test.js checks the spec's test vectors and, where openssl is installed,
 * agreement with it.
 */

const K = [
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
];

/* the 64 characters of crypt's base64, in crypt's order */
const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SALT_RE = /^[./0-9A-Za-z]{1,16}$/;

/* SHA-256 (FIPS 180-4) of an array of bytes, as an array of 32 bytes */
function sha256(bytes) {
	const h = [ 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 ],
	    len = bytes.length, padded = bytes.slice(), w = new Array(64);

	padded.push(0x80);
	while (padded.length % 64 != 56)
		padded.push(0);
	/* the length in bits, 64-bit big-endian (a password is far below 2^32 bits) */
	const bits = len * 8;
	padded.push(0, 0, 0, 0, (bits >>> 24) & 255, (bits >>> 16) & 255, (bits >>> 8) & 255, bits & 255);

	for (let off = 0; off < padded.length; off += 64) {
		for (let i = 0; i < 16; i++)
			w[i] = (padded[off + 4 * i] << 24) | (padded[off + 4 * i + 1] << 16) | (padded[off + 4 * i + 2] << 8) | padded[off + 4 * i + 3];
		for (let i = 16; i < 64; i++) {
			const x = w[i - 15], y = w[i - 2],
			    s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3),
			    s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
			w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
		}
		let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
		for (let i = 0; i < 64; i++) {
			const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7)),
			    ch = (e & f) ^ (~e & g),
			    t1 = (hh + S1 + ch + K[i] + w[i]) | 0,
			    S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10)),
			    maj = (a & b) ^ (a & c) ^ (b & c),
			    t2 = (S0 + maj) | 0;
			hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
		}
		h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
		h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + hh) | 0;
	}
	const out = [];
	h.forEach((v) => out.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255));
	return out;
}

/* a string as its UTF-8 bytes (what crypt(3) hashes: the bytes of the password) */
function utf8(s) {
	const out = [];
	for (const ch of String(s)) {
		const c = ch.codePointAt(0);
		if (c < 0x80)
			out.push(c);
		else if (c < 0x800)
			out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
		else if (c < 0x10000)
			out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
		else
			out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
	}
	return out;
}

/* `n` bytes of `digest` repeated (steps 16 and 20 of the spec: P and S sequences) */
function repeatBytes(digest, n) {
	const out = [];
	for (let i = 0; i < n; i++)
		out.push(digest[i % digest.length]);
	return out;
}

/* three bytes as four characters, least significant six bits first */
function b64from24(b2, b1, b0, n) {
	let w = (b2 << 16) | (b1 << 8) | b0, s = '';
	for (let i = 0; i < n; i++) {
		s += ITOA64.charAt(w & 63);
		w >>>= 6;
	}
	return s;
}

/* SHA-256-crypt of bytes `pw` with salt `salt` and `rounds`: the 43 characters after the last $ */
function sha256cryptHash(pw, salt, rounds) {
	const s = utf8(salt);

	/* steps 4–8: digest B of password, salt, password */
	const B = sha256(pw.concat(s, pw));

	/* steps 1–3, 9–12: digest A */
	let a = pw.concat(s);
	for (let n = pw.length; n > 0; n -= 32)
		a = a.concat(B.slice(0, Math.min(n, 32)));
	for (let n = pw.length; n > 0; n >>= 1)
		a = a.concat((n & 1) ? B : pw);
	const A = sha256(a);

	/* steps 13–16: P, the password's digest repeated to the password's length */
	let dp = [];
	for (let i = 0; i < pw.length; i++)
		dp = dp.concat(pw);
	const P = repeatBytes(sha256(dp), pw.length);

	/* steps 17–20: S, from the salt repeated 16 + A[0] times */
	let ds = [];
	for (let i = 0; i < 16 + A[0]; i++)
		ds = ds.concat(s);
	const S = repeatBytes(sha256(ds), s.length);

	/* step 21: the rounds */
	let C = A;
	for (let i = 0; i < rounds; i++) {
		let c = (i & 1) ? P : C;
		if (i % 3)
			c = c.concat(S);
		if (i % 7)
			c = c.concat(P);
		c = c.concat((i & 1) ? C : P);
		C = sha256(c);
	}

	/* step 22: crypt's base64 of the digest, in the spec's byte order */
	const order = [ [ 0, 10, 20 ], [ 21, 1, 11 ], [ 12, 22, 2 ], [ 3, 13, 23 ], [ 24, 4, 14 ],
		[ 15, 25, 5 ], [ 6, 16, 26 ], [ 27, 7, 17 ], [ 18, 28, 8 ], [ 9, 19, 29 ] ];
	let out = order.map((t) => b64from24(C[t[0]], C[t[1]], C[t[2]], 4)).join('');
	out += b64from24(0, C[31], C[30], 3);
	return out;
}

return baseclass.extend({
	__name__: 'rpinet.crypt',

	sha256: sha256,

	/*
	 * crypt(3) of `password` with a setting such as '$5$salt' or '$5$rounds=10000$salt'
	 * (the salt cut to 16 characters, rounds clamped as glibc does), e.g.
	 * sha256crypt('Hello world!', '$5$saltstring') == '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF4Qxa3NZ'.
	 */
	sha256crypt(password, setting) {
		const m = /^\$5\$(?:rounds=([0-9]+)\$)?([^$]*)/.exec(String(setting));
		if (!m)
			throw new Error('not a $5$ setting: ' + setting);
		const salt = m[2].slice(0, 16);
		let rounds = 5000;
		if (m[1] != null)
			rounds = Math.max(1000, Math.min(999999999, +m[1]));
		const prefix = (m[1] != null) ? '$5$rounds=' + rounds + '$' : '$5$';
		return prefix + salt + '$' + sha256cryptHash(utf8(password), salt, rounds);
	},

	/* 16 salt characters from the browser's random source (64 characters: a byte's low six bits are uniform) */
	randomSalt(random) {
		const bytes = new Uint8Array(16);
		(random || window.crypto).getRandomValues(bytes);
		return Array.prototype.map.call(bytes, (b) => ITOA64.charAt(b & 63)).join('');
	},

	/* the hash node_provision's password_hash takes: $5$, 5000 rounds, a fresh 16-character salt */
	hashPassword(password, random) {
		const salt = this.randomSalt(random);
		if (!SALT_RE.test(salt))
			throw new Error('bad salt');
		return this.sha256crypt(password, '$5$' + salt);
	}
});
