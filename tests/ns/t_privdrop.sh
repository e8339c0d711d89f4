#!/bin/bash
# Privileges.  Every daemon of a three-node cluster starts as root with
# node.user and drops to that user once its TUN device (persistent, owned
# by the user), control listener and key are open.  /proc then shows no uid
# or gid 0, no capability, no_new_privs, and a descriptor limit raised for
# max_flows; the cluster still serves local and handed-off requests on both
# back-end stacks (n2 kernel, n3 lwip); the user keeps the status files up
# to date; and the daemons exit cleanly (ASan: no leaks, so LeakSanitizer
# still works after the drop).  First, a daemon started as the user with a
# hard descriptor limit below what it needs refuses to start and says how
# to fix it; a user in root's group is refused.
. "$(dirname "$0")/lib.sh"

user=handoffd-test
# A system user without home or shell, created once and kept; another test
# creating it at the same moment is fine.
id -u "$user" >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin "$user" ||
    id -u "$user" >/dev/null || { echo "FAIL: cannot create user $user"; exit 1; }
uid=$(id -u "$user")
gid=$(id -g "$user")

topo_init privdrop
export TOPO_STACKS="lwip kernel lwip" TOPO_TUN_USER=$user
topo_cluster 3
export TOPO_YAML_NODE="  user: $user" TOPO_YAML_HANDOFF="  linger: 1s"
export TOPO_REMOTE="n2 n3"
t_configure_all
# The daemons read the key as root before the drop, but it is the user's
# key; the user writes the status files into the state directory.
chown "$user" "$TOPO_KEY" "$TOPO_STATE"
chmod 600 "$TOPO_KEY"
# n1's access log, in a directory only root may write: the daemon creates
# the file as root, for the user.
alog_dir="$TOPO_STATE/log"
mkdir -m 755 "$alog_dir"
sed -i "s|^  user: $user\$|&\n  access_log: $alog_dir/access.log|" "$TOPO_STATE/n1.yaml"

# 1. max_flows 65536 + 2 peers * 2 + 64 spare = 65604 descriptors; a
# non-root daemon cannot raise a hard limit of 1024.
out=$(ulimit -n 1024 && topo_exec n3 setpriv --reuid="$user" --regid="$gid" \
    --init-groups "$HANDOFFD" -d -c "$TOPO_STATE/n3.yaml" 2>&1)
rc=$?
echo "$out"
t_check "descriptor limit too low: exit 1" [ $rc -eq 1 ]
t_check "descriptor limit too low: says how many are needed" \
    grep -qF "65604 file descriptors are needed (handoff.max_flows 65536, 2 for each of 2 peers, 64 spare)" <<<"$out"
t_check "descriptor limit too low: says how to raise the limit" \
    grep -q 'ulimit -n 65604.*LimitNOFILE=65604' <<<"$out"

# 1b. A user in root's group as a supplementary one: refused, as one whose
# primary group it is, unless node.group replaces its groups (the drop
# kept gid 0).  The user is removed at once.
ruser=hdtest-rg$$
useradd --system --no-create-home --shell /usr/sbin/nologin -G root "$ruser" ||
    t_fail "cannot create user $ruser"
sed "s|^  user: $user\$|  user: $ruser|" "$TOPO_STATE/n3.yaml" >"$TOPO_STATE/rg.yaml"
out=$("$HANDOFFD" -n -c "$TOPO_STATE/rg.yaml" 2>&1)
rc=$?
echo "$out"
t_check "a user in root's group: exit 1" [ $rc -eq 1 ]
t_check "... says so, and what to set" \
    grep -qF "\"$ruser\" is in root's group (gid 0): set node.group" <<<"$out"
sed -i "s|^  user: $ruser\$|&\n  group: $ruser|" "$TOPO_STATE/rg.yaml"
"$HANDOFFD" -n -c "$TOPO_STATE/rg.yaml" >/dev/null 2>&1
rc=$?
userdel "$ruser"
t_check "... with node.group: accepted" [ $rc -eq 0 ]

