# Shared by tests/interop/*.sh (sourced, not run): a scratch directory that
# goes away at exit, and pass/fail counting.  The script prints
# "<name>: N passed, N failed" last with `summary NAME`.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
S=$top/build/host/sealctl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
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
