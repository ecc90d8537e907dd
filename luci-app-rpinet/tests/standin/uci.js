'use strict';
'require baseclass';
'require rpc';

/*
 * STAND-IN for LuCI's uci.js (luci-base), written for the luci-app-rpinet browser tests,
 * not LuCI's code. It keeps LuCI's model: load() fetches whole configs with
 * `uci get {config}`; add/set/unset/remove only stage changes in the page; save() sends
 * them to rpcd (`uci add` with name and values, `uci set`, `uci delete`), which holds
 * them in the session until apply() (`uci apply`) commits them; then the configs reload.
 */

var callGet = rpc.declare({ object: 'uci', method: 'get', params: [ 'config' ], expect: { values: {} } }),
    callAdd = rpc.declare({ object: 'uci', method: 'add', params: [ 'config', 'type', 'name', 'values' ], expect: { section: '' } }),
    callSet = rpc.declare({ object: 'uci', method: 'set', params: [ 'config', 'section', 'values' ] }),
    callDelete = rpc.declare({ object: 'uci', method: 'delete', params: [ 'config', 'section', 'options' ] }),
    callApply = rpc.declare({ object: 'uci', method: 'apply', params: [ 'timeout', 'rollback' ], reject: false });

return baseclass.extend({
	__init__: function() {
		this.state = { values: {}, creates: {}, changes: {}, deletes: {} };
		this.loaded = {};
	},

	load: function(packages) {
		var self = this;
		packages = Array.isArray(packages) ? packages : [ packages ];
		return Promise.all(packages.map(function(conf) {
			return callGet(conf).then(function(values) {
				self.state.values[conf] = values;
				self.loaded[conf] = true;
				return conf;
			});
		}));
	},

	unload: function(packages) {
		(Array.isArray(packages) ? packages : [ packages ]).forEach(function(conf) {
			delete this.state.values[conf];
			delete this.state.creates[conf];
			delete this.state.changes[conf];
			delete this.state.deletes[conf];
			delete this.loaded[conf];
		}, this);
	},

	/* the section as the page sees it: loaded values + staged changes */
	merged: function(conf, sid) {
		var v = this.state.values[conf] || {}, c = this.state.creates[conf] || {},
		    ch = (this.state.changes[conf] || {})[sid], del = (this.state.deletes[conf] || {})[sid],
		    base = c[sid] || v[sid];
		if (!base || del === true)
			return null;
		var s = Object.assign({}, base, ch || {});
		if (Array.isArray(del))
			del.forEach(function(o) { delete s[o]; });
		for (var k in s)
			if (s[k] === null)
				delete s[k];
		return s;
	},

	sections: function(conf, type, cb) {
		var ids = {}, self = this, rv;
		Object.keys(this.state.values[conf] || {}).forEach(function(k) { ids[k] = true; });
		Object.keys(this.state.creates[conf] || {}).forEach(function(k) { ids[k] = true; });
		rv = Object.keys(ids).map(function(sid) { return self.merged(conf, sid); })
			.filter(function(s) { return s && (type == null || s['.type'] == type); })
			.sort(function(a, b) { return a['.index'] - b['.index']; });
		if (typeof(cb) == 'function')
			rv.forEach(function(s) { cb.call(self, s, s['.name']); });
		return rv;
	},

	get: function(conf, sid, opt) {
		var s = (sid != null) ? this.merged(conf, sid) : null;
		if (s == null)
			return null;
		if (opt == null)
			return s;
		return (s[opt] != null) ? s[opt] : null;
	},

	get_first: function(conf, type, opt) {
		var s = this.sections(conf, type)[0];
		return s ? this.get(conf, s['.name'], opt) : null;
	},

	set: function(conf, sid, opt, val) {
		if (sid == null || opt == null || opt.charAt(0) == '.')
			return;
		var c = this.state.creates[conf];
		if (c && c[sid]) {
			if (val == null)
				delete c[sid][opt];
			else
				c[sid][opt] = val;
			return;
		}
		if (val == null || val === '') {
			if (this.get(conf, sid, opt) == null)
				return;
			var d = this.state.deletes[conf] = this.state.deletes[conf] || {};
			if (d[sid] !== true) {
				d[sid] = d[sid] || [];
				if (d[sid].indexOf(opt) == -1)
					d[sid].push(opt);
			}
			var ch0 = (this.state.changes[conf] || {})[sid];
			if (ch0)
				delete ch0[opt];
			return;
		}
		var ch = this.state.changes[conf] = this.state.changes[conf] || {};
		ch[sid] = ch[sid] || {};
		ch[sid][opt] = val;
		var del = (this.state.deletes[conf] || {})[sid];
		if (Array.isArray(del) && del.indexOf(opt) > -1)
			del.splice(del.indexOf(opt), 1);
	},

	unset: function(conf, sid, opt) {
		return this.set(conf, sid, opt, null);
	},

	add: function(conf, type, name) {
		var c = this.state.creates[conf] = this.state.creates[conf] || {},
		    all = this.sections(conf),
		    sid = name || ('new' + Math.random().toString(16).slice(2, 8));
		c[sid] = { '.type': type, '.name': sid, '.anonymous': !name, '.index': 1000 + all.length };
		return sid;
	},

	remove: function(conf, sid) {
		var c = this.state.creates[conf];
		if (c && c[sid]) {
			delete c[sid];
			return;
		}
		var d = this.state.deletes[conf] = this.state.deletes[conf] || {};
		d[sid] = true;
	},

	changes: function() {
		return this.state;
	},

	save: function() {
		var self = this, tasks = [], st = this.state, reload = {};

		Object.keys(st.creates).forEach(function(conf) {
			Object.keys(st.creates[conf]).forEach(function(sid) {
				var s = st.creates[conf][sid], values = {};
				for (var k in s)
					if (k.charAt(0) != '.')
						values[k] = s[k];
				tasks.push(callAdd(conf, s['.type'], s['.anonymous'] ? null : sid, values));
				reload[conf] = true;
			});
		});
		Object.keys(st.changes).forEach(function(conf) {
			Object.keys(st.changes[conf]).forEach(function(sid) {
				if (Object.keys(st.changes[conf][sid]).length)
					tasks.push(callSet(conf, sid, st.changes[conf][sid]));
				reload[conf] = true;
			});
		});
		Object.keys(st.deletes).forEach(function(conf) {
			Object.keys(st.deletes[conf]).forEach(function(sid) {
				var d = st.deletes[conf][sid];
				if (d === true)
					tasks.push(callDelete(conf, sid, null));
				else if (d.length)
					tasks.push(callDelete(conf, sid, d));
				reload[conf] = true;
			});
		});

		return Promise.all(tasks).then(function() {
			self.state.creates = {};
			self.state.changes = {};
			self.state.deletes = {};
			return self.load(Object.keys(reload));
		});
	},

	apply: function(timeout) {
		return callApply(timeout || 10, false).then(function(status) {
			return (status === 0 || (status && status.error == null)) ? 0 : Promise.reject(status);
		});
	}
});
