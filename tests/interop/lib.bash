# Shared by tests/interop/*.sh (sourced, not run): a scratch directory that
# goes away at exit, and pass/fail counting.  The script prints
# "<name>: N passed, N failed" last with `summary NAME`.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# SEALCTL=path runs a test against another build (e.g. main's, to see it fail).
S=${SEALCTL:-$top/build/host/sealctl}
tmp=$(mktemp -d)
trap '[[ -n ${KEEP_TMP:-} ]] && echo "kept $tmp" || rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "  PASS $*"; }
ko() { fail=$((fail + 1)); echo "  FAIL $*"; }
# expect NAME WANT-EXIT WANT-TEXT COMMAND...: exit code and a text in the output.
expect() {
	local name=$1 want=$2 text=$3 out st
	shift 3
	out=$("$@" 2>&1); st=$?
	if [[ $st -eq $want && $out == *"$text"* ]]; then ok "$name"; else ko "$name: exit $st (want $want): $(tail -n 2 <<< "$out")"; fi
}
same() { if cmp -s "$2" "$3"; then ok "$1"; else ko "$1: $2 and $3 differ"; fi; }
absent() { if [[ ! -e $2 ]]; then ok "$1"; else ko "$1: $2 exists"; fi; }
summary() { echo "$1: $pass passed, $fail failed"; [[ $fail -eq 0 ]]; }
# unchanged NAME FILE SHA256-BEFORE: the file still has its old content.
unchanged() { if [[ -f $2 && $(sha256sum < "$2") == "$3" ]]; then ok "$1"; else ko "$1: $2 changed or gone"; fi; }
# no_temporaries NAME DIR: sealctl left no temporary behind in DIR.
no_temporaries() {
	local left
	left=$(find "$2" -maxdepth 1 \( -name '.*.sealctl-*' -o -name '.sealctl-erofs-*' -o -name '*.tmp' -o -name '*.part' \) | head -n 3)
	if [[ -z $left ]]; then ok "$1"; else ko "$1: left $(tr '\n' ' ' <<< "$left")"; fi
}
# fake_kernel DIR RELEASE: an unpacked "kernel package" with two modules,
# foo (depends on bar) and bar: host ELF objects with a .modinfo section,
# which is all sealctl kc reads.
fake_kernel() {
	local d=$1/lib/modules/$2/kernel/drivers m dep
	mkdir -p "$d"
	for m in foo bar; do
		dep=; [[ $m == foo ]] && dep=bar
		printf 'static const char mi[] __attribute__((section(".modinfo"), used, aligned(1))) = "name=%s\\0vermagic=%s SMP mod_unload\\0depends=%s\\0license=GPL\\0";\nint init_module(void) { return 0; }\n' \
			"$m" "$2" "$dep" > "$1/$m.c"
		cc -c -o "$d/$m.ko" "$1/$m.c" || return 1
	done
}
# json_check NAME FILE PYTHON-EXPRESSIONS...: each expression, with j the
# parsed document, must be true.
json_check() {
	local name=$1 file=$2
	shift 2
	if /usr/bin/python3 - "$file" "$@" 2> "$tmp/json.err" <<'PY'; then ok "$name"; else ko "$name: $(tail -n 1 "$tmp/json.err")"; fi
import json, sys
j = json.load(open(sys.argv[1]))
for e in sys.argv[2:]:
    assert eval(e), e
PY
}
