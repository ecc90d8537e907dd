'use strict';
'require baseclass';
'require dom';
'require poll';
'require rpc';
'require ui';
'require rpinet.logic as logic';

/*
 * rpinet.widgets — the few pieces of markup every rpinet page draws the same way, built
 * with LuCI's E(): text from outside, state labels, and a background job's progress bar.
 */

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

	/* one line at the top of the page (level: info, warning, error) */
	notify(message, level) {
		return ui.addNotification(null, E('p', {}, this.text(message)), level || 'info');
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

	/* LuCI's progress bar filled from a job view (logic.jobView), under an optional title */
	jobBar(j, title) {
		return E('div', { 'class': 'rpinet-job', 'data-state': j.state }, [
			title ? E('p', {}, this.text(title)) : '',
			E('div', { 'class': 'cbi-progressbar', 'title': j.label },
				E('div', { 'style': 'width:%d%%'.format(j.percent) })),
			E('small', {}, this.text([ j.label, j.detail, j.message ].filter((x) => x).join(' · ')))
		]);
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
