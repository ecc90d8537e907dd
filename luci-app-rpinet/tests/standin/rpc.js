'use strict';
'require baseclass';
'require request';

/*
 * STAND-IN for LuCI's rpc.js (luci-base), written for the luci-app-rpinet browser tests,
 * not LuCI's code. Same wire protocol as LuCI: each declared call POSTs the JSON-RPC 2.0
 * message {"method": "call", "params": [session, object, method, args]} to the ubus
 * endpoint; a reply's "result" is [status] or [status, data]; `expect` picks one key of
 * the data and falls back to its default when the key is missing or has another type;
 * without `expect` the data (or the bare status code) is returned; `filter` post-processes;
 * `reject: true` turns a non-zero ubus status into a rejection.
 */

var rpcRequestID = 1;

return baseclass.extend({
	call: function(msg) {
		return request.post(L.env.ubuspath, msg, { timeout: (L.env.rpctimeout || 20) * 1000 });
	},

	handleReply: function(req, res) {
		var msg, ret = null, type = Object.prototype.toString;

		if (!res.ok)
			L.raise('RPCError', 'RPC call to %s/%s failed with HTTP error %d: %s',
				req.object, req.method, res.status, res.statusText || '?');

		msg = res.json();

		if (!L.isObject(msg) || msg.jsonrpc != '2.0')
			L.raise('RPCError', 'RPC call to %s/%s returned invalid message frame', req.object, req.method);

		if (L.isObject(msg.error) && msg.error.code && msg.error.message)
			L.raise('RPCError', 'RPC call to %s/%s failed with error %d: %s',
				req.object, req.method, msg.error.code, msg.error.message || '?');

		if (Array.isArray(msg.result)) {
			if (req.raise && msg.result[0] !== 0)
				L.raise('RPCError', 'RPC call to %s/%s failed with ubus code %d: %s',
					req.object, req.method, msg.result[0], this.getStatusText(msg.result[0]));
			ret = (msg.result.length > 1) ? msg.result[1] : msg.result[0];
		}

		if (req.expect) {
			for (var key in req.expect) {
				if (ret != null && key != '')
					ret = ret[key];
				if (ret == null || type.call(ret) != type.call(req.expect[key]))
					ret = req.expect[key];
				break;
			}
		}

		if (typeof(req.filter) == 'function') {
			req.priv[0] = ret;
			req.priv[1] = req.params;
			ret = req.filter.apply(this, req.priv);
		}

		return ret;
	},

	declare: function(options) {
		var rpc = this;
		return function() {
			var args = Array.prototype.slice.call(arguments),
			    params = {}, p_off = 0, priv = [ undefined, undefined ];

			if (Array.isArray(options.params))
				for (p_off = 0; p_off < options.params.length; p_off++)
					params[options.params[p_off]] = args[p_off];
			for (; p_off < args.length; p_off++)
				priv.push(args[p_off]);

			var req = {
				expect: options.expect, filter: options.filter, params: params, priv: priv,
				object: options.object, method: options.method, raise: options.reject
			};

			return rpc.call({
				jsonrpc: '2.0',
				id: rpcRequestID++,
				method: 'call',
				params: [ L.env.sessionid, options.object, options.method, params ]
			}).then(function(res) { return rpc.handleReply(req, res); });
		};
	},

	getSessionID: function() { return L.env.sessionid; },
	getBaseURL: function() { return L.env.ubuspath; },

	getStatusText: function(statusCode) {
		switch (statusCode) {
		case 0: return _('Command OK');
		case 1: return _('Invalid command');
		case 2: return _('Invalid argument');
		case 3: return _('Method not found');
		case 4: return _('Resource not found');
		case 5: return _('No data received');
		case 6: return _('Permission denied');
		case 7: return _('Request timeout');
		case 8: return _('Not supported');
		case 9: return _('Unspecified error');
		case 10: return _('Connection lost');
		default: return _('Unknown error code');
		}
	}
});
