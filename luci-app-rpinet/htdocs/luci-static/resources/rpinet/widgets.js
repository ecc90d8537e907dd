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

	/* LuCI's progress bar filled from a job reply, under an optional title */
	jobBar(job, title) {
		const j = logic.jobView(job);
		return E('div', { 'class': 'rpinet-job', 'data-state': j.state }, [
			title ? E('p', {}, this.text(title)) : '',
			E('div', { 'class': 'cbi-progressbar', 'title': j.label },
				E('div', { 'style': 'width:%d%%'.format(j.percent) })),
			E('small', {}, this.text([ j.label, j.detail, j.message ].filter((x) => x).join(' · ')))
		]);
	},

	/*
	 * Shows job `id` in `box` once a second until it ends, then calls done(job view). The
	 * first step runs within a second (at once when polling starts).
	 */
	followJob(box, id, title, done) {
		const step = () => callJob(id).then((job) => {
			const j = logic.jobView(job);
			dom.content(box, this.jobBar(job, title));
			if (j.finished) {
				poll.remove(step);
				return done(j);
			}
		});
		poll.add(step, 1);
	}
});
