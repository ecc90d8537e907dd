'use strict';
'require baseclass';

/*
 * rpinet.logic — the pure part of luci-app-rpinet.
 *
 * Every function here turns data (ubus replies as docs/api.md fixes them, UCI values, what
 * the user typed) into plain values: validation verdicts in LuCI's convention (`true` or an
 * error string), or small view models (arrays and objects of strings and flags) that the
 * views map one to one onto LuCI widgets. Nothing here touches the DOM, the network or the
 * clock (callers pass `now`), so tests/logic.test.js runs it in node unchanged.
 *
 * Strings go through _() so po files can follow; placeholders are filled with fmt() below,
 * which understands the two LuCI String.format() conversions this file uses (%s, %d).
 */

/* docs/SPEC.md §1: the node schema. */
const NAME_RE = /^[a-z0-9_]{1,32}$/;
const SERIAL_RE = /^[0-9a-fA-F]{8}$/;
const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const IPV4_RE = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
/* EEPROM TFTP_PREFIX_STR is at most 32 characters and ends in '/': a dir of up to 31. */
const BOOT_DIR_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/;
const IMAGE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/*
 * The label classes every LuCI theme styles. luci-theme-bootstrap (cascade.css) colours a
 * plain .label grey, .success green, .warning yellow and .notice/.important both in the
 * primary blue; it has no red label. So: done green, in progress blue, not yet grey and a
 * problem yellow, each with its own mark, so that no two states share a look in any theme.
 */
const STATE_CLASS = { ok: 'label success', active: 'label notice', pending: 'label', problem: 'label warning' };
const STATE_MARK = { ok: '✔', active: '…', pending: '○', problem: '✘' };
const SIZE_RE = /^[1-9][0-9]{0,5}[MGT]$/;

/*
 * docs/SPEC.md §1 `list ssh_key`, as rpinet's config/ssh_key.rs checks it: the key types OpenSSH
 * accepts for logins today (no DSA), one key a line, printable ASCII without " or \, and
 * a standard base64 blob whose first length-prefixed string names the same type.
 */
const SSH_KEY_TYPES = [
	'ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
	'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com'
];
const SSH_KEY_MAX = 16 * 1024;
/*
 * A second key pasted into the first one's comment: a type name, then a blob (every blob
 * starts AAAA). A text field drops the line break of two pasted lines, so the type may be
 * glued to the end of the first comment.
 */
const SSH_SECOND_KEY_RE = new RegExp('(' + SSH_KEY_TYPES.map(t => t.replace(/[.@-]/g, '\\$&')).join('|') + ') AAAA');
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const SHA256_RE = /^[0-9a-fA-F]{64}$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

const MODELS = [ 'pi3', 'pi4', 'pi5' ];
const BOOT_IDS = [ 'serial', 'mac', 'custom' ];
const STAGES = [ 'dhcp', 'firmware', 'kernel', 'nfs', 'up', 'running' ];
/* How a boot can end by the node's own report, besides running: the last step failed. */
const ENDED_BADLY = [ 'degraded', 'emergency' ];
const LEVEL_ORDER = { error: 0, warning: 1, info: 2 };
/* the summary line and the state filter, in the order a person reads a cluster */
const SUMMARY_PARTS = [ [ 'running', 'ok' ], [ 'up', 'ok' ], [ 'booting', 'active' ], [ 'degraded', 'problem' ],
	[ 'failed', 'problem' ], [ 'stalled', 'problem' ], [ 'none', 'pending' ] ];
/* the table's State column sorts what needs a look first */
const STATE_ORDER = { failed: 0, stalled: 1, degraded: 2, booting: 3, up: 4, running: 5, none: 6, disabled: 7 };
const SORT_KEYS = [ 'name', 'state', 'stage', 'image', 'address', 'time' ];

/*
 * rpinet's own sentences sometimes end in what to type on the router; a page says what to
 * press instead. Each rule: a pattern in a reply (docs/api.md), and the words in its place.
 */
const PLAIN_RULES = [
	/* image_roll's stop message: the page offers Roll back beside the node */
	[ /;? its previous root is kept \(rpinet node rollback [^)]*\)/, () => _('; its previous root is kept, so Roll back can put the node back on it') ],
	[ /:? ?`rpinet image catalog` says why/, () => '' ],
	[ / ?\('rpinet doctor'\)/, () => _(' (see Diagnostics)') ],
	[ /:? ?run '?`?rpinet apply`?'?/, () => _(': Apply on the Diagnostics page writes them again') ],
	[ /provision again with --user NAME --password-hash HASH, or give it an ssh_key/,
		() => _('provision it again with a user and password, or give it an SSH key (Settings or the node\'s Edit)') ],
	[ /:? ?\/etc\/init\.d\/([a-z0-9_-]+) (?:start|restart)$/, () => _(': start it under System → Startup') ]
];

/* `rpinet image import`'s last line, long and technical, as what a person wants to know */
const IMPORTED_RE = /^imported (\S+) \(([^)]*)\) to [^:]*: boot ([0-9]+) files, root ([0-9]+) files.*?([0-9]+) MiB from [0-9]+ MiB of image.*?(?:; ([0-9]+) entries skipped)?$/;

/* a compare for names with numbers in them (pi_2 before pi_10) */
function naturalCompare(a, b) {
	return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: 'base' });
}

/* an IPv4 address as a number for sorting, or null */
function ipNumber(ip) {
	const m = IPV4_RE.exec(str(ip));
	return m ? str(ip).split('.').reduce((n, o) => n * 256 + (+o), 0) : null;
}

function fmt(template, ...args) {
	let i = 0;
	return String(template).replace(/%([sd%])/g, (m, c) => {
		if (c == '%')
			return '%';
		const v = args[i++];
		return (c == 'd') ? String(Math.floor(+v || 0)) : String(v);
	});
}

/* One step of timeline(): done up to the stage reached, failed right after it on error. */
function stageStep(self, reached, b, byStage) {
	return (stage, i) => {
		const st = byStage[stage] || {};
		let state = 'pending';
		const badEnd = ENDED_BADLY.includes(b.stage) && stage == 'running';
		if (i <= reached)
			state = 'done';
		else if (badEnd)
			state = 'failed';
		else if (i == reached + 1 && b.error)
			state = 'failed';
		else if (i == reached + 1 && b.stalled)
			state = 'stalled';
		return {
			stage: stage,
			title: self.stageTitle(stage),
			state: state,
			time: st.time ? self.formatTime(st.time) : '',
			/* done ok, failed and stalled a problem, the rest not yet */
			look: (state == 'done') ? 'ok' : (state == 'pending') ? 'pending' : 'problem',
			detail: badEnd ? (problemsText(b) || self.stageTitle(b.stage))
				: (state == 'failed') ? str(b.error) : (state == 'stalled') ? str(b.hint) : str(st.detail)
		};
	};
}

function str(v) {
	return (v == null) ? '' : String(v);
}

/* Why a boot ended degraded or in emergency mode, as rpinet says it. */
function problemsText(b) {
	return (Array.isArray(b.problems) ? b.problems : []).map(str).join('; ');
}

