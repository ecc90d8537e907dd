'use strict';
'require view';
'require dom';
'require rpc';
'require ui';
'require rpinet.logic as logic';

/*
 * Services → Raspberry Pi netboot → Diagnostics: `rpinet doctor`, every known cause of a
 * failed netboot that it finds, each with its fix.
 */

var callDoctor = rpc.declare({
	object: 'rpinet',
	method: 'doctor'
});

return view.extend({
	load: function() {
		return callDoctor().catch(function(e) { return { error: e.message || String(e) }; });
	},

	renderFindings: function(reply) {
		if (!reply || typeof(reply) != 'object' || reply.error)
			return E('div', { 'class': 'alert-message warning' },
				_('The check did not run: %s').format((reply && reply.error) || _('no reply from rpinet')));

		var findings = Array.isArray(reply.findings) ? reply.findings : [],
		    summary = logic.findingSummary(findings),
		    rows = logic.findingRows(findings);

		return E('div', {}, [
			E('div', { 'class': 'alert-message ' + summary.level, 'id': 'rpinet-doctor-summary' }, summary.text),
			rows.length ? E('table', { 'class': 'table', 'id': 'rpinet-findings' }, [
				E('tr', { 'class': 'tr table-titles' }, [
					E('th', { 'class': 'th' }, _('Level')),
					E('th', { 'class': 'th' }, _('Concerns')),
					E('th', { 'class': 'th' }, _('Finding')),
					E('th', { 'class': 'th' }, _('How to fix it'))
				])
			].concat(rows.map(function(r) {
				return E('tr', { 'class': 'tr', 'data-code': r.code, 'data-level': r.level }, [
					E('td', { 'class': 'td', 'data-title': _('Level') },
						E('span', { 'class': 'label ' + (r.level == 'error' ? 'important' : r.cls) }, r.levelTitle)),
					E('td', { 'class': 'td', 'data-title': _('Concerns') }, r.scope),
					E('td', { 'class': 'td', 'data-title': _('Finding') }, r.message),
					E('td', { 'class': 'td', 'data-title': _('How to fix it') }, r.fix || E('em', {}, _('nothing to do')))
				]);
			}))) : ''
		]);
	},

	handleRerun: function() {
		return this.load().then(L.bind(function(reply) {
			dom.content(document.getElementById('rpinet-doctor'), this.renderFindings(reply));
		}, this));
	},

	render: function(reply) {
		return E('div', {}, [
			E('h2', {}, _('Netboot diagnostics')),
			E('div', { 'class': 'cbi-map-descr' },
				_('Checks everything a network boot depends on: the SSD, dnsmasq and its TFTP root, the NFS exports, each node\'s boot files and what the Pis asked for. The same check runs on the router with rpinet doctor.')),
			E('div', { 'class': 'cbi-section' }, [
				E('div', { 'id': 'rpinet-doctor' }, this.renderFindings(reply)),
				E('div', { 'class': 'right' },
					E('button', {
						'class': 'cbi-button cbi-button-action',
						'click': ui.createHandlerFn(this, 'handleRerun')
					}, _('Check again')))
			])
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
