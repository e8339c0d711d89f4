#!/bin/bash
# The README's main command, scripts/demo, on this build's daemon: the
# default cluster (kernel stacks, lwip handshake; a download goes on
# through every daemon's SIGKILL and restart) and the portable one (lwIP
# stacks, cookie handshake).  It exits 1 when a request fails, the
# download differs from the file or a daemon does not exit cleanly; here
# its report must also say so.
. "$(dirname "$0")/lib.sh"

demo() {
	local out rc
	out=$("$topo_top/scripts/demo" "$@" 2>&1)
	rc=$?
	echo "$out"
	t_check "demo $*: exit 0" [ "$rc" = 0 ]
	t_check "demo $*: nine pages" [ "$(grep -c 'request [1-9]: HTTP 200 ' <<<"$out")" = 9 ]
	t_check "demo $*: the download intact" grep -q 'identical to the file on disk: yes' <<<"$out"
	t_check "demo $*: no response byte rewritten by the front-end" \
	    grep -q 'rewritten by the front-end during the download: 0$' <<<"$out"
	t_check "demo $*: done" grep -q '^demo done$' <<<"$out"
	[ "$*" = "" ] || return 0
	t_check "demo: a download survives every daemon's SIGKILL and restart" \
	    grep -q 'after the restarts: HTTP 200, 52428800 bytes, identical to the file on disk: yes' <<<"$out"
	t_check "demo: the front-end and the serving node went on with it" \
	    [ "$(grep -cE '^  n[123]: [1-9][0-9]* connections go on' <<<"$out")" -ge 2 ]
}
demo
demo --stack lwip --handshake cookie
echo "all checks passed"
