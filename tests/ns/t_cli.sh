#!/bin/bash
# The command line: -n accepts the shipped configurations and rejects a bad
# one with a single file:line:col line and exit status 1; -V and usage.
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d /tmp/handoffd-cli-XXXXXX)
trap 'rm -rf "$dir"' EXIT
key="$dir/key"
(umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$key")

# Every shipped configuration checks out once its key file exists.
for f in "$topo_top"/conf/*.yaml "$topo_top"/conf/demo/*.yaml; do
	[ -f "$f" ] || continue
	sed "s|^\([[:space:]]*key_file:\).*|\1 $key|" "$f" >"$dir/c.yaml"
	out=$("$HANDOFFD" -n -c "$dir/c.yaml" 2>&1)
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

t_check "-V prints the version and lwIP's" \
    sh -c "'$HANDOFFD' -V | grep -q '^handoffd .*(lwIP 2\.1\.'"
"$HANDOFFD" -x >/dev/null 2>&1
t_check "unknown flag exits 1" [ $? -eq 1 ]
echo "all checks passed"
