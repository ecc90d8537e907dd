'use strict';
'require view';

/*
 * STAND-IN for luci-mod-status's view/status/index.js (Status → Overview), written for the
 * luci-app-rpinet browser tests, not LuCI's code. As LuCI's page does, it loads every
 * view/status/include/ module (here: the names in L.env.includes), calls load() and then
 * render(data) on each, and shows each result that is not empty in a .cbi-section headed
 * by the include's title; an include that renders nothing gets no box.
 */

return view.extend({
	load: function() {
		return Promise.all((L.env.includes || []).map(function(name) {
			return L.require('view.status.include.' + name).then(function(inc) {
				return Promise.resolve(inc.load()).then(function(data) { return [ name, inc, data ]; });
			});
		}));
	},

	render: function(list) {
		return E('div', {}, [ E('h2', {}, _('Status')) ].concat(list.map(function(p) {
			var content = p[1].render(p[2]);
			return content ? E('div', { 'class': 'cbi-section', 'data-include': p[0] }, [ E('h3', {}, p[1].title), content ]) : '';
		})));
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
