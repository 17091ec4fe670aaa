# tests/bench/: where the release's images are in a preboot tree (sourced).
# No layout is baked in: the boot kernel collection is the first
# kc/boot.kc of a walk in name order -- DIR/kc/boot.kc, else each
# subdirectory (C locale, as alphasort orders it) to depth 3 -- and the
# cryptexes are in the cryptexes/ directory next to its kc/.  So
# preboot/kc/boot.kc and preboot/slots/a/kc/boot.kc both work.  The same
# walk as find_kc() in tests/bench/floor-init.c, which the floor runs at boot.

# bench_find_kc DIR: prints the path of the collection.
bench_find_kc() { _bench_find_kc "$1" 0; }
_bench_find_kc() {
	local d
	[[ -f $1/kc/boot.kc ]] && { echo "$1/kc/boot.kc"; return 0; }
	[[ $2 -lt 3 ]] || return 1
	while IFS= read -r d; do
		[[ -d $d && ! -L $d ]] && _bench_find_kc "$d" $(($2 + 1)) && return 0
	done < <(LC_ALL=C find "$1" -mindepth 1 -maxdepth 1 ! -name '.*' | LC_ALL=C sort)
	return 1
}
# bench_cryptex_dir DIR: prints the directory of the release's cryptexes.
bench_cryptex_dir() {
	local kc
	kc=$(bench_find_kc "$1") || return 1
	echo "$(dirname "$(dirname "$kc")")/cryptexes"
}
