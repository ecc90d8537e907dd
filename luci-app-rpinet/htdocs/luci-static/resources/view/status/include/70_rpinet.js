'use strict';
'require baseclass';
'require rpc';
'require rpinet.logic as logic';
'require rpinet.widgets as widgets';

/*
 * Status → Overview: the Raspberry Pi cluster at a glance — how many nodes are up,
 * booting, failed or stalled, and the SSD — with a link to rpinet's own pages. Asks for
 * one node only (contract 1's summary counts them all); an rpinet from before paging
 * answers with every node, which logic.summary() counts. A user who may not read rpinet,
 * or a router without it, gets no box at all.
 */

const callStatus = rpc.declare({
	object: 'rpinet',
	method: 'status',
	params: [ 'limit' ],
	expect: { '': {} }
});

const callStatusAll = rpc.declare({
	object: 'rpinet',
	method: 'status',
	expect: { '': {} }
});

return baseclass.extend({
	title: _('Raspberry Pi cluster'),

	load() {
		return L.resolveDefault(callStatus(1), null).then((res) =>
			(res && /unknown argument/.test(res.error || '')) ? L.resolveDefault(callStatusAll(), null) : res);
	},

	render(status) {
		if (!status || typeof(status) != 'object' || status.error)
			return null;

		const n = logic.summary(status),
		    storage = logic.healthRows(status)[0];

		return E('div', { 'id': 'rpinet-status-widget' }, [
			E('table', { 'class': 'table' }, [
				E('tr', { 'class': 'tr' }, [
					E('td', { 'class': 'td left', 'width': '33%' }, _('Nodes')),
					E('td', { 'class': 'td left' }, [
						E('strong', {}, widgets.text(n.total)), ' ',
						...logic.summaryParts(n).flatMap((p) => [ widgets.label(p.look, p.text, { 'data-count': p.key }), ' ' ])
					])
				]),
				E('tr', { 'class': 'tr' }, [
					E('td', { 'class': 'td left', 'width': '33%' }, _('Storage')),
					E('td', { 'class': 'td left' }, [
						widgets.label(storage.look, storage.state), ' ',
						...widgets.text(storage.message)
					])
				])
			]),
			E('a', { 'href': L.url('admin/services/rpinet/overview') }, _('Open Raspberry Pi netboot'))
		]);
	}
});
