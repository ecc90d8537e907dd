'use strict';
'require baseclass';
'require rpc';

/*
 * rpinet.access — may this login change things? The pages ask once, before they render,
 * and disable every control that would change something when the answer is no.
 *
 * Two answers must both allow it: LuCI's menu node (L.hasViewPermission() is false when
 * the page's ACL group is granted for read only) and rpcd itself (session.access for the
 * ubus method the control calls — what form.Map asks for uci). Without an answer (an old
 * LuCI, no menu node) the controls stay enabled and rpcd still refuses what it must.
 */

const callAccess = rpc.declare({
	object: 'session',
	method: 'access',
	params: [ 'scope', 'object', 'function' ],
	expect: { access: true }
});

return baseclass.extend({
	/* resolves to true when the login may call rpinet's `method` */
	canCall(method) {
		if (L.hasViewPermission() === false)
			return Promise.resolve(false);
		return L.resolveDefault(callAccess('ubus', 'rpinet', method), true).then((ok) => ok !== false);
	}
});
