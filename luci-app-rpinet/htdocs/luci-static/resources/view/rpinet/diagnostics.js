'use strict';
'require view';
'require dom';
'require rpc';
'require ui';
'require rpinet.logic as logic';
'require rpinet.widgets as widgets';

/*
 * Services → Raspberry Pi netboot → Diagnostics: `rpinet doctor`, every known cause of a
 * failed netboot that it finds, each with its fix. Reading only, so read-only users get
 * the same page.
 */

const callDoctor = rpc.declare({
	object: 'rpinet',
	method: 'doctor'
});

return view.extend({
	load() {
		return callDoctor().catch((e) => ({ error: logic.describeError(e) }));
	},

	renderFindings(reply) {
		const err = logic.replyError(reply);
		if (err)
			return E('div', { 'class': 'alert-message warning' }, widgets.text(_('The check did not run: %s').format(err)));

		const findings = Array.isArray(reply.findings) ? reply.findings : [],
		    summary = logic.findingSummary(findings),
		    rows = logic.findingRows(findings);

		return E('div', {}, [
			E('div', { 'class': 'alert-message ' + summary.level, 'id': 'rpinet-doctor-summary' }, widgets.text(summary.text)),
			rows.length ? E('table', { 'class': 'table', 'id': 'rpinet-findings' }, [
				E('tr', { 'class': 'tr table-titles' }, [
					E('th', { 'class': 'th' }, _('Level')),
					E('th', { 'class': 'th' }, _('Concerns')),
					E('th', { 'class': 'th' }, _('Finding')),
					E('th', { 'class': 'th' }, _('How to fix it'))
				]),
				...rows.map((r) => E('tr', { 'class': 'tr', 'data-code': r.code, 'data-level': r.level }, [
					E('td', { 'class': 'td', 'data-title': _('Level') },
						widgets.label(r.look, r.levelTitle)),
					E('td', { 'class': 'td', 'data-title': _('Concerns') }, widgets.text(r.scope)),
					E('td', { 'class': 'td', 'data-title': _('Finding') }, widgets.text(r.message)),
					E('td', { 'class': 'td', 'data-title': _('How to fix it') }, r.fix ? widgets.text(r.fix) : E('em', {}, _('nothing to do')))
				]))
			]) : ''
		]);
	},

	handleRerun() {
		return this.load().then((reply) => {
			dom.content(document.getElementById('rpinet-doctor'), this.renderFindings(reply));
		});
	},

	render(reply) {
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