# 1c. A status file in a directory only root may write: the daemon, as
# the user, exits 1 at the check after the drop, and removes the admin
# socket it had made, as a clean exit does (the user owns $TOPO_STATE).
mkdir -m 755 "$TOPO_STATE/rootonly"
sed "s|^  status_file: .*|  status_file: $TOPO_STATE/rootonly/n3.status|" \
    "$TOPO_STATE/n3.yaml" >"$TOPO_STATE/rs.yaml"
out=$(topo_exec n3 timeout 20 "$HANDOFFD" -d -c "$TOPO_STATE/rs.yaml" 2>&1)
rc=$?
echo "$out"
t_check "status directory not the user's: exit 1" [ $rc -eq 1 ]
t_check "... says so" grep -qF "cannot create files in $TOPO_STATE/rootonly" <<<"$out"
t_check "... and leaves no admin socket" [ ! -e "$TOPO_STATE/n3.sock" ]

# 2. The cluster, started as root with a soft descriptor limit of 1024,
# which each daemon raises to what it needs, or to the hard limit where
# even root may not go beyond it (a container without CAP_SYS_RESOURCE).
need=65604
hard=$(ulimit -Hn)
want=$need
[ "$hard" != unlimited ] && [ "$hard" -lt "$need" ] && want=$hard
ulimit -Sn 1024
t_start_cluster
ulimit -Sn "$hard"

# proc_check I: node I's daemon runs as the user, with nothing to regain
# root with, and the descriptors it needs.
proc_check() {
	local i=$1 st pid=${TOPO_PIDS[$1]} soft
	st=$(cat "/proc/$pid/status")
	t_check "n$i: real, effective, saved and fs uids are $user's" \
	    grep -qP "^Uid:\t$uid\t$uid\t$uid\t$uid$" <<<"$st"
	t_check "n$i: and gids" grep -qP "^Gid:\t$gid\t$gid\t$gid\t$gid$" <<<"$st"
	t_check "n$i: no supplementary group 0" awk '/^Groups:/ {
	    for (g = 2; g <= NF; g++) if ($g == 0) exit 1 }' <<<"$st"
	t_check "n$i: CapEff is 0" grep -qP "^CapEff:\t0{16}$" <<<"$st"
	t_check "n$i: CapPrm is 0" grep -qP "^CapPrm:\t0{16}$" <<<"$st"
	t_check "n$i: NoNewPrivs is 1" grep -qP "^NoNewPrivs:\t1$" <<<"$st"
	soft=$(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits")
	t_check "n$i: descriptor limit $soft raised to $want" [ "$soft" -ge "$want" ]
	if [ "$want" -lt "$need" ]; then
		t_check "n$i: warned that root could not raise it" \
		    grep -q "but even root may only have $hard" "$TOPO_STATE/n$i.log"
	fi
	t_check "n$i: logged the drop" \
	    grep -q "running as user $user (uid $uid, gid $gid)" "$TOPO_STATE/n$i.log"
	t_check "n$i: attached to the persistent tun" \
	    grep -q "tun $TOPO_TUN attached" "$TOPO_STATE/n$i.log"
}
for i in 1 2 3; do
	proc_check "$i"
done

c() { topo_exec c "$@"; }

# 3. Pages through the VIP from every node, n1's own through its relay.
out=$(c curl -s -m 10 -H 'Connection: close' "http://$TOPO_VIP/?[1-6]")
echo "$out"
for n in n1 n2 n3; do
	t_check "node $n served a page through the VIP" grep -q "node $n" <<<"$out"
done
t_check "the front-end served some itself" \
    t_wait_stat "$TOPO_STATE/n1.status" fe_local 1
out=$(c curl -s -m 10 -H 'Connection: close' "http://$TOPO_VIP3/?[1-2]")
for n in n2 n3; do
	t_check "cookie handshake: $n served a page" grep -q "node $n" <<<"$out"
done

# The access log: the user's, and what reopening it as the user can do.
alog="$alog_dir/access.log"
t_check "n1: access log owned by $user, mode 640" \
    [ "$(stat -c '%U %a' "$alog")" = "$user 640" ]
