/*
 * STAND-IN for LuCI's luci.js, written for the luci-app-rpinet browser tests. It is not
 * LuCI's code: it re-implements, after reading modules/luci-base/htdocs/luci-static/
 * resources/luci.js, only what the rpinet views rely on, with the same names and behaviour:
 *
 *  - L.require('a.b'): GET <base>/a/b.js, take the leading 'require x [as y]' directives,
 *    load those first, evaluate the source as function(window, document, L, deps...), and
 *    instantiate the class it returns (a view's constructor loads and renders it);
 *  - the built-in classes baseclass, view, dom, poll, request;
 *  - E(), _(), N_(), String.prototype.format (%s %d %f %h %q %%, widths/precision), L.bind,
 *    L.isObject, L.toArray, L.url, L.resource, L.raise, L.error;
 *  - view: __init__ → load() → render() → #view, then the Save & Apply / Save / Reset
 *    footer when the page has a .cbi-map and the handlers are functions.
 */
(function(window, document) {
	'use strict';

	/* ---- classes ---- */

	var superContext = null;

	function extend(props) {
		var Parent = this;
		var C = function() {
			if (!(this instanceof C))
				throw new TypeError('Constructor must not be called without "new"');
			if (typeof(this.__init__) == 'function')
				this.__result__ = this.__init__.apply(this, arguments);
		};
		C.prototype = Object.create(Parent.prototype);
		Object.keys(props).forEach(function(k) {
			Object.defineProperty(C.prototype, k, { value: props[k], writable: true, configurable: true, enumerable: true });
		});
		Object.defineProperty(C.prototype, 'constructor', { value: C, writable: true, configurable: true });
		C.__name__ = props.__name__ || 'anonymous';
		C.extend = extend;
		C.singleton = singleton;
		C.instantiate = instantiate;
		C.isSubclass = isSubclass;
		return C;
	}

	function singleton(props) {
		return instantiate.call(this.extend(props), Array.prototype.slice.call(arguments, 1));
	}

	function instantiate(args) {
		var C = this, o = Object.create(C.prototype);
		C.apply(o, args || []);
		return o;
	}

	function isSubclass(cls) {
		return (cls != null && typeof(cls) == 'function' && cls.prototype instanceof this);
	}

	var Class = function() {};
	Class.extend = extend;
	Class.singleton = singleton;
	Class.instantiate = instantiate;
	Class.isSubclass = isSubclass;
	Class.prototype = {
		varargs: function(args, offset) {
			return Array.prototype.slice.call(arguments, 2).concat(Array.prototype.slice.call(args, offset));
		},
		/* this.super('method', [args]) calls the next implementation up the chain */
		super: function(key, callArgs) {
			for (superContext = Object.getPrototypeOf(superContext || Object.getPrototypeOf(this));
			     superContext && !Object.prototype.hasOwnProperty.call(superContext, key);
			     superContext = Object.getPrototypeOf(superContext)) { /* walk up */ }
			if (!superContext)
				return null;
			var res = superContext[key];
			if (arguments.length > 1) {
				if (typeof(callArgs) != 'object')
					callArgs = this.varargs(arguments, 1);
				try {
					res = res.apply(this, callArgs);
				}
				finally {
					superContext = null;
				}
			}
			superContext = null;
			return res;
		}
	};

	/* ---- String.prototype.format (LuCI's conversions the views use) ---- */

	var htmlEsc = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', '\'': '&#39;' };

	String.prototype.format = function() {
		var args = arguments, i = 0;
		return this.replace(/%(-?)(0?)(\d*)(?:\.(\d+))?([sdfhq%])/g, function(m, left, zero, width, prec, conv) {
			if (conv == '%')
				return '%';
			var v = args[i++], s;
			switch (conv) {
			case 'd': s = String(Math.floor(+v || 0)); break;
			case 'f': s = (+v || 0).toFixed(prec ? +prec : 6); break;
			case 'h': s = String(v == null ? '' : v).replace(/[&<>"']/g, function(c) { return htmlEsc[c]; }); break;
			case 'q': s = String(v == null ? '' : v).replace(/[&<>"']/g, function(c) { return htmlEsc[c]; }); break;
			default: s = String(v == null ? '' : v);
			}
			if (width && s.length < +width) {
				var pad = Array(+width - s.length + 1).join(zero ? '0' : ' ');
				s = left ? s + pad : pad + s;
			}
			return s;
		});
	};

	/* ---- DOM helpers (L.dom) ---- */

	var DOM = Class.singleton({
		__name__: 'LuCI.dom',
		registry: {},

		elem: function(e) {
			return (e != null && typeof(e) == 'object' && 'nodeType' in e);
		},

		parse: function(s) {
			var d = document.createElement('div');
			d.innerHTML = s;
			return d.firstChild;
		},

		/*
		 * As LuCI's dom.append: array members that are not nodes become text with '' + value
		 * (a nested array prints as "a,[object HTMLElement]", null as "null"); a lone string
		 * child is set as innerHTML, so markup in it is parsed.
		 */
		append: function(node, children) {
			if (!this.elem(node))
				return null;
			if (Array.isArray(children)) {
				for (var i = 0; i < children.length; i++)
					if (this.elem(children[i]))
						node.appendChild(children[i]);
					else if (children !== null && children !== undefined)
						node.appendChild(document.createTextNode('' + children[i]));
				return node.lastChild;
			}
			else if (typeof(children) === 'function') {
				return this.append(node, children(node));
			}
			else if (this.elem(children)) {
				return node.appendChild(children);
			}
			else if (children !== null && children !== undefined) {
				node.innerHTML = '' + children;
				return node.lastChild;
			}
			return null;
		},

		content: function(node, children) {
			if (!this.elem(node))
				return null;
			while (node.firstChild)
				node.removeChild(node.firstChild);
			return this.append(node, children);
		},

		attr: function(node, key, val) {
			if (!this.elem(node))
				return;
			var attr = null;
			if (typeof(key) === 'object' && key !== null)
				attr = key;
			else if (typeof(key) === 'string')
				attr = {}, attr[key] = val;
			for (key in attr) {
				if (!Object.prototype.hasOwnProperty.call(attr, key) || attr[key] == null)
					continue;
				switch (typeof(attr[key])) {
				case 'function':
					node.addEventListener(key, attr[key]);
					break;
				case 'object':
					node.setAttribute(key, JSON.stringify(attr[key]));
					break;
				default:
					node.setAttribute(key, attr[key]);
				}
			}
		},

		create: function(html, attr, data) {
			var elem;
			/* as LuCI: a node given in place of the attributes is read as attributes */
			if (!(attr instanceof Object) || Array.isArray(attr))
				data = attr, attr = null;
			if (Array.isArray(html)) {
				elem = document.createDocumentFragment();
				for (var i = 0; i < html.length; i++)
					elem.appendChild(this.create(html[i]));
			}
			else if (this.elem(html)) {
				elem = html;
			}
			else if (html.charCodeAt(0) === 60) {
				elem = this.parse(html);
			}
			else {
				elem = document.createElement(html);
			}
			if (!elem)
				return null;
			this.attr(elem, attr);
			this.append(elem, data);
			return elem;
		},

		data: function(node, key, val) {
			var id = node.getAttribute('data-idref');
			if (arguments.length > 2 && key != null && val != null) {
				if (id == null) {
					do { id = Math.floor(Math.random() * 0xffffffff).toString(16); }
					while (Object.prototype.hasOwnProperty.call(this.registry, id));
					node.setAttribute('data-idref', id);
					this.registry[id] = {};
				}
				return (this.registry[id][key] = val);
			}
			if (arguments.length == 2)
				return (id != null && this.registry[id]) ? this.registry[id][key] : null;
			return (id != null) ? this.registry[id] : null;
		},

		bindClassInstance: function(node, inst) {
			return this.data(node, '_class', inst);
		},

		findClassInstance: function(node) {
			var inst = null;
			do {
				inst = this.data(node, '_class');
				node = node.parentNode;
			}
			while (!(inst instanceof Class) && node != null && node.getAttribute);
			return (inst instanceof Class) ? inst : null;
		},

		callClassMethod: function(node, method) {
			var inst = this.findClassInstance(node);
			if (inst == null || typeof(inst[method]) != 'function')
				return null;
			return inst[method].apply(inst, Array.prototype.slice.call(arguments, 2));
		},

		parent: function(node, selector) {
			return (this.elem(node) && node.closest) ? node.closest(selector) : null;
		},

		matches: function(node, selector) {
			return this.elem(node) ? node.matches(selector) : false;
		},

		isEmpty: function(node) {
			return !node || !node.firstElementChild;
		}
	});

	/* ---- poll ---- */

	var Poll = Class.singleton({
		__name__: 'LuCI.poll',
		queue: [],

		add: function(fn, interval) {
			if (interval == null || interval <= 0)
				interval = (window.L && window.L.env.pollinterval) || 5;
			if (isNaN(interval) || typeof(fn) != 'function')
				throw new TypeError('Invalid argument to LuCI.poll.add()');
			for (var i = 0; i < this.queue.length; i++)
				if (this.queue[i].fn === fn)
					return false;
			this.queue.push({ r: true, i: interval >>> 0, fn: fn });
			if (this.tick != null && !this.active())
				this.start();
			return true;
		},

		remove: function(fn) {
			if (typeof(fn) != 'function')
				throw new TypeError('Invalid argument to LuCI.poll.remove()');
			var len = this.queue.length;
			for (var i = len; i > 0; i--)
				if (this.queue[i - 1].fn === fn)
					this.queue.splice(i - 1, 1);
			if (!this.queue.length && this.stop())
				this.tick = 0;
			return (this.queue.length != len);
		},

		start: function() {
			if (this.active())
				return false;
			this.tick = 0;
			if (this.queue.length) {
				this.timer = window.setInterval(this.step, 1000);
				this.step();
				document.dispatchEvent(new CustomEvent('poll-start'));
			}
			return true;
		},

		stop: function() {
			if (!this.active())
				return false;
			document.dispatchEvent(new CustomEvent('poll-stop'));
			window.clearInterval(this.timer);
			delete this.timer;
			delete this.tick;
			return true;
		},

		/* every second: run each entry whose interval divides the tick, one run at a time */
		step: function() {
			for (var i = 0, e = null; (e = Poll.queue[i]) != null; i++) {
				if ((Poll.tick % e.i) != 0 || !e.r)
					continue;
				e.r = false;
				Promise.resolve(e.fn()).finally((function() { this.r = true; }).bind(e));
			}
			Poll.tick = (Poll.tick + 1) % Math.pow(2, 32);
		},

		active: function() {
			return (this.timer != null);
		}
	});

	/* ---- request (JSON over XHR, as rpc.js needs it) ---- */

	var Request = Class.singleton({
		__name__: 'LuCI.request',

		request: function(url, options) {
			var opt = Object.assign({ method: 'GET' }, options);
			return new Promise(function(resolve, reject) {
				var xhr = new XMLHttpRequest();
				xhr.open(opt.method, url, true);
				xhr.responseType = 'text';
				if (opt.timeout)
					xhr.timeout = opt.timeout;
				xhr.onreadystatechange = function() {
					if (xhr.readyState !== 4)
						return;
					if (xhr.status === 0)
						return reject(new Error('XHR request aborted by browser'));
					resolve({
						ok: xhr.status >= 200 && xhr.status <= 299,
						status: xhr.status,
						statusText: xhr.statusText,
						url: url,
						text: function() { return xhr.responseText; },
						json: function() { return JSON.parse(xhr.responseText); }
					});
				};
				var body = null;
				if (opt.content != null) {
					body = (typeof(opt.content) == 'object') ? JSON.stringify(opt.content) : String(opt.content);
					xhr.setRequestHeader('Content-Type', 'application/json');
				}
				xhr.send(body);
			});
		},

		get: function(url, options) {
			return this.request(url, Object.assign({ method: 'GET' }, options));
		},

		post: function(url, data, options) {
			return this.request(url, Object.assign({ method: 'POST', content: data }, options));
		}
	});

	/* ---- the LuCI object ---- */

	var classes = {
		baseclass: Promise.resolve(Class),
		dom: Promise.resolve(DOM),
		poll: Promise.resolve(Poll),
		request: Promise.resolve(Request)
	};

	var LuCI = Class.extend({
		__name__: 'LuCI',
		__init__: function(env) {
			this.env = Object.assign({ pollinterval: 5, base_url: '/luci-static/resources',
				resource: '/luci-static/resources', scriptname: '/cgi-bin/luci', ubuspath: '/ubus/',
				sessionid: '00000000000000000000000000000000', rpctimeout: 20 }, env);
		},

		Class: Class,
		dom: DOM,
		Poll: Poll,
		Request: Request,

		bind: function(fn, self) {
			return Function.prototype.bind.apply(fn, [ self ].concat(Array.prototype.slice.call(arguments, 2)));
		},

		isObject: function(v) {
			return (v != null && typeof(v) == 'object');
		},

		toArray: function(val) {
			if (val == null)
				return [];
			if (Array.isArray(val))
				return val;
			if (typeof(val) == 'object')
				return [ val ];
			var s = String(val).trim();
			return (s == '') ? [] : s.split(/\s+/);
		},

		path: function(prefix, parts) {
			var url = [ prefix || '' ];
			for (var i = 0; i < parts.length; i++)
				if (/^(?:[a-zA-Z0-9_.%,;-]+\/)*[a-zA-Z0-9_.%,;-]+$/.test(parts[i]))
					url.push('/', parts[i]);
			if (url.length === 1)
				url.push('/');
			return url.join('');
		},

		url: function() { return this.path(this.env.scriptname, arguments); },
		resource: function() { return this.path(this.env.resource, arguments); },

		/* as LuCI's raise: the message carries the stack after a newline ("  at ...") */
		raise: function(type, fmt) {
			var msg = fmt ? String.prototype.format.apply(fmt, Array.prototype.slice.call(arguments, 2)) : null,
			    stack = [], e;
			if (type instanceof Error) {
				e = type;
				if (msg)
					e.message = msg + ': ' + e.message;
			}
			else {
				stack = (new Error('stacktrace').stack || '').split(/\n/).slice(1);
				e = new (window[type || 'Error'] || Error)(msg || 'Unspecified error');
				e.name = type || 'Error';
			}
			stack = stack.map(function(f) { return f.trim() ? '  ' + f.trim() : ''; })
				.filter(function(f) { return !/\b(raise|error) /.test(f); });
			if (stack.length)
				e.message += '\n' + stack.join('\n');
			throw e;
		},

		/*
		 * LuCI asks luci.getFeatures before a view; rpcd grants it through the acl.d group
		 * "unauthenticated", so a login without that group gets no page (seen in real LuCI).
		 */
		probeSystemFeatures: function() {
			if (this.features)
				return Promise.resolve(this.features);
			return Request.post(this.env.ubuspath, { jsonrpc: '2.0', id: 0, method: 'call',
				params: [ this.env.sessionid, 'luci', 'getFeatures', {} ] }).then(L.bind(function(res) {
				var msg = res.json();
				if (msg.error)
					L.raise('RPCError', 'RPC call to luci/getFeatures failed with error %d: %s', msg.error.code, msg.error.message);
				this.features = (msg.result && msg.result[1]) || {};
				return this.features;
			}, this));
		},

		resolveDefault: function(value, defvalue) {
			return Promise.resolve(value).catch(function() { return defvalue; });
		},

		/* null without a menu node spec, else whether the user may write (LuCI: !nodespec.readonly) */
		hasViewPermission: function() {
			if (!this.isObject(this.env.nodespec) || !this.env.nodespec.satisfied)
				return null;
			return !this.env.nodespec.readonly;
		},

		/* shows the error in #view (as LuCI does when a view fails) and rethrows */
		error: function(type, fmt) {
			try {
				if (type instanceof Error)
					throw type;
				L.raise.apply(L, arguments);
			}
			catch (e) {
				var vp = document.getElementById('view');
				window.__luciErrors = (window.__luciErrors || []).concat([ String(e && e.stack || e) ]);
				if (vp)
					DOM.append(vp, E('pre', { 'class': 'alert-message error' }, String(e && e.message || e)));
				throw e;
			}
		},

		require: function(name, from) {
			var L = this, url;
			from = from || [];
			if (classes[name] != null) {
				if (from.indexOf(name) != -1)
					L.raise('DependencyError', 'Circular dependency: class "%s" depends on "%s"', name, from.join('" which depends on "'));
				return classes[name];
			}
			url = '%s/%s.js'.format(L.env.base_url, name.replace(/\./g, '/'));
			from = [ name ].concat(from);

			classes[name] = Request.get(url).then(function(res) {
				if (!res.ok)
					L.raise('NetworkError', 'HTTP error %d while loading class file "%s"', res.status, url);

				var source = res.text(), depends = [], args = [];
				var re = /^\s*(['"])(.*?)\1;?[ \t]*$/gm, m;
				/* the directives are the leading string statements */
				var head = source.split(/\n/);
				for (var i = 0; i < head.length; i++) {
					var line = head[i].trim();
					if (line == '' || line.indexOf('//') == 0)
						continue;
					m = /^(['"])(.*)\1;?$/.exec(line);
					if (!m)
						break;
					var rq = /^require[ \t]+(\S+)(?:[ \t]+as[ \t]+([a-zA-Z_]\S*))?$/.exec(m[2]);
					if (rq) {
						depends.push(L.require(rq[1], from));
						args.push(rq[2] || rq[1].replace(/[^a-zA-Z0-9_]/g, '_'));
					}
					else if (m[2] != 'use strict') {
						break;
					}
				}
				void re;

				return Promise.all(depends).then(function(instances) {
					var factory = new Function([ 'window', 'document', 'L' ].concat(args).join(', '),
						source + '\n//# sourceURL=' + url);
					var cls = factory.apply(factory, [ window, document, L ].concat(instances));
					if (!Class.isSubclass(cls))
						L.error('TypeError', '"%s" factory yields invalid constructor', name);
					var inst = new cls();
					classes[name] = Promise.resolve(inst);
					return (inst.__result__ && typeof(inst.__result__.then) == 'function')
						? inst.__result__.then(function() { return inst; }) : inst;
				});
			});
			return classes[name];
		}
	});

	/* ---- view ---- */

	var View = Class.extend({
		__name__: 'LuCI.view',

		__init__: function() {
			var vp = document.getElementById('view');
			DOM.content(vp, E('div', { 'class': 'spinning' }, _('Loading view…')));
			return L.probeSystemFeatures()
				.then(L.bind(this.load, this))
				.then(L.bind(this.render, this))
				.then(L.bind(function(nodes) {
					var vp = document.getElementById('view');
					DOM.content(vp, nodes);
					DOM.append(vp, this.addFooter());
					document.body.setAttribute('data-view-ready', 'true');
				}, this)).catch(function(e) { L.error(e); });
		},

		load: function() {},
		render: function() {},

		handleSave: function(ev) {
			var tasks = [];
			document.getElementById('maincontent').querySelectorAll('.cbi-map').forEach(function(map) {
				tasks.push(DOM.callClassMethod(map, 'save'));
			});
			return Promise.all(tasks);
		},

		handleSaveApply: function(ev, mode) {
			return this.handleSave(ev).then(function() {
				classes.ui.then(function(ui) { ui.changes.apply(mode == '0'); });
			});
		},

		handleReset: function(ev) {
			var tasks = [];
			document.getElementById('maincontent').querySelectorAll('.cbi-map').forEach(function(map) {
				tasks.push(DOM.callClassMethod(map, 'reset'));
			});
			return Promise.all(tasks);
		},

		addFooter: function() {
			var footer = E([]), vp = document.getElementById('view'),
			    hasmap = false, readonly = true,
			    self = this;
			/* as LuCI: the buttons are disabled when every map on the page is read-only */
			(vp ? vp.querySelectorAll('.cbi-map') : []).forEach(function(el) {
				var m = DOM.findClassInstance(el);
				if (m) {
					hasmap = true;
					if (!m.readonly)
						readonly = false;
				}
			});
			if (!hasmap)
				return footer;
			var btns = [];
			var mk = function(fn, cls, label) {
				if (typeof(self[fn]) != 'function')
					return;
				btns.push(E('button', {
					'class': 'cbi-button ' + cls,
					'disabled': readonly || null,
					'click': function(ev) {
						var btn = ev.currentTarget;
						btn.classList.add('spinning');
						btn.disabled = true;
						return Promise.resolve(self[fn](ev)).catch(function() {}).finally(function() {
							btn.classList.remove('spinning');
							btn.disabled = false;
						});
					}
				}, label), ' ');
			};
			mk('handleSaveApply', 'cbi-button-apply', _('Save & Apply'));
			mk('handleSave', 'cbi-button-save', _('Save'));
			mk('handleReset', 'cbi-button-reset', _('Reset'));
			if (btns.length)
				footer.appendChild(E('div', { 'class': 'cbi-page-actions' }, btns));
			return footer;
		}
	});

	classes.view = Promise.resolve(View);

	window.LuCI = LuCI;
	window.E = function() { return DOM.create.apply(DOM, arguments); };
	window._ = function(s) { return s; };
	window.N_ = function(n, s, p) { return (n == 1) ? s : p; };
	window.L = new LuCI(window.__luciEnv || {});
	window.L.view = View;
	window.L.poll = Poll;

	/* as LuCI's setupDOM: polling runs from page load; poll.add() joins it */
	Poll.start();
})(window, document);
