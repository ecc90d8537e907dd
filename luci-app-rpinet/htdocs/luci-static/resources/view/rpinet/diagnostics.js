'use strict';
'require view';
'require dom';
'require rpc';
'require uci';
'require ui';
'require rpinet.logic as logic';
'require rpinet.widgets as widgets';
'require rpinet.access as access';
'require rpinet.actions as actions';

/*
 * Services → Raspberry Pi netboot → Diagnostics: rpinet's doctor, every known cause of a
 * failed netboot that it finds, each with its fix: a button where rpinet can do it (apply
 * its settings again, provision a node, open a node's details to roll it back, enable a
 * node, set an option), else words that say where in LuCI it is done. Read-only users see
 * the findings with the buttons disabled.
 */

const callDoctor = rpc.declare({
	object: 'rpinet',
	method: 'doctor'
});

return view.extend({
	load() {
		return Promise.all([
			callDoctor().catch((e) => ({ error: logic.describeError(e) })),
			access.canCall('node_provision'),
			L.resolveDefault(uci.load('rpinet'), null)
		]);
	},

	writable: true,

	/* the fix of one finding: its words, and its button when there is one */
	renderFix(r) {
		const a = r.fix.action, off = this.writable ? null : true;
		let button = '';
		if (a && a.kind == 'link')
			button = E('a', { 'class': 'cbi-button', 'href': L.url(a.path), 'data-fix': 'link' }, widgets.text(a.label));
		else if (a) {
			const label = { apply: _('Apply'), provision: a.first ? _('Provision…') : _('Provision again…'), details: _('Details'), enable_node: _('Enable node'), set: a.label }[a.kind];
			button = E('button', {
				'class': 'cbi-button cbi-button-action', 'data-fix': a.kind,
				/* looking at a node's details changes nothing */
				'disabled': (a.kind == 'details') ? null : off,
				'click': ui.createHandlerFn(this, 'handleFix', a)
			}, widgets.text(label));
		}
		return E('div', { 'style': widgets.WRAP }, [
			r.fix.text ? E('div', {}, widgets.text(r.fix.text)) : E('em', {}, _('nothing to do')),
			button ? E('div', { 'style': 'margin-top:.3em' }, button) : ''
		]);
	},

	handleFix(a) {
		const again = () => this.handleRerun();
		const fail = (err) => widgets.notify(logic.fmt(_('That did not work: %s'), logic.describeError(err)), 'error');
		switch (a.kind) {
		case 'apply':
			return actions.apply().then(again).catch(fail);
		case 'provision':
			return actions.provisionDialog(a.node, { current: uci.get('rpinet', a.node, 'image'), onDone: again });
		case 'details':
			return actions.findNode(a.node).then((r) => actions.showDetails(r.node, { status: r.status, writable: this.writable, onChange: again })).catch(fail);
		case 'enable_node':
			return actions.setOption(a.node, 'enabled', '1').then(again).catch(fail);
		case 'set':
			return actions.setOption('main', a.option, a.value).then(again).catch(fail);
		}
	},

	renderFindings(reply) {
		const err = logic.replyError(reply);
		if (err)
			return widgets.error(_('The check did not run: %s').format(err), 'warning');

		const findings = Array.isArray(reply.findings) ? reply.findings : [],
		    summary = logic.findingSummary(findings),
		    rows = logic.findingRows(findings, (name) => uci.get('rpinet', name, 'image') || '',
			{ server: !!uci.get('rpinet', 'main', 'storage_server') });

		return E('div', {}, [
			E('p', { 'id': 'rpinet-doctor-summary', 'data-level': summary.level }, [
				widgets.label((summary.level == 'success') ? 'ok' : 'problem', summary.text)
			]),
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
					E('td', { 'class': 'td', 'data-title': _('Finding'), 'style': widgets.WRAP }, widgets.text(r.message)),
					E('td', { 'class': 'td', 'data-title': _('How to fix it') }, this.renderFix(r))
				]))
			]) : ''
		]);
	},

	handleRerun() {
		return callDoctor().catch((e) => ({ error: logic.describeError(e) })).then((reply) => {
			dom.content(document.getElementById('rpinet-doctor'), this.renderFindings(reply));
		});
	},

	render([ reply, writable ]) {
		this.writable = writable;
		return E('div', {}, [
			E('h2', {}, _('Netboot diagnostics')),
			E('div', { 'class': 'cbi-map-descr' },
				_('Checks everything a network boot depends on: the storage (an SSD or an NFS server), dnsmasq and its TFTP root, the NFS exports, each node\'s boot files and what the Pis asked for. Each finding says how to fix it; where rpinet can, a button does it.')),
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