/* Standard base64 with padding, as OpenSSH writes key blobs: the bytes, or null. */
function base64Bytes(s) {
	if (!s.length || s.length % 4)
		return null;
	const out = [];
	for (let i = 0; i < s.length; i += 4) {
		const q = s.slice(i, i + 4), pad = /=*$/.exec(q)[0].length;
		if (pad > 2 || (pad && i + 4 < s.length))
			return null;
		let n = 0;
		for (const c of q.slice(0, 4 - pad)) {
			const v = B64.indexOf(c);
			if (v < 0)
				return null;
			n = n * 64 + v;
		}
		n *= Math.pow(64, pad);
		out.push((n >> 16) & 255, (n >> 8) & 255, n & 255);
		out.length -= pad;
	}
	return out;
}

/* A key blob as the length-prefixed strings it is made of, which must fill it exactly. */
function blobFields(raw) {
	const out = [];
	for (let at = 0; at < raw.length;) {
		if (at + 4 > raw.length)
			return null;
		const len = ((raw[at] << 24) >>> 0) + (raw[at + 1] << 16) + (raw[at + 2] << 8) + raw[at + 3];
		if (at + 4 + len > raw.length)
			return null;
		out.push(raw.slice(at + 4, at + 4 + len));
		at += 4 + len;
	}
	return out;
}

