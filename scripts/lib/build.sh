# shellcheck shell=bash
#
# Out-of-tree builds under build/NAME, shared by scripts/test, scripts/demo
# and scripts/bench.  Regenerates the autotools files when they are missing
# or older than their sources, reconfigures when the flags change.

build_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

build_autoreconf() {
	local f
	if [ -x "$build_top/configure" ]; then
		for f in configure.ac Makefile.am; do
			[ "$build_top/$f" -nt "$build_top/configure" ] && break
		done
		[ "$build_top/$f" -nt "$build_top/configure" ] || return 0
	fi
	(cd "$build_top" && autoreconf -fi) >/dev/null 2>&1 ||
	    { (cd "$build_top" && autoreconf -fi); return 1; }
}

# build_tree NAME [CONFIGURE-ARGS...]: configures and builds build/NAME.
build_tree() {
	local name=$1 dir stamp
	shift
	dir="$build_top/build/$name"
	# A change of flags or of the build files starts the tree afresh:
	# make does not notice that compiler flags changed.
	stamp="$* $(cat "$build_top/configure.ac" "$build_top/Makefile.am" | cksum)"
	build_autoreconf || return 1
	if [ "$(cat "$dir/.flags" 2>/dev/null)" != "$stamp" ]; then
		rm -rf "$dir"
	fi
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ]; then
		(cd "$dir" && "$build_top/configure" -q "$@") >"$dir/configure.out" 2>&1 ||
		    { cat "$dir/configure.out" >&2; return 1; }
		printf '%s' "$stamp" >"$dir/.flags"
	fi
	make -s -C "$dir" -j"$(nproc)" all >"$dir/make.out" 2>&1 &&
	    make -s -C "$dir" -j"$(nproc)" check TESTS= >>"$dir/make.out" 2>&1 ||
	    { tail -n 60 "$dir/make.out" >&2; return 1; }
}
