#!/bin/bash
# The command line: -n accepts the shipped configurations and rejects a bad
# one with a single file:line:col line and exit status 1; -V, -h and usage;
# readiness on $NOTIFY_SOCKET; what make install installs.
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d /tmp/handoffd-cli-XXXXXX)
trap 'rm -rf "$dir"' EXIT
key="$dir/key"
(umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$key")

# Every shipped configuration checks out once its key file exists.
for f in "$topo_top"/conf/*.yaml "$topo_top"/conf/demo/*.yaml; do
	[ -f "$f" ] || continue
	sed "s|^\([[:space:]]*key_file:\).*|\1 $key|" "$f" >"$dir/c.yaml"
	# standard output only: what this host lacks goes to standard error
	out=$("$HANDOFFD" -n -c "$dir/c.yaml" 2>"$dir/err") || cat "$dir/err"
	t_check "-n accepts ${f#"$topo_top"/}" [ "$out" = "configuration OK" ]
done

cat >"$dir/bad.yaml" <<YAML
node:
  id: n1
  control: 127.0.0.1:7100
  server: 10.2.1.1:80
lwip:
  address: 10.2.1.2
handoff:
  timeout: soon
control:
  key_file: $key
YAML
out=$("$HANDOFFD" -n -c "$dir/bad.yaml" 2>&1)
rc=$?
t_check "bad config exits 1" [ $rc -eq 1 ]
t_check "bad config: one line" [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
t_check "bad config: file:line:col and the value" \
    grep -q "^$dir/bad.yaml:8:12: .*\"soon\"" <<<"$out"
echo "$out"

out=$("$HANDOFFD" -n -c "$dir/missing.yaml" 2>&1)
t_check "missing config exits 1" [ $? -eq 1 ]
t_check "missing config names the file" grep -q "missing.yaml" <<<"$out"

# A config with NODE_LINES in its node section and CONTROL_LINES in its
# control section, for the daemon to start in a private network namespace.
node_config() {
	cat <<YAML
node:
  id: n1
  control: 127.0.0.1:7100
  server: 10.2.1.1:80
$1
lwip:
  address: 10.2.1.2
control:
$2
YAML
}

# An unknown node.user is an error of the file, at its value.
node_config "  user: no-such-user-hd" "  key_file: $key" >"$dir/user.yaml"
out=$("$HANDOFFD" -n -c "$dir/user.yaml" 2>&1)
t_check "unknown user exits 1" [ $? -eq 1 ]
echo "$out"
t_check "unknown user: file:line:col and the name" [ "$out" = \
    "$dir/user.yaml:5:9: node.user: unknown user \"no-such-user-hd\"" ]

# A key file group or others may read is refused, by -n and at start
# (before anything is opened, in a private network namespace all the same),
# with the fix; key_file_insecure_ok lets the daemon start.
cp "$key" "$dir/open.key"
chmod 644 "$dir/open.key"
node_config "" "  key_file: $dir/open.key" >"$dir/open.yaml"
want="$dir/open.yaml:9:13: control.key_file: \"$dir/open.key\" is open to group or others (mode 0644): chmod 600 $dir/open.key"
out=$("$HANDOFFD" -n -c "$dir/open.yaml" 2>&1)
t_check "key file of mode 644: -n exits 1" [ $? -eq 1 ]
echo "$out"
t_check "key file of mode 644: names the file and the fix" [ "$out" = "$want" ]
out=$(timeout 20 unshare -n "$HANDOFFD" -d -c "$dir/open.yaml" 2>&1)
t_check "key file of mode 644: the daemon refuses to start, exit 1" [ $? -eq 1 ]
t_check "key file of mode 644: the daemon says why" [ "$out" = "$want" ]
node_config "  admin_socket: $dir/admin.sock" "  key_file: $dir/open.key
  key_file_insecure_ok: true" >"$dir/open.yaml"
out=$("$HANDOFFD" -n -c "$dir/open.yaml" 2>/dev/null)
t_check "key_file_insecure_ok: -n accepts it" [ "$out" = "configuration OK" ]
# As a Type=notify unit starts it: READY=1 to $NOTIFY_SOCKET once it runs.
"$HANDOFFD_TOOLS/unixsock" -r "$dir/notify" >"$dir/notify.out" &
notifier=$!
for _ in $(seq 1 50); do [ -S "$dir/notify" ] && break; sleep 0.1; done
NOTIFY_SOCKET="$dir/notify" unshare -n sh -c 'ip link set lo up && exec "$0" -d -c "$1"' \
    "$HANDOFFD" "$dir/open.yaml" >"$dir/open.log" 2>&1 &
pid=$!
t_check "key_file_insecure_ok: the daemon starts" t_wait_line "$dir/open.log" "node n1 running"
t_check "it tells \$NOTIFY_SOCKET it is ready" wait $notifier
t_check "... with READY=1" grep -qx 'READY=1' "$dir/notify.out"
kill -TERM "$pid"
wait "$pid"
t_check "key_file_insecure_ok: clean exit" [ $? -eq 0 ]
t_check "root without node.user: warned once" \
    [ "$(grep -c '^running as root: set node.user' "$dir/open.log")" -eq 1 ]

t_check "-V prints the version and lwIP's" \
    sh -c "'$HANDOFFD' -V | grep -q '^handoffd .*(lwIP 2\.1\.'"
"$HANDOFFD" -x >/dev/null 2>&1
t_check "unknown flag exits 1" [ $? -eq 1 ]
out=$("$HANDOFFD" -h)
t_check "-h exits 0" [ $? -eq 0 ]
t_check "-h prints the usage" grep -q '^usage: handoffd ' <<<"$out"
conf_default=$(sed -n 's/.*-c file .*(default \(.*\))$/\1/p' <<<"$out")
echo "default configuration: $conf_default"
t_check "-h names the default configuration" [ -n "$conf_default" ]

# make install: the programs, the man pages, the unit, the configuration's
# directory, all under one prefix, the daemon's default configuration in
# that directory.
inst="$dir/inst"
make -s -C "$(dirname "$HANDOFFD")" install DESTDIR="$inst" >"$dir/install.log" 2>&1
rc=$?
cat "$dir/install.log"
t_check "make install DESTDIR=... succeeds" [ $rc -eq 0 ]
sbin=$(dirname "$(find "$inst" -path '*/sbin/handoffd' -type f)")
prefix=$(dirname "${sbin#"$inst"}")
echo "installed under $prefix"
for p in handoffd handoffctl handoffd-setup; do
	t_check "installs $p to sbin" [ -x "$inst$prefix/sbin/$p" ]
done
for m in man8/handoffd.8 man8/handoffctl.8 man8/handoffd-setup.8 man5/handoffd.yaml.5; do
	t_check "installs the man page $m" [ -f "$inst$prefix/share/man/$m" ]
done
unit="$inst$prefix/lib/systemd/system/handoffd.service"
t_check "installs the systemd unit" [ -f "$unit" ]
t_check "... which starts the installed daemon on the default configuration" \
    grep -qx "ExecStart=$prefix/sbin/handoffd -d -c $conf_default" "$unit"
t_check "... reloads with SIGHUP" grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit"
t_check "... waits for READY=1" grep -qx 'Type=notify' "$unit"
t_check "... keeps the capabilities of the start only" \
    grep -q '^CapabilityBoundingSet=CAP_NET_ADMIN ' "$unit"
t_check "creates the configuration's directory" [ -d "$inst$(dirname "$conf_default")" ]
echo "all checks passed"