return baseclass.extend({
	__name__: 'rpinet.logic',

	MODELS: MODELS,
	BOOT_IDS: BOOT_IDS,
	STAGES: STAGES,

	fmt: fmt,

	/* ---- validation (docs/SPEC.md §1); each returns true or a message naming what is wrong ---- */

	validateName(value) {
		const v = str(value);
		if (NAME_RE.test(v))
			return true;
		if (v == '')
			return _('A node name is required');
		if (v.length > 32)
			return _('A node name has at most 32 characters');
		return _('Use only lower-case letters, digits and _ in a node name');
	},

	validateSerial(value) {
		return SERIAL_RE.test(str(value)) ? true
			: _('The serial is 8 hex digits (the last 8 of the Serial line in /proc/cpuinfo)');
	},

	validateMac(value) {
		return MAC_RE.test(str(value)) ? true
			: _('The MAC address is six hex pairs separated by colons, e.g. dc:a6:32:79:26:df');
	},

	validateModel(value) {
		return (MODELS.indexOf(str(value)) > -1) ? true : _('The model is pi3, pi4 or pi5');
	},

	validateBootId(value) {
		return (BOOT_IDS.indexOf(str(value)) > -1) ? true : _('The boot directory is serial, mac or custom');
	},

	/* boot_dir only matters (and is required) when boot_id is custom. */
	validateBootDir(bootId, value) {
		if (str(bootId) != 'custom')
			return true;
		if (str(value) == '')
			return _('A custom boot directory needs a name');
		return BOOT_DIR_RE.test(str(value)) ? true
			: _('Up to 31 letters, digits, ".", "_" or "-", not starting with "." or "-"');
	},

	/* An empty value is allowed where the option is optional (ip, server_ip). */
	validateIPv4(value, optional) {
		const v = str(value);
		if (v == '' && optional)
			return true;
		return IPV4_RE.test(v) ? true : _('Expecting an IPv4 address such as 192.168.1.57');
	},

	validateImageName(value) {
		return IMAGE_NAME_RE.test(str(value)) ? true
			: _('Up to 64 letters, digits, ".", "_" or "-", not starting with "." or "-"');
	},

	/* volume_size (contract 3): a whole number of MiB, GiB or TiB, e.g. 32G */
	validateVolumeSize(value) {
		const v = str(value);
		if (v == '')
			return true;
		return SIZE_RE.test(v) ? true : _('A size such as 512M, 32G or 1T');
	},

	SSH_KEY_TYPES: SSH_KEY_TYPES,

	/*
	 * One ssh_key list entry: an OpenSSH public key line, TYPE BASE64 [comment], checked as
	 * rpinet checks it (rpinet checks again). Stricter in one way only: a second key pasted
	 * into the first one's comment is refused, as it would never let anyone log in.
	 */
	validateSshKey(value) {
		const v = str(value);
		if (/[\r\n]/.test(v))
			return _('One key a line: add each key as its own entry');
		if (v.length > SSH_KEY_MAX)
			return _('A key line has at most 16 KiB');
		if (/\t/.test(v))
			return _('Separate the parts of the key with spaces, not tabs');
		if (/[^\x20-\x7e]|["\\]/.test(v))
			return _('A key line is printable ASCII without " or \\');
		const [ type, blob, ...comment ] = v.split(' ').filter(p => p);
		if (blob == null)
			return _('A key line is TYPE KEY [comment], e.g. ssh-ed25519 AAAAC3… you@laptop');
		if (!SSH_KEY_TYPES.includes(type))
			return fmt(_('"%s" is not a key type rpinet installs: it takes Ed25519, RSA, ECDSA and security keys'),
				(type.length > 24) ? type.slice(0, 24) + '…' : type);
		const raw = base64Bytes(blob), fields = raw && blobFields(raw);
		if (!fields || fields.length < 2)
			return _('The key is damaged: its base64 part does not decode (cut short or mistyped?)');
		const named = String.fromCharCode(...fields[0]);
		if (named != type)
			return /^[\x21-\x7e]{1,64}$/.test(named)
				? fmt(_('The key inside is of type %s, but the line says %s'), named, type)
				: _('The key is damaged: its base64 part does not decode (cut short or mistyped?)');
		if (type == 'ssh-ed25519' && fields[1].length != 32)
			return _('The key is damaged: an ssh-ed25519 key is 32 bytes');
		if (SSH_SECOND_KEY_RE.test(comment.join(' ')))
			return _('Two keys on one line: add each key as its own entry');
		return true;
	},

	/* rpinet's check_url: http(s), a host, no spaces or control characters, at most 2048 bytes */
	validateUrl(value) {
		const v = str(value), m = /^https?:\/\/(.*)$/i.exec(v);
		if (!m)
			return _('Expecting an http:// or https:// address');
		if (v.length > 2048 || [ ...v ].some(c => c.charCodeAt(0) <= 32 || c.charCodeAt(0) == 127))
			return _('An address has no spaces or control characters and at most 2048 characters');
		const host = m[1].split(/[/?#]/)[0];
		if (host == '' || host.charAt(0) == '-' || host.includes('@'))
			return _('The address names no host (user@ is not accepted)');
		return true;
	},

	validateSha256(value) {
		return (str(value) == '' || SHA256_RE.test(str(value))) ? true : _('A SHA-256 is 64 hex digits');
	},

	/* roll_batch (docs/SPEC.md §1) and image_roll's batch: 1 to 64 nodes at a time; empty: the default */
	validateRollBatch(value) {
		const v = str(value);
		if (v == '')
			return true;
		return (/^[0-9]{1,3}$/.test(v) && +v >= 1 && +v <= 64) ? true : _('A number of nodes from 1 to 64');
	},

	/*
	 * storage_server (docs/SPEC.md §1), as rpinet's parse_host: an IPv4 address, or a host
	 * name of labels of a-z 0-9 - (1 to 63 each, not starting or ending with -), at most 253
	 * characters; rpinet stores it lowercase, so capitals are taken
	 */
	validateStorageServer(value) {
		const v = str(value).toLowerCase();
		if (v == '')
			return _('The NFS server\'s IPv4 address or host name is required');
		/* as rpinet's parse_ipv4: not 0.0.0.0, the broadcast address or a multicast one */
		if (IPV4_RE.test(v) && v != '0.0.0.0' && v != '255.255.255.255' && !(+v.split('.')[0] >= 224 && +v.split('.')[0] <= 239))
			return true;
		if (/^[0-9.]+$/.test(v))
			return fmt(_('"%s" is not an IPv4 address (four numbers 0 to 255, such as 192.168.1.10)'), value);
		const label = (l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l);
		return (v.length <= 253 && v.split('.').every(label)) ? true
			: _('Expecting an IPv4 address or a host name such as nas.lan: letters, digits and - between dots');
	},

	/*
	 * storage_export (docs/SPEC.md §1), as rpinet's parse_export: an absolute path of plain
	 * parts (A-Z a-z 0-9 . _ -, no . or ..), not / itself, at most 128 characters; a
	 * trailing / is dropped
	 */
	validateStorageExport(value) {
		const v = str(value).replace(/\/+$/, '');
		if (str(value) == '')
			return _('The directory the NFS server exports is required, such as /mnt/tank/rpinet');
		if (v.charAt(0) != '/')
			return _('Expecting an absolute path below / such as /mnt/tank/rpinet');
		if (v.length > 128)
			return _('The exported path has at most 128 characters');
		return v.slice(1).split('/').every((c) => c != '' && c != '.' && c != '..' && /^[A-Za-z0-9._-]+$/.test(c)) ? true
			: _('Each part of the exported path has only letters, digits, ., _ and - (no spaces, no empty part, no . or ..)');
	},

	/* the main section's root_mode as rpinet reads it: on an NFS server every root is a copy */
	mainRootMode(main) {
		const m = main || {};
		return str(m.root_mode) || (str(m.storage_server) ? 'copy' : 'shared');
	},

	/* docs/SPEC.md §3: image import takes a .img, .img.xz or .img.gz file; the page offers files on the SSD. */
	validateImagePath(value) {
		const v = str(value);
		if (v.charAt(0) != '/')
			return _('Give the absolute path of the image file on the router');
		if (!/\.img(\.xz|\.gz)?$/.test(v))
			return _('The image file must end in .img, .img.xz or .img.gz');
		if (/(^|\/)\.\.(\/|$)/.test(v))
			return _('The path must not contain ".."');
		return true;
	},

	/* provisioning's first user, as rpinet checks it: [a-z_][a-z0-9_-]{0,31}; empty: none */
	validateUser(value) {
		const v = str(value);
		if (v == '' || USER_RE.test(v))
			return true;
		return _('A user name is up to 32 lower-case letters, digits, _ or -, starting with a letter or _');
	},

	/* the provision form: a user and a password go together, typed twice alike */
	validateProvision(d) {
		const v = d || {}, user = str(v.user), pw = str(v.password);
		if (this.validateUser(user) !== true)
			return this.validateUser(user);
		if (user && pw == '')
			return _('Give the first user a password (only its hash is sent to the router)');
		if (!user && pw != '')
			return _('A password needs a first user');
		if (pw != str(v.password2))
			return _('The two passwords differ');
		const size = this.validateVolumeSize(v.volume_size);
		return (size !== true) ? size : true;
	},

	/*
	 * A node's root_mode as words: what status says it is (`effective`, docs/api.md), else its
	 * own option, else the main section's, else shared (what rpinet does when neither says).
	 */
	rootModeText(own, main, effective) {
		const mode = str(effective) || str(own) || str(main) || 'shared',
		    text = (mode == 'shared') ? _('shared: the image\'s root read-only, the node\'s changes in an overlay on the router')
			: _('copy: a private full copy of the image\'s root');
		return str(own) ? text : fmt(_('%s (the default)'), text);
	},

	/* a timeline step's state as a word for the details table */
	stepStateText(state) {
		switch (state) {
		case 'done': return _('done');
		case 'failed': return _('failed');
		case 'stalled': return _('stalled');
		default: return _('not yet');
		}
	},

	/* The whole node as node_add receives it; returns the list of {option, message}. */
	validateNode(n) {
		const checks = [
			[ 'name', this.validateName(n.name) ],
			[ 'serial', this.validateSerial(n.serial) ],
			[ 'mac', this.validateMac(n.mac) ],
			[ 'model', this.validateModel(n.model || 'pi4') ],
			[ 'boot_id', this.validateBootId(n.boot_id || 'serial') ],
			[ 'boot_dir', this.validateBootDir(n.boot_id || 'serial', n.boot_dir) ],
			[ 'ip', this.validateIPv4(n.ip, true) ]
		];
		return checks.filter(c => c[1] !== true)
			.map(c => ({
			option: c[0],
			message: c[1]
		}));
	},

	/* docs/SPEC.md §1: serial and MAC are accepted in either case and always used in lower case. */
	normalizeSerial(value) { return str(value).toLowerCase(); },
	normalizeMac(value) { return str(value).toLowerCase(); },

	hostname(name) { return str(name).replace(/_/g, '-'); },

	/* docs/SPEC.md §2: the TFTP directory a node boots from. */
	bootDir(node) {
		switch (node.boot_id || 'serial') {
		case 'mac': return str(node.mac).toLowerCase().replace(/:/g, '-');
		case 'custom': return str(node.boot_dir);
		default: return str(node.serial).toLowerCase();
		}
	},

	/* A name for a discovered Pi that passes validateName, e.g. pi_91cdf03d. */
	suggestName(pi, taken) {
		const base = pi.serial ? 'pi_' + str(pi.serial).toLowerCase()
			: 'pi_' + str(pi.mac).toLowerCase().replace(/:/g, '').slice(-6);

		let name = base;
		let i = 2;
		taken = taken || [];
		while (taken.indexOf(name) > -1)
			name = base + '_' + (i++);
		return name;
	},

	/* ---- states ---- */

	stateClass(state) { return STATE_CLASS[state] || STATE_CLASS.pending; },
	stateMark(state) { return STATE_MARK[state] || STATE_MARK.pending; },

	/* ---- failed calls ---- */

	/*
	 * One sentence a person understands for any failed call: a rejected rpc promise (LuCI's
	 * message carries "RPC call to O/M failed with error C: text" and then the stack), a bare
	 * ubus status number, or rpinet's own {"error": "..."} reply, which is one sentence already.
	 */
	describeError(err) {
		if (typeof(err) == 'number')
			return this.ubusStatusText(err);
		if (err && typeof(err) == 'object' && !(err instanceof Error) && err.error)
			return str(err.error);
		const msg = str(err && err.message != null ? err.message : err).split('\n')[0].trim();
		let m = /RPC call to ([^/\s]+)\/(\S+) failed with error (-?[0-9]+)/.exec(msg);
		if (m && m[3] == '-32002')
			return _('Your login is not allowed to do this; the router\'s administrator can grant it (LuCI access group luci-app-rpinet).');
		if (m && m[3] == '-32000')
			return (m[1] == 'rpinet')
				? _('rpinet does not answer on this router: check that the rpinet package is installed, then run /etc/init.d/rpcd restart.')
				: fmt(_('The router has no "%s" service.'), m[1]);
		m = /failed with ubus code ([0-9]+)/.exec(msg);
		if (m)
			return this.ubusStatusText(+m[1]);
		if (/HTTP error|XHR request|NetworkError|timed? ?out/i.test(msg))
			return _('The router did not answer; check the connection and log in again.');
		return msg.replace(/^RPC call to \S+ failed with error -?[0-9]+: /, '') || _('Unknown error');
	},

	ubusStatusText(code) {
		switch (code) {
		case 3: return _('The installed rpinet does not offer this yet: update the rpinet package.');
		case 5:
		case 7: return _('rpinet took too long to answer; try again in a moment.');
		case 6: return _('Your login is not allowed to do this; the router\'s administrator can grant it (LuCI access group luci-app-rpinet).');
		default: return fmt(_('rpinet refused the request (ubus status %d).'), code);
		}
	},

	/* The reply when it is usable and has `need` (if given); else throws the sentence why not. */
	checkReply(res, need) {
		const err = this.replyError(res) || ((need && !res[need]) ? fmt(_('rpinet answered without "%s".'), need) : null);
		if (err)
			throw new Error(err);
		return res;
	},

	/* null when the reply is a usable object, else the sentence that says why not */
	replyError(res) {
		if (typeof(res) == 'number')
			return this.ubusStatusText(res);
		if (!res || typeof(res) != 'object')
			return _('rpinet gave no answer.');
		const m = /unknown argument '([^']*)'/.exec(str(res.error));
		if (m)
			return fmt(_('The installed rpinet does not take "%s" yet: update the rpinet package.'), m[1]);
		return res.error ? str(res.error) : null;
	},

	/* ---- formatting ---- */

	formatAge(then, now) {
		if (!then)
			return _('never');
		const d = Math.max(0, Math.floor(now - then));
		if (d < 60)
			return fmt(_('%ds ago'), d);
		if (d < 3600)
			return fmt(_('%d min ago'), d / 60);
		if (d < 86400)
			return fmt(_('%d h ago'), d / 3600);
		return fmt(_('%d days ago'), d / 86400);
	},

	formatSize(bytes) {
		const units = [ 'B', 'KiB', 'MiB', 'GiB', 'TiB' ];
		let v = +bytes || 0;
		let u = 0;
		while (v >= 1024 && u < units.length - 1) {
			v /= 1024;
			u++;
		}
		return (u == 0) ? fmt('%d B', v) : v.toFixed(1) + ' ' + units[u];
	},

	/* a time left: 45 s, 3 min 20 s, 1 h 05 min */
	formatDuration(secs) {
		const s = Math.max(0, Math.ceil(+secs || 0));
		if (s < 60)
			return fmt(_('%d s'), s);
		if (s < 3600)
			return fmt(_('%d min %d s'), s / 60, s % 60);
		return fmt(_('%d h %s min'), s / 3600, String(Math.floor(s % 3600 / 60)).padStart(2, '0'));
	},

	/* a boot time: 46.0 s, 2 min 05 s */
	formatSeconds(secs) {
		const s = Math.max(0, +secs || 0);
		if (s < 100)
			return fmt(_('%s s'), s.toFixed(1));
		return fmt(_('%d min %s s'), s / 60, String(Math.floor(s % 60)).padStart(2, '0'));
	},

	formatTime(t) {
		if (!t)
			return '';
		const d = new Date(t * 1000), p = n => (n < 10 ? '0' : '') + n;
		return d.getUTCFullYear() + '-' + p(d.getUTCMonth() + 1) + '-' + p(d.getUTCDate()) + ' ' +
			p(d.getUTCHours()) + ':' + p(d.getUTCMinutes()) + ':' + p(d.getUTCSeconds()) + ' UTC';
	},

	modelTitle(model) {
		switch (model) {
		case 'pi3': return _('Raspberry Pi 3');
		case 'pi4': return _('Raspberry Pi 4 / 400 / CM4');
		case 'pi5': return _('Raspberry Pi 5 / 500 / CM5');
		default: return model ? str(model) : _('unknown model');
		}
	},

	stageTitle(stage) {
		switch (stage) {
		case 'dhcp': return _('DHCP');
		case 'firmware': return _('Firmware');
		case 'kernel': return _('Kernel');
		case 'nfs': return _('NFS root');
		case 'up': return _('Up');
		case 'running': return _('Running');
		case 'degraded': return _('Degraded');
		case 'emergency': return _('Emergency mode');
		default: return _('Not booted');
		}
	},

	/* ---- overview ---- */

	/* Storage, dnsmasq and NFS health as three rows. */
	healthRows(status) {
		const s = status || {};
		return [
			[ 'storage', _('Storage') ],
			[ 'dnsmasq', _('DHCP/TFTP (dnsmasq)') ],
			[ 'nfs', _('NFS server') ]
		].map(p => {
			const h = s[p[0]] || {};
			return {
				key: p[0],
				title: p[1],
				ok: h.ok === true,
				look: (h.ok === true) ? 'ok' : 'problem',
				state: (h.ok === true) ? _('OK') : _('Problem'),
				message: str(h.message)
			};
		});
	},

	/*
	 * The boot timeline DHCP → firmware → kernel → NFS root → up → running. Stages up to
	 * boot.stage are done; with boot.error the next one failed; a boot that ended degraded
	 * or in emergency mode is up with its last step failed; the rest are pending.
	 */
	timeline(boot) {
		const b = boot || {}, byStage = {};
		const reached = ENDED_BADLY.includes(b.stage) ? STAGES.indexOf('up') : STAGES.indexOf(b.stage);
		(Array.isArray(b.stages) ? b.stages : []).forEach(s => {
			if (s && byStage[s.stage] == null)
				byStage[s.stage] = s;
		});
		return STAGES.map(stageStep(this, reached, b, byStage));
	},

	/* The boot state of a node as one word and a badge (level: ok, active, pending, problem). */
	bootState(node) {
		const b = node.boot || {};
		if (node.enabled === false)
			return { state: 'disabled', look: 'pending', text: _('Disabled') };
		if (b.error)
			return { state: 'failed', look: 'problem', text: _('Boot failed') };
		if (b.stalled)
			return { state: 'stalled', look: 'problem', text: fmt(_('Stalled: %s'), this.stageTitle(b.stage)) };
		if (b.stage == 'emergency')
			return { state: 'failed', look: 'problem', text: _('Emergency mode') };
		if (b.stage == 'degraded')
			return { state: 'degraded', look: 'problem', text: _('Degraded') };
		if (b.stage == 'running')
			return { state: 'running', look: 'ok', text: _('Running') };
		if (b.stage == 'up')
			return { state: 'up', look: 'ok', text: _('Up') };
		if (!b.stage || b.stage == 'none')
			return { state: 'none', look: 'pending', text: _('Never booted') };
		return { state: 'booting', look: 'active', text: fmt(_('Booting: %s'), this.stageTitle(b.stage)) };
	},

	/* contract 3: the node's container volume, or '' without one */
	volumeText(v) {
		if (!v || typeof(v) != 'object' || !(v.size > 0))
			return '';
		return (v.used != null)
			? fmt(_('%s of %s used, at %s'), this.formatSize(v.used), this.formatSize(v.size), str(v.mount))
			: fmt(_('%s at %s'), this.formatSize(v.size), str(v.mount));
	},

	/*
	 * Nodes running, up, booting, degraded, failed, stalled and never booted, each once.
	 * The status reply's summary (docs/api.md) counts every node; a backend without it is
	 * counted from its node list.
	 */
	summary(status) {
		const s = (status && status.summary) || null;
		if (s && typeof(s) == 'object') {
			/* docs/api.md: `up` counts the running ones again; here each node counts once */
			const running = Math.min(+s.running || 0, +s.up || 0);
			return { total: +s.total || 0, running: running, up: (+s.up || 0) - running, degraded: +s.degraded || 0,
				booting: +s.booting || 0, failed: +s.failed || 0, stalled: +s.stalled || 0, none: +s.none || 0 };
		}
		const n = { total: 0, running: 0, up: 0, degraded: 0, booting: 0, failed: 0, stalled: 0, none: 0 };
		(Array.isArray(status && status.nodes) ? status.nodes : []).forEach(node => {
			let st = this.bootState(node).state;
			n.total++;
			if (st == 'disabled')
				st = 'none';
			n[st]++;
		});
		return n;
	},

	/* The summary as labels in the order a person reads a cluster: what works, what moves, what is wrong. */
	summaryParts(n) {
		return SUMMARY_PARTS.filter(p => n[p[0]] > 0).map(p => ({
			key: p[0],
			look: p[1],
			count: n[p[0]],
			text: fmt(this.stateWord(p[0]), n[p[0]])
		}));
	},

	/* "%d running", … for one state of summaryParts() and the filter's choices */
	stateWord(state) {
		switch (state) {
		case 'running': return _('%d running');
		case 'up': return _('%d up, not reporting');
		case 'booting': return _('%d booting');
		case 'degraded': return _('%d degraded');
		case 'failed': return _('%d failed');
		case 'stalled': return _('%d stalled');
		case 'disabled': return _('%d disabled');
		default: return _('%d not booted');
		}
	},

	/* Discovered Pis, newest first, each with the node form prefilled. */
	discoveredRows(list, nodes, now) {
		const taken = (nodes || []).map(n => n.name);
		return (Array.isArray(list) ? list.slice() : [])
			.sort((a, b) => (b.last_seen || 0) - (a.last_seen || 0))
			.map(pi => {
				const name = this.suggestName(pi, taken);
				taken.push(name);
				return {
					mac: str(pi.mac).toLowerCase(),
					serial: str(pi.serial).toLowerCase(),
					model: pi.model ? this.modelTitle(pi.model) : _('unknown model'),
					ip: str(pi.ip),
					lastSeen: this.formatAge(pi.last_seen, now),
					prefill: {
						name: name,
						serial: str(pi.serial).toLowerCase(),
						mac: str(pi.mac).toLowerCase(),
						model: (MODELS.indexOf(pi.model) > -1) ? pi.model : 'pi4',
						/* without a known serial the MAC names the boot directory */
						boot_id: pi.serial ? 'serial' : 'mac'
					}
				};
			});
	},

	/* ---- the node table (Overview) ---- */

	/* A text from rpinet with any command line it names replaced by what the page offers. */
	plainText(msg) {
		let t = str(msg);
		const m = IMPORTED_RE.exec(t);
		if (m) {
			t = fmt(_('Imported %s (%s): %s files, %s unpacked'), m[1], m[2] || _('unknown OS'),
				String((+m[3]) + (+m[4])), this.formatSize(+m[5] * 1048576));
			if (+m[6] > 0)
				t += fmt(_('; %d entries of the image were left out'), +m[6]);
			return t;
		}
		PLAIN_RULES.forEach(r => { t = t.replace(r[0], r[1]); });
		return t;
	},

	/* kernel start to multi-user by the node's own report (boot.report.times), in ms, or null */
	timeToRunning(boot) {
		const t = boot && boot.report && boot.report.times, ms = t ? +t.multi_user_ms : NaN;
		return (ms > 0) ? ms : null;
	},

	/* One row of the node table: what a person scans a cluster for. */
	nodeRow(node, now) {
		const b = node.boot || {}, st = this.bootState(node), ms = this.timeToRunning(b),
		    stage = (b.stage && b.stage != 'none') ? str(b.stage) : 'none';
		let reason = '';
		if (b.error)
			reason = str(b.error);
		else if (ENDED_BADLY.includes(b.stage))
			reason = problemsText(b) || this.stageTitle(b.stage);
		else if (b.stalled)
			reason = str(b.hint) || _('No progress for longer than a Pi ever takes at this stage.');
		else if (b.report_error)
			reason = str(b.report_error);
		return {
			name: str(node.name),
			hostname: str(node.hostname || this.hostname(node.name)),
			serial: str(node.serial),
			mac: str(node.mac),
			model: str(node.model),
			state: st.state,
			look: st.look,
			stateText: st.text,
			stage: stage,
			stageIndex: ENDED_BADLY.includes(stage) ? STAGES.length : STAGES.indexOf(stage),
			stageTitle: this.stageTitle(stage),
			reason: this.plainText(reason),
			/* rpinet's likely cause, besides the error itself */
			hint: (b.error && b.hint) ? this.plainText(b.hint) : '',
			image: str(node.image),
			address: str(b.ip || node.ip),
			reserved: str(node.ip),
			lastBoot: b.started ? this.formatAge(b.started, now) : _('never'),
			timeMs: ms,
			timeText: (ms != null) ? this.formatSeconds(ms / 1000) : '',
			kept: (node.kept && typeof(node.kept) == 'object') ? { image: str(node.kept.image) } : null,
			provisioned: node.provisioned === true,
			enabled: node.enabled !== false
		};
	},

	/*
	 * The Nodes grid's rows, for tableView: one per `config node` section (uci.sections order
	 * does not matter), its state, address and kept root from its status entry (`byName`:
	 * name → status node) and what the form edits — serial, MAC, image, reserved address,
	 * enabled — from the section, which may be newer than the last status.
	 */
	configRows(sections, byName, now) {
		return (Array.isArray(sections) ? sections : []).filter(s => s && s['.name']).map(s => {
			const name = s['.name'], st = (byName && byName[name]) || {},
			    own = { name: name, serial: s.serial, mac: s.mac, model: s.model, ip: s.ip, image: s.image,
				    boot_id: s.boot_id, enabled: s.enabled != '0' };
			return this.nodeRow(Object.assign({}, st, own, { hostname: st.hostname || this.hostname(name) }), now);
		});
	},

	SORT_KEYS: SORT_KEYS,

	/*
	 * The rows a table page shows: filtered by state, image ('-': none) and a text in the
	 * name, hostname, serial, MAC, address or image; sorted by one column (the name breaks
	 * ties; empty values last); one page of `size`.
	 */
	tableView(rows, q) {
		const query = q || {}, text = str(query.text).trim().toLowerCase(),
		    key = SORT_KEYS.includes(query.sort) ? query.sort : 'name', dir = query.desc ? -1 : 1,
		    size = (+query.size > 0) ? +query.size : 50;
		const list = (Array.isArray(rows) ? rows : []).filter(r =>
			(!query.state || r.state == query.state) &&
			(!query.image || (query.image == '-' ? !r.image : r.image == query.image)) &&
			(!text || [ r.name, r.hostname, r.serial, r.mac, r.address, r.reserved, r.image ].some(v => str(v).toLowerCase().includes(text))));
		const value = (r) => {
			switch (key) {
			case 'state': return STATE_ORDER[r.state];
			case 'stage': return (r.stageIndex >= 0) ? r.stageIndex : null;
			case 'image': return r.image || null;
			case 'address': return ipNumber(r.address);
			case 'time': return r.timeMs;
			default: return r.name;
			}
		};
		list.sort((a, b) => {
			const va = value(a), vb = value(b);
			if (va == null || vb == null)
				return (va == null) - (vb == null) || naturalCompare(a.name, b.name);
			const c = (typeof(va) == 'number') ? va - vb : naturalCompare(va, vb);
			return (c * dir) || naturalCompare(a.name, b.name);
		});
		const pages = Math.max(1, Math.ceil(list.length / size)),
		    page = Math.min(Math.max(0, Math.floor(+query.page || 0)), pages - 1);
		return {
			rows: list.slice(page * size, page * size + size),
			matched: list.length,
			total: Array.isArray(rows) ? rows.length : 0,
			page: page,
			pages: pages,
			from: list.length ? page * size + 1 : 0,
			to: Math.min(list.length, page * size + size)
		};
	},

	/* the state filter's choices with how many rows each has: { '': 'Every state', running: '3 running', … } */
	stateChoices(rows) {
		const n = {};
		(rows || []).forEach(r => { n[r.state] = (n[r.state] || 0) + 1; });
		const out = { '': _('Every state') };
		SUMMARY_PARTS.map(p => p[0]).concat([ 'disabled' ]).forEach(k => {
			if (n[k])
				out[k] = fmt(this.stateWord(k), n[k]);
		});
		return out;
	},

	/* the image filter's choices: every image a node runs, and the nodes without one */
	imageChoices(rows) {
		const images = {}, out = { '': _('Every image') };
		let none = 0;
		(rows || []).forEach(r => {
			if (r.image)
				images[r.image] = (images[r.image] || 0) + 1;
			else
				none++;
		});
		Object.keys(images).sort(naturalCompare).forEach(i => { out[i] = fmt('%s (%d)', i, images[i]); });
		if (none)
			out['-'] = fmt(_('Not provisioned (%d)'), none);
		return out;
	},

	/* The node's own report (boot.report, docs/api.md) as label/value lines for its details. */
	reportLines(report) {
		const r = (report && typeof(report) == 'object') ? report : null, out = [];
		if (!r)
			return out;
		const t = r.times || {}, ms = (v) => (+v > 0) ? this.formatSeconds(+v / 1000) : '';
		const list = (v) => (Array.isArray(v) ? v.map(str).filter(x => x).join(', ') : '');
		out.push([ _('systemd says'), fmt('%s (%s)', str(r.state), str(r.mode)) ]);
		if (r.kernel)
			out.push([ _('Kernel'), str(r.kernel) ]);
		const times = [ [ _('kernel'), t.kernel_ms ], [ _('initrd'), t.initrd_ms ], [ _('userspace'), t.userspace_ms ] ]
			.filter(p => ms(p[1])).map(p => fmt('%s %s', p[0], ms(p[1])));
		if (ms(t.multi_user_ms))
			out.push([ _('Time to running'), fmt(_('%s (%s)'), ms(t.multi_user_ms), times.join(', ')) ]);
		[ [ _('Failed units'), r.failed_units ], [ _('Ordering cycles'), r.ordering_cycles ],
			[ _('Failed start jobs'), r.failed_jobs ], [ _('Warnings'), r.warnings ] ].forEach(p => {
			if (list(p[1]))
				out.push([ p[0], list(p[1]) ]);
		});
		if (r.volume)
			out.push([ _('Container volume'), str(r.volume) ]);
		if (Array.isArray(r.runtimes) && r.runtimes.length)
			out.push([ _('Container runtimes'), r.runtimes.map(x => fmt('%s: %s, %s', str(x && x.name), str(x && x.active), str(x && x.enabled))).join('; ') ]);
		return out;
	},

	/* ---- jobs ---- */

	/*
	 * A job reply as a progress bar. `seen` (optional) is the first reply the page saw,
	 * { at, bytes }, and `at` the time of this one (seconds): with them the detail also
	 * gives the rate since then and, when the size is known, the time left — what
	 * `rpinet image import` prints on a terminal. A download whose server gave no size
	 * shows the bytes so far.
	 */
	jobView(job, seen, at) {
		const j = job || {};
		let p = Math.max(0, Math.min(100, Math.floor(+j.progress || 0)));
		let state = (j.state == 'done' || j.state == 'failed') ? j.state : 'running';
		if (j.error)
			state = 'failed';
		const done = +j.bytes_done || 0, total = +j.bytes_total || 0, parts = [],
		    nodes = Array.isArray(j.nodes) ? j.nodes.filter(n => n && n.name) : null;
		if (nodes && (j.kind == 'image_roll' || nodes.length)) {
			/* a roll's progress is its nodes: how many are up on the new image */
			const up = nodes.filter(n => n.state == 'up').length;
			p = nodes.length ? Math.floor(100 * up / nodes.length) : 0;
			if (nodes.length)
				parts.push(fmt(N_(nodes.length, '%d of %d node up', '%d of %d nodes up'), up, nodes.length));
		}
		else if (total > 0)
			parts.push(fmt(_('%s of %s'), this.formatSize(done), this.formatSize(total)));
		else if (done > 0)
			parts.push(fmt(_('%s so far'), this.formatSize(done)));
		if (state == 'running' && !nodes && seen && at > seen.at && done > seen.bytes) {
			const rate = (done - seen.bytes) / (at - seen.at);
			parts.push(fmt(_('%s/s'), this.formatSize(rate)));
			if (total > done)
				parts.push(fmt(_('%s left'), this.formatDuration((total - done) / rate)));
		}
		/* the bar ends in the job's state: full and green when done, full and red when failed */
		if (state != 'running')
			p = 100;
		return {
			state: state,
			finished: state != 'running',
			look: (state == 'done') ? 'ok' : (state == 'failed') ? 'problem' : 'active',
			percent: p,
			label: (state == 'failed') ? _('Failed') : (state == 'done') ? _('Done') : fmt('%d%%', p),
			message: this.plainText(j.error || j.message),
			/* what was done so far means nothing once a job failed: only why it failed is said */
			detail: (state == 'failed') ? '' : parts.join(' · ')
		};
	},

	/*
	 * The nodes of an image_roll job (docs/api.md `job`: nodes[] with state pending,
	 * provisioning, booting, up or failed, the furthest boot stage on the new image, the
	 * error, and a failed node's boot trace with rpinet's hint). Once the roll has ended,
	 * a node it left failed or still booting keeps its previous root: it can be rolled back.
	 */
	rollRows(job) {
		const j = job || {}, ended = this.jobView(j).finished;
		return (Array.isArray(j.nodes) ? j.nodes : []).filter(n => n && n.name).map(n => {
			const stage = STAGES.includes(n.stage) ? n.stage : 'none';
			let look = 'pending', text = _('Waiting');
			switch (n.state) {
			case 'provisioning': look = 'active'; text = _('Reimaging'); break;
			case 'booting': look = 'active'; text = (stage == 'none') ? _('Waiting for its boot') : fmt(_('Booting: %s'), this.stageTitle(stage)); break;
			case 'up': look = 'ok'; text = _('Up on the new image'); break;
			case 'failed': look = 'problem'; text = _('Did not come up'); break;
			}
			return {
				name: str(n.name),
				state: str(n.state) || 'pending',
				look: look,
				text: text,
				error: n.error ? this.plainText(n.error) : '',
				/* rpinet's likely cause and what to check, for a boot that failed */
				hint: (n.boot && n.boot.hint) ? this.plainText(n.boot.hint) : '',
				steps: (n.boot && typeof(n.boot) == 'object') ? this.timeline(n.boot) : null,
				canRollBack: ended && (n.state == 'failed' || n.state == 'booting')
			};
		});
	},

	/*
	 * What an image roll to `image` can pick, from the `config node` sections: every other
	 * image nodes run (with those nodes), for image_roll's `from`, and the provisioned
	 * nodes not on `image`, for its `nodes`.
	 */
	rollChoices(sections, image) {
		const byImage = {}, nodes = [];
		(Array.isArray(sections) ? sections : []).forEach(s => {
			const name = str(s && s['.name']), img = str(s && s.image);
			if (!name || !img || img == image)
				return;
			(byImage[img] = byImage[img] || []).push(name);
			nodes.push({ name: name, image: img });
		});
		return {
			from: Object.keys(byImage).sort().map(img => ({ image: img, nodes: byImage[img] })),
			nodes: nodes
		};
	},

	/* ---- images ---- */

	imageRows(images) {
		return (Array.isArray(images) ? images.slice() : [])
			.sort((a, b) => str(a.name) < str(b.name) ? -1 : 1)
			.map(img => {
				const used = Array.isArray(img.used_by) ? img.used_by : [];
				return {
					name: str(img.name),
					os: img.os ? str(img.os) : '',
					size: this.formatSize(img.size),
					created: this.formatTime(img.created),
					usedBy: used.join(', '),
					deletable: used.length == 0,
					deleteReason: used.length
						? fmt(_('In use by %s; reimage or remove those nodes first'), used.join(', ')) : ''
				};
			});
	},

	/*
	 * image_catalog entries (docs/api.md), newest first: what the list says of each image,
	 * the name it gets here (as rpinet names a download) and whether that name is taken.
	 */
	catalogRows(catalog, images) {
		const taken = (Array.isArray(images) ? images : []).map(i => str(i && i.name));
		return (Array.isArray(catalog && catalog.images) ? catalog.images : [])
			.filter(i => i && this.validateUrl(i.url) === true)
			.map(i => {
				const imageName = this.imageNameFromPath(i.url);
				return {
					name: str(i.name) || imageName,
					description: str(i.description),
					date: str(i.release_date),
					url: str(i.url),
					sha256: SHA256_RE.test(str(i.sha256)) ? str(i.sha256).toLowerCase() : '',
					size: (+i.size > 0) ? this.formatSize(i.size) : '',
					unpacked: (+i.extract_size > 0) ? this.formatSize(i.extract_size) : '',
					imageName: imageName,
					imported: taken.includes(imageName)
				};
			})
			.sort((a, b) => (a.date < b.date) ? 1 : (a.date > b.date) ? -1 : 0);
	},

	/* When the router fetched the catalog, or '' while its first fetch runs. */
	catalogAge(catalog, now) {
		const t = +(catalog && catalog.fetched) || 0;
		return t ? this.formatAge(t, now) : '';
	},

	/* A default image name from the file name: bookworm-lite.img.xz → bookworm-lite. */
	imageNameFromPath(path) {
		const base = str(path).replace(/[?#].*$/, '').replace(/^.*\//, '').replace(/\.(xz|gz)$/, '').replace(/\.img$/, '')
			.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '');
		return base.slice(0, 64);
	},

	/* ---- settings ---- */

	/* `ubus call block info` devices as choices for storage_uuid: what people recognise first. */
	blockChoices(devices) {
		return (Array.isArray(devices) ? devices : [])
			.filter(d => d && d.uuid && d.type != 'swap')
			.map(d => {
				const parts = [ str(d.device).replace(/^\/dev\//, '') ], more = [];
				if (d.label)
					parts.push('"' + str(d.label) + '"');
				if (d.size)
					parts.push(this.formatSize(d.size));
				if (d.type)
					more.push(str(d.type));
				more.push(d.mount ? fmt(_('mounted at %s'), d.mount) : _('not mounted'));
				more.push('UUID ' + str(d.uuid));
				/* the select shows the short label; the details go below it */
				return { value: str(d.uuid), label: parts.join(' '), detail: parts.join(' ') + ': ' + more.join(', ') };
			});
	},

	/*
	 * The EEPROM settings a node needs, ready for `rpi-eeprom-config --edit`.
	 * ctx: { dhcp_mode, server_ip }. A Pi 3 has no EEPROM (OTP bit; serial directory only).
	 */
	eeprom(node, ctx) {
		const c = ctx || {}, lines = [], notes = [], bootId = node.boot_id || 'serial';

		if ((node.model || 'pi4') == 'pi3') {
			notes.push(_('A Pi 3 has no EEPROM. A Pi 3B+ boots from the network out of the box; a Pi 3B needs its OTP bit set once: add program_usb_boot_mode=1 to config.txt on an SD card and boot it; then vcgencmd otp_dump | grep 17: prints 17:3020000a.'));
			if (bootId != 'serial')
				notes.push(_('A Pi 3 always asks for its serial number directory: set its boot directory to serial.'));
			return { applicable: false, text: '', notes: notes };
		}

		/* the same as `rpinet node show`: SD card first, network as fallback */
		lines.push(_('# SD card first, then the network, then start over; 0xf12 tries the network first'));
		lines.push('BOOT_ORDER=0xf21');
		switch (bootId) {
		case 'mac':
			lines.push('TFTP_PREFIX=2');
			break;
		case 'custom':
			lines.push('TFTP_PREFIX=1');
			lines.push('TFTP_PREFIX_STR=' + str(node.boot_dir) + '/');
			break;
		default:
			lines.push('TFTP_PREFIX=0');
		}
		if (c.dhcp_mode == 'proxy') {
			if (c.server_ip)
				lines.push('TFTP_IP=' + str(c.server_ip));
			else
				notes.push(_('Proxy DHCP: set TFTP_IP to the router address once the Settings page knows it.'));
		}
		return { applicable: true, text: lines.join('\n') + '\n', notes: notes };
	},

	/*
	 * The EEPROM settings of many nodes, one entry per distinct setting with the nodes that
	 * need it (most of a cluster shares one): [{ key, text, notes, applicable, nodes: [names] }].
	 */
	eepromGroups(sections, ctx) {
		const groups = [], byKey = {};
		(Array.isArray(sections) ? sections : []).forEach(s => {
			const node = { name: str(s['.name']), model: s.model || 'pi4', boot_id: s.boot_id || 'serial', boot_dir: s.boot_dir || '' },
			    ee = this.eeprom(node, ctx), key = ee.applicable ? ee.text : 'pi3:' + ee.notes.join('|');
			if (!byKey[key]) {
				byKey[key] = { key: key, text: ee.text, notes: ee.notes, applicable: ee.applicable, nodes: [] };
				groups.push(byKey[key]);
			}
			byKey[key].nodes.push(node.name);
		});
		return groups;
	},

	/* a list of names, the first `max` and how many more */
	nameList(names, max) {
		const n = Array.isArray(names) ? names : [], m = max || 8;
		return (n.length <= m) ? n.join(', ') : fmt(_('%s and %d more'), n.slice(0, m).join(', '), n.length - m);
	},

	/* How to read the serial (and the MAC) on the Pi itself: text, then a command or ''. */
	serialHelp() {
		return [
			{ text: _('On the Pi, this prints the 8 hex digits of the serial:'),
			  code: 'grep Serial /proc/cpuinfo | cut -d " " -f 2 | cut -c 9-16' },
			{ text: _('Without an OS, the bootloader screen on HDMI shows them after the board revision: board: <revision> <serial> <MAC>.'),
			  code: '' },
			{ text: _('The MAC address is on the eth0 line of this command, or on the box; upper case is fine:'),
			  code: 'ip link show eth0' }
		];
	},

	/* ---- diagnostics ---- */

	/*
	 * What the page offers for a finding: words a person can follow in LuCI (never a command
	 * to type), and the button when rpinet can do it itself — apply, provision or roll back
	 * a node, enable a node, or set an option; `link` sends to the LuCI page where it is done.
	 * `image` is the image the finding's node is built from ('' for one never provisioned).
	 */
	doctorFix(f, image, ctx) {
		const code = str(f && f.code), node = str(f && f.node),
		    link = (path, label, text) => ({ text: text, action: { kind: 'link', path: path, label: label } }),
		    /* rpinet's words for what the NFS server must allow (they name its export options, no command) */
		    onServer = () => fmt(_('On the NFS server: %s.'), this.plainText(f && f.fix));
		switch (code) {
		case 'storage_absent':
			/* on an NFS server rpinet's apply mounts the export, or says in one line why not */
			if (ctx && ctx.server)
				return { text: _('Apply mounts the NFS export at the storage path, or says why it cannot. Settings → Storage shows what the server must export.'), action: { kind: 'apply' } };
			/* falls through: an SSD is connected and mounted by hand */
		case 'storage_wrong_uuid':
		case 'storage_not_configured':
			return link('admin/services/rpinet/settings', _('Settings'),
				_('Connect the SSD and mount it (System → Mount Points), or choose the right one under Settings → Storage.'));
		case 'storage_wrong_export':
			return link('admin/system/mounts', _('Mount Points'),
				_('Something else is mounted at the storage path: unmount it under System → Mount Points, then Apply (on this page) mounts the NFS export.'));
		case 'nfs_client_missing':
			return link('admin/system/package-manager', _('Software'),
				_('The router has no NFS client: install kmod-fs-nfs and kmod-fs-nfs-v3 under System → Software.'));
		case 'server_not_writable':
		case 'server_root_squash':
		case 'server_no_devices':
		case 'server_rename_open':
			return link('admin/services/rpinet/settings', _('Settings'), fmt(_('%s Settings → Storage shows what it must export.'), onServer()));
		case 'server_no_hard_links':
		case 'server_no_symlinks':
			return { text: onServer(), action: null };
		case 'dnsmasq_not_running':
		case 'rpinet_conf_stale':
			return link('admin/system/startup', _('Startup'),
				_('Restart dnsmasq under System → Startup; System → System Log says why it stopped.'));
		case 'rpinet_conf_not_loaded':
		case 'dnsmasq_jail_no_ssd':
		case 'export_missing':
		case 'export_not_active':
		case 'nfsd_threads':
			return { text: _('Apply writes rpinet\'s dnsmasq and NFS settings again and reloads what needs it.'), action: { kind: 'apply' } };
		case 'nfsd_not_running':
			return link('admin/system/startup', _('Startup'),
				_('Install nfs-kernel-server (System → Software) and start nfsd under System → Startup.'));
		case 'nfsd_no_v3':
			return link('admin/system/package-manager', _('Software'),
				_('Raspberry Pi OS mounts its root with NFSv3 only: replace nfs-kernel-server-v4 by nfs-kernel-server under System → Software, then restart nfsd.'));
		case 'boot_dir_missing':
		case 'boot_files_missing':
		case 'boot_files_in_nfs':
		case 'boot_file_not_found':
		case 'cmdline_firstboot':
		case 'cmdline_nfs_v4':
		case 'cmdline_no_nfsroot':
		case 'cmdline_wrong_path':
		case 'cmdline_wrong_server':
		case 'fstab_partuuid':
		case 'tftp_unreadable':
		case 'report_invalid':
			if (node && image === '')
				return { text: _('Provision the node from an image: that builds its boot directory and root.'),
					action: { kind: 'provision', node: node, first: true } };
			return { text: _('Provision the node again from its image: that rebuilds its boot directory and root (its identity and volume are kept).'),
				action: node ? { kind: 'provision', node: node } : null };
		case 'runtime_without_volume':
			return { text: _('Provision the node again with a container volume (e.g. 32G): containers cannot keep their data on an NFS root.'),
				action: node ? { kind: 'provision', node: node } : null };
		case 'node_degraded':
		case 'node_emergency':
			return { text: _('The node\'s own report says what failed (Details). Fix it on the node and reboot it, reimage it, or roll it back when a root is kept.'),
				action: node ? { kind: 'details', node: node } : null };
		case 'disabled_node_booting':
			return { text: _('Enable the node, or power its Pi off.'), action: node ? { kind: 'enable_node', node: node } : null };
		case 'export_subnet':
			return { text: _('Export each node\'s files to that node\'s own address only.'),
				action: { kind: 'set', option: 'export_subnet', value: '0', label: _('Export to each node only') } };
		case 'exported_to_subnet':
			return link('admin/services/rpinet/nodes', _('Nodes'),
				_('Reserve an address for the Pi on your DHCP server and enter it as the node\'s IPv4 address (Nodes → Edit).'));
		case 'unknown_pi':
			return link('admin/services/rpinet/overview', _('Overview'), _('Add it as a node under Discovered Pis on the Overview.'));
		case 'duplicate_serial':
		case 'serial':
			return link('admin/services/rpinet/nodes', _('Nodes'), _('Two nodes name the same board: correct or remove the stale one under Nodes.'));
		case 'config_invalid':
			return link('admin/services/rpinet/settings', _('Settings'), _('Correct the option the message names under Settings or Nodes.'));
		case 'server_ip_not_on_interface':
		case 'boot_network_unknown':
			return link('admin/services/rpinet/settings', _('Settings'), _('Correct the interface or the server address under Settings → Boot network.'));
		case 'orphan_dir':
		case 'leftover':
			return { text: _('Nothing uses it; it can be deleted from the storage. rpinet leaves it alone.'), action: null };
		}
		/* a finding this page does not know yet: rpinet's own words, unless they name a command */
		const words = this.plainText(f && f.fix);
		return { text: /`|\buci |\brpinet [a-z]|\/etc\/init\.d|--[a-z]/.test(words)
			? _('This page cannot fix it; the finding says what is wrong.') : words, action: null };
	},

	/* the findings as rows, errors first; imageOf(node) the image a node is built from, if known; ctx.server: storage on an NFS server */
	findingRows(findings, imageOf, ctx) {
		return (Array.isArray(findings) ? findings.slice() : [])
			.map((f, i) => [ f || {}, i ])
			.sort((a, b) => {
				let la = LEVEL_ORDER[a[0].level], lb = LEVEL_ORDER[b[0].level];
				la = (la == null) ? 3 : la;
				lb = (lb == null) ? 3 : lb;
				return (la - lb) || (a[1] - b[1]);
			})
			.map(p => {
				const f = p[0], level = (LEVEL_ORDER[f.level] != null) ? f.level : 'info';
				return {
					level: level,
					levelTitle: (level == 'error') ? _('Error') : (level == 'warning') ? _('Warning') : _('Info'),
					look: (level == 'error') ? 'problem' : (level == 'warning') ? 'active' : 'pending',
					code: str(f.code),
					scope: f.node ? fmt(_('Node %s'), f.node) : _('Router'),
					node: str(f.node),
					message: this.plainText(f.message),
					fix: this.doctorFix(f, (imageOf && f.node) ? str(imageOf(str(f.node))) : undefined, ctx)
				};
			});
	},

	findingSummary(findings) {
		const n = { error: 0, warning: 0, info: 0 };
		(Array.isArray(findings) ? findings : []).forEach(f => {
			if (f && n[f.level] != null)
				n[f.level]++;
		});
		if (!n.error && !n.warning)
			return { level: 'success', text: _('No problems found') };
		return {
			level: n.error ? 'error' : 'warning',
			text: [
				n.error ? fmt(N_(n.error, '%d error', '%d errors'), n.error) : '',
				n.warning ? fmt(N_(n.warning, '%d warning', '%d warnings'), n.warning) : ''
			].filter(x => x).join(', ')
		};
	}
});
