#!/bin/bash
# The status file is written without following symbolic links: a link
# planted at node.status_file leaves its target unchanged and becomes a
# regular file, one at the fixed name the temporary copy once had is not
# used, no temporary copy is left behind (also when it cannot be renamed
# to the file), and the file gets mode 0644 whatever the daemon's umask.
. "$(dirname "$0")/lib.sh"

topo_init statusfile
topo_ns_add n1
topo_tun 1
t_node_config 1
status="$TOPO_STATE/n1.status"
echo precious >"$TOPO_STATE/target1"
echo precious >"$TOPO_STATE/target2"
ln -s "$TOPO_STATE/target1" "$status"
ln -s "$TOPO_STATE/target2" "$status.tmp"

umask 077
topo_start 1
umask 022
for _ in $(seq 1 100); do
	[ -f "$status" ] && [ ! -L "$status" ] && break
	sleep 0.1
done
t_check "the status file is a regular file" sh -c "[ -f '$status' ] && [ ! -L '$status' ]"
t_check "it holds the counters" t_wait_line "$status" "node n1"
t_check "the link at status_file did not lead the write" \
    [ "$(cat "$TOPO_STATE/target1")" = precious ]
t_check "the link at the old temporary name did not lead the write" \
    [ "$(cat "$TOPO_STATE/target2")" = precious ]
t_check "mode 644 under umask 077" [ "$(stat -c %a "$status")" = 644 ]
t_check "SIGTERM: clean exit" topo_stop 1
t_check "no temporary copy is left" \
    [ -z "$(find "$TOPO_STATE" -maxdepth 1 -name 'n1.status.??????')" ]

# A name the copy cannot be renamed to (here a directory; another user's
# file in a sticky directory is another): each second's copy is removed,
# not left behind, and the log says why.
rm -f "$status"
mkdir "$status"
topo_start 1
sleep 2.5
t_check "the status file cannot be written: logged" \
    grep -q "status file $status: Is a directory" "$TOPO_STATE/n1.log"
t_check "... and no copy is left behind" \
    [ -z "$(find "$TOPO_STATE" -maxdepth 1 -name 'n1.status.??????')" ]
t_check "SIGTERM: clean exit" topo_stop 1
echo "all checks passed"