t_check "n1: access log has the pages" t_wait_grep "$alog" " n1 fe .* n3 handoff [0-9]+\$"
mv "$alog" "$alog.1"
out=$("$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" reopen 2>&1)
t_check "reopen where $user may not create the file: refused, says so" \
    grep -q "cannot reopen the access log: Permission denied (the old one stays in use)" <<<"$out"
c curl -s -m 10 -o /dev/null "http://$TOPO_VIP/?old"
t_check "the old file still takes lines" t_wait_grep "$alog.1" " GET /\?old "
chown "$user" "$alog_dir"
t_check "reopen once $user may" sh -c "'$HANDOFFCTL' -s '$TOPO_STATE/n1.sock' reopen | grep -q reopened"
c curl -s -m 10 -o /dev/null "http://$TOPO_VIP/?new"
t_check "the new file takes them" t_wait_grep "$alog" " GET /\?new "
t_check "the user created it, mode 640" [ "$(stat -c '%U %a' "$alog")" = "$user 640" ]

# 4. A download from each remote back-end (pool "remote" takes turns),
# intact: n2 (kernel stack) and n3 (lwip stack).
head -c 8M /dev/urandom >"$TOPO_STATE/www-n2/big.bin"
cp "$TOPO_STATE/www-n2/big.bin" "$TOPO_STATE/www-n3/big.bin"
want=$(sha256sum <"$TOPO_STATE/www-n2/big.bin" | cut -d' ' -f1)
for k in 1 2; do
	c curl -s -m 60 -o "$TOPO_STATE/big.got$k" "http://$TOPO_VIP2/big.bin"
	got=$(sha256sum <"$TOPO_STATE/big.got$k" | cut -d' ' -f1)
	t_check "download $k through the VIP: sha256 matches" [ "$got" = "$want" ]
done
for n in n2 n3; do
	t_check "$n's nginx served the file" \
	    grep -q 'GET /big.bin HTTP/1.1" 200 8388608' "$TOPO_STATE/nginx-$n/access.log"
done

# 5. The status files: the user's, mode 0644, still rewritten.
for n in 1 2 3; do
	f="$TOPO_STATE/n$n.status"
	t_check "n$n: status file owned by $user, mode 644" \
	    [ "$(stat -c '%U %a' "$f")" = "$user 644" ]
	t_check "n$n: flow table empty, status file current" t_wait_flows "$f" 0
done
t_check "n2 counts the handoffs it took" t_wait_stat "$TOPO_STATE/n2.status" be_accepted 1
t_check "no daemon ran as root" sh -c "! grep -q 'running as root' '$TOPO_STATE'/n?.log"

# 6. A reload, with the key root's own and unreadable to the user (as
# handoffd(8) EXAMPLES makes it): the daemon cannot read it again, and
# keeps the key it read at start while the file is that one, unchanged;
# a file changed since is refused with a word to restart.
ctl() { "$HANDOFFCTL" -s "$TOPO_STATE/n1.sock" reload 2>&1; }
chown root "$TOPO_KEY"
chmod 600 "$TOPO_KEY"
t_check "reload with a key only root reads: applied" \
    grep -qx 'configuration reloaded' <<<"$(ctl)"
chmod 640 "$TOPO_KEY"
t_check "reload with that key open to its group: refused, says so" \
    grep -q "is open to group or others (mode 0640): chmod 600" <<<"$(ctl)"
chmod 600 "$TOPO_KEY"
touch -m -d '1 minute ago' "$TOPO_KEY"
t_check "reload after the key file changed: refused, says to restart" \
    grep -q "cannot read .*Permission denied, and it is not the file read at start, unchanged (restart the daemon to use another key)" <<<"$(ctl)"
chown "$user" "$TOPO_KEY"
t_check "reload once the user reads it (the same key): applied" \
    grep -qx 'configuration reloaded' <<<"$(ctl)"
out=$(c curl -s -m 10 -H 'Connection: close' "http://$TOPO_VIP2/")
t_check "handoffs go on after the reloads" grep -q "node n" <<<"$out"

for n in 3 2 1; do
	t_check "n$n: clean exit (no leaks)" topo_stop "$n"
done
echo "all checks passed"
