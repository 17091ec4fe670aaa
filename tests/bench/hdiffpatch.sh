# Sourced by the patch benchmarks (bench-patch, bench-kernel): where
# HDiffPatch, a benchmark peer Debian does not package, comes from.  In
# order: HDIFFZ= and HPATCHZ= when given (both executables); a build in
# build/hdiffpatch/; the workplace's ../shared/peers/build-hdiffpatch.sh
# beside the tree, built once into build/hdiffpatch/; else none.  Sets
# HDIFFZ and HPATCHZ (empty: none) and hdp_note, the sentence the tables
# print.  Nothing of HDiffPatch is in this repository.
# hdiffpatch_find TOP NAME  (NAME: the benchmark, for messages)
hdiffpatch_find() {
	local top=$1 name=$2
	hdp_note=
	if [[ -n ${HDIFFZ:-} || -n ${HPATCHZ:-} ]]; then
		[[ -x ${HDIFFZ:-} && -x ${HPATCHZ:-} ]] ||
			{ echo "$name: give both HDIFFZ= and HPATCHZ= (executables)" >&2; return 1; }
		hdp_note="HDiffPatch: HDIFFZ=$HDIFFZ, HPATCHZ=$HPATCHZ (given)."
		return 0
	fi
	if [[ ! -x $top/build/hdiffpatch/hdiffz && -x $top/../shared/peers/build-hdiffpatch.sh ]]; then
		echo "  BUILD   HDiffPatch (../shared/peers/build-hdiffpatch.sh -> build/hdiffpatch/)" >&2
		"$top/../shared/peers/build-hdiffpatch.sh" "$top/build/hdiffpatch" >/dev/null || true
	fi
	if [[ -x $top/build/hdiffpatch/hdiffz && -x $top/build/hdiffpatch/hpatchz ]]; then
		HDIFFZ=$top/build/hdiffpatch/hdiffz HPATCHZ=$top/build/hdiffpatch/hpatchz
		hdp_note="HDiffPatch: built from ../shared/peers (build/hdiffpatch/)."
		return 0
	fi
	HDIFFZ= HPATCHZ=
	hdp_note="HDiffPatch DID NOT RUN: no HDIFFZ=/HPATCHZ= given and no ../shared/peers/build-hdiffpatch.sh; the targets against it are not measured."
}
