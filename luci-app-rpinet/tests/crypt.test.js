// SHA-256-crypt in the browser (htdocs/.../rpinet/crypt.js): the test vectors of Ulrich
// Drepper's specification, and where openssl is installed the hash `openssl passwd -5`
// makes of the same password and salt.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { webcrypto } = require('node:crypto');
const { loadModule } = require('./load-module');

const crypt = loadModule(path.join(__dirname, '..', 'htdocs', 'luci-static', 'resources', 'rpinet', 'crypt.js'));

// "Unix crypt using SHA-256 and SHA-512" (Drepper), its SHA-256 test vectors
const VECTORS = [
  ['$5$saltstring', 'Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
  ['$5$rounds=10000$saltstringsaltstring', 'Hello world!', '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA'],
  ['$5$rounds=5000$toolongsaltstring', 'This is just a test', '$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5'],
  ['$5$rounds=1400$anotherlongsaltstring', 'a very much longer text to encrypt.  This one even stretches over morethan one line.',
    '$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1'],
  ['$5$rounds=77777$short', 'we have a short salt string but not a short password', '$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/'],
  ['$5$rounds=123456$asaltof16chars..', 'a short string', '$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD'],
  ['$5$rounds=10$roundstoolow', 'the minimum number is still observed', '$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC'],
];

test('SHA-256 of the FIPS 180-4 examples', () => {
  const hex = (b) => Buffer.from(b).toString('hex');
  assert.equal(hex(crypt.sha256([])), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(hex(crypt.sha256([...Buffer.from('abc')])), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const long = [...Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')];
  assert.equal(hex(crypt.sha256(long)), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
});

test('SHA-256-crypt: the specification\'s test vectors', () => {
  for (const [setting, pw, want] of VECTORS)
    assert.equal(crypt.sha256crypt(pw, setting), want, setting);
});

test('a fresh hash: $5$, 16 salt characters from getRandomValues, 5000 rounds (no rounds= part)', () => {
  const h = crypt.hashPassword('raspberry', webcrypto);
  assert.match(h, /^\$5\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{43}$/);
  const salt = h.split('$')[2];
  assert.equal(crypt.sha256crypt('raspberry', '$5$' + salt), h);
  assert.notEqual(crypt.hashPassword('raspberry', webcrypto), h, 'a new salt each time');
  // what rpinet's check_hash takes: $, at least four $-parts, only [A-Za-z0-9$./=,]
  assert.match(h, /^\$[A-Za-z0-9$./=,]+$/);
});

// openssl passwd -5 (OpenSSL 1.1.1+) is glibc's algorithm (Debian 12 has OpenSSL 3); without
// openssl, Python's crypt module (glibc's crypt(3)) says the same. A test never skips itself:
// with neither, it fails and says so.
function reference(pw, salt) {
  try {
    return execFileSync('openssl', ['passwd', '-5', '-salt', salt, pw], { encoding: 'utf8' }).trim();
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  return execFileSync('python3', ['-W', 'ignore', '-c', 'import crypt, sys; print(crypt.crypt(sys.argv[1], "$5$" + sys.argv[2]))', pw, salt],
    { encoding: 'utf8' }).trim();
}

test('agrees with openssl passwd -5 (or glibc\'s crypt through python3)', () => {
  for (const [pw, salt] of [['raspberry', 'abcdefgh12345678'], ['pässwörd ✓', 'x./Y'], ['a'.repeat(100), 'long'], ['$5$x', 'Zz09./']])
    assert.equal(crypt.sha256crypt(pw, '$5$' + salt), reference(pw, salt), pw);
});
