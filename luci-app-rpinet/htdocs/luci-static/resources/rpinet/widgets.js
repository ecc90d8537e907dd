'use strict';
'require baseclass';
'require dom';
'require poll';
'require rpc';
'require ui';
'require rpinet.logic as logic';

/*
 * rpinet.widgets — the few pieces of markup every rpinet page draws the same way, built
 * with LuCI's E(): text from outside, state labels, a background job's progress bar, and
 * a node table's filter bar and pager.
 */

/* the bar's colour per look: the bootstrap theme's primary blue, its success green, and red */
const BAR_COLOUR = { active: '#1976d2', ok: '#00ac59', problem: '#c62828', pending: '#999' };
/* long words (checksums, paths) break rather than widen the page */
const WRAP = 'overflow-wrap:anywhere;word-break:break-word';
/* the rows a node table's page may hold */
const PAGE_SIZES = [ 25, 50, 100 ];

const callJob = rpc.declare({
	object: 'rpinet',
	method: 'job',
	params: [ 'id' ]
});

return baseclass.extend({
	/*
	 * Text that came from outside (rpinet's replies, node names) as E() children. LuCI's
	 * dom.append sets a lone string as innerHTML; inside an array it becomes a text node.
	 */
	text(v) {
		return [ (v == null) ? '' : String(v) ];
	},

	WRAP: WRAP,

	/* one line at the top of the page (level: info, warning, error) */
	notify(message, level) {
		return ui.addNotification(null, E('p', { 'style': WRAP }, this.text(message)), level || 'info');
	},

	/* a state label (look: ok, active, pending, problem) with its mark, in the theme's classes */
	label(look, content, attrs) {
		return E('span', Object.assign({ 'class': logic.stateClass(look), 'data-look': look }, attrs || {}),
			this.text(logic.stateMark(look) + ' ' + content));
	},

	/* a boot timeline (logic.timeline steps): one label per stage, with its time and detail as title */
	timeline(steps) {
		return E('ol', { 'class': 'rpinet-timeline', 'style': 'display:flex;flex-wrap:wrap;gap:.4em;list-style:none;margin:.5em 0;padding:0' },
			steps.map((s, i) => E('li', {
				'data-stage': s.stage,
				'data-state': s.state,
				'title': [ s.time, s.detail ].filter((x) => x).join(' — ')
			}, [
				(i > 0) ? E('span', { 'aria-hidden': 'true', 'style': 'margin-right:.4em' }, '→') : '',
				this.label(s.look, s.title)
			])));
	},

	/*
	 * LuCI's progress bar filled from a job view (logic.jobView), under an optional title: it
	 * moves with the job and ends in the job's state — full and green when done, full and red
	 * with only the reason when failed (a failed job's percentage says nothing).
	 */
	jobBar(j, title) {
		const colour = BAR_COLOUR[j.look] || BAR_COLOUR.active;
		return E('div', { 'class': 'rpinet-job', 'data-state': j.state }, [
			title ? E('p', {}, this.text(title)) : '',
			E('div', { 'class': 'cbi-progressbar', 'title': j.label, 'data-state': j.state },
				E('div', { 'style': 'width:%d%%;background-color:%s'.format(j.percent, colour) })),
			E('div', { 'class': 'rpinet-job-text', 'style': WRAP }, [
				this.label(j.look, j.label), ' ',
				...this.text([ j.detail, j.message ].filter((x) => x).join(' · '))
			])
		]);
	},

	/*
	 * A form option whose field holds something long (a UUID, a path, an address, a key) as
	 * wide as the page allows instead of the theme's 210 px, each time the form draws it.
	 */
	wide(option) {
		const render = option.renderWidget, widen = (el) => this.widen(el);
		option.renderWidget = function() {
			const el = render.apply(this, arguments);
			return (el && typeof(el.then) == 'function') ? el.then(widen) : widen(el);
		};
		return option;
	},

	/* the same for a LuCI widget drawn outside a form (its rendered element) */
	widen(el) {
		if (el && el.querySelectorAll)
			el.querySelectorAll('input[type="text"], input:not([type]), select').forEach((f) => {
				f.style.width = '100%';
				f.style.maxWidth = '44em';
			});
		return el;
	},

	/* the rows a node table's page may hold (its pager's choices) */
	PAGE_SIZES: PAGE_SIZES,

	/* a node table's first page size: fewer rows on a phone */
	pageSize() {
		return (window.innerWidth < 600) ? PAGE_SIZES[0] : PAGE_SIZES[1];
	},

	/*
	 * A node table's filter bar (Overview, Nodes): LuCI dropdowns for the state and the image,
	 * with how many rows each has, and a text field, over `query` ({ state, image, text }).
	 * onChange(q) gets what changed, at once. render(rows) gives the bar; it is the same
	 * element while the same choices are there, so that a refresh keeps an open dropdown open,
	 * and the text field is always the same one, so that it keeps its focus while typing.
	 */
	filterBar(query, onChange) {
		let key = null, bar = null, text = null;
		return {
			render(rows) {
				const states = logic.stateChoices(rows || []), images = logic.imageChoices(rows || []),
				    k = JSON.stringify([ Object.keys(states), Object.keys(images) ]);
				if (k == key && bar)
					return bar;
				key = k;
				if (!states[query.state])
					query.state = '';
				if (!images[query.image])
					query.image = '';
				if (!text) {
					text = new ui.Textfield(query.text, { id: 'rpinet-filter-text', placeholder: _('Name, serial, MAC, address…') });
					text.render().querySelector('input').addEventListener('input', (ev) => onChange({ text: ev.target.value }));
				}
				const state = new ui.Dropdown(query.state, states, { id: 'rpinet-filter-state', sort: Object.keys(states), optional: false }),
				    image = new ui.Dropdown(query.image, images, { id: 'rpinet-filter-image', sort: Object.keys(images), optional: false }),
				    stateEl = state.render(), imageEl = image.render();
				stateEl.addEventListener('cbi-dropdown-change', (ev) => onChange({ state: ev.detail.value ? ev.detail.value.value : '' }));
				imageEl.addEventListener('cbi-dropdown-change', (ev) => onChange({ image: ev.detail.value ? ev.detail.value.value : '' }));
				bar = E('div', { 'class': 'cbi-section-create', 'id': 'rpinet-filters', 'style': 'flex-wrap:wrap' }, [
					E('label', { 'for': 'widget.rpinet-filter-text' }, _('Show')), stateEl, imageEl, text.node
				]);
				return bar;
			}
		};
	},

	/*
	 * The pager under a node table for logic.tableView's view `v`: Previous, which nodes of
	 * how many, Next, and the page size. onChange(q) gets { page } or { size }. Nothing when
	 * every node fits on one page of the chosen size, nor when the filter matches none (the
	 * table says so).
	 */
	pager(v, size, onChange) {
		if (v.total <= size || !v.matched)
			return '';
		return E('div', { 'class': 'cbi-section-create', 'id': 'rpinet-pager', 'style': 'flex-wrap:wrap' }, [
			E('button', {
				'class': 'cbi-button', 'data-page': 'prev', 'disabled': v.page == 0 || null,
				'click': () => onChange({ page: v.page - 1 })
			}, _('Previous')),
			E('span', { 'id': 'rpinet-pager-text' }, (v.matched == v.total)
				? logic.fmt(_('Nodes %d–%d of %d'), v.from, v.to, v.matched)
				: logic.fmt(_('Nodes %d–%d of %d matching (%d in all)'), v.from, v.to, v.matched, v.total)),
			E('button', {
				'class': 'cbi-button', 'data-page': 'next', 'disabled': v.page + 1 >= v.pages || null,
				'click': () => onChange({ page: v.page + 1 })
			}, _('Next')),
			E('select', {
				'class': 'cbi-input-select', 'id': 'rpinet-page-size', 'style': 'width:auto',
				'title': _('Rows a page'),
				'change': (ev) => onChange({ size: +ev.target.value })
			}, PAGE_SIZES.map((n) => E('option', { 'value': n, 'selected': (n == size) ? '' : null }, logic.fmt(_('%d a page'), n))))
		]);
	},

	/* an error said in a box that wraps its longest word rather than widen the page */
	error(message, level) {
		return E('div', { 'class': 'alert-message ' + (level || 'error'), 'style': WRAP }, this.text(message));
	},

	/*
	 * LuCI's modal asking to confirm what cannot be undone: resolves true on the action
	 * button, false on Cancel. `look` is the button's class: negative (red) for what
	 * deletes or replaces, action otherwise.
	 */
	confirm(title, text, action, look) {
		return new Promise((resolve) => {
			ui.showModal(title, [
				E('p', { 'style': WRAP }, this.text(text)),
				E('div', { 'class': 'right' }, [
					E('button', { 'class': 'cbi-button', 'click': () => { ui.hideModal(); resolve(false); } }, _('Cancel')), ' ',
					E('button', {
						'class': 'cbi-button cbi-button-%s important'.format(look || 'action'),
						'data-confirm': 'yes',
						'click': () => { ui.hideModal(); resolve(true); }
					}, this.text(action))
				])
			]);
		});
	},

	/*
	 * Shows job `id` in `box` once a second until it ends, then calls done(job view, job);
	 * resolves once done() has. The first step runs within a second (at once when polling
	 * starts). The rate and time left are measured from the first reply, by the page's clock
	 * when each was asked for. more(job), if given, draws what goes under the bar (an image
	 * roll's nodes).
	 */
	followJob(box, id, title, done, more) {
		let seen = null;
		return new Promise((resolve) => {
			const step = () => {
				const at = Date.now() / 1000;
				return callJob(id).then((job) => {
					const j = logic.jobView(job, seen, at);
					if (!seen && job && typeof(job) == 'object')
						seen = { at: at, bytes: +job.bytes_done || 0 };
					dom.content(box, [ this.jobBar(j, title), more ? more(job) : '' ]);
					if (j.finished) {
						poll.remove(step);
						return Promise.resolve(done(j, job)).finally(resolve);
					}
				});
			};
			poll.add(step, 1);
		});
	}
});
