#!/bin/bash
# sealinit: everything the build takes from Debian's archive goes through here.
#
#   mk/debian.sh install PKG...               install missing host packages (root)
#   mk/debian.sh source PKG VERSION DEST      unpack a source package into DEST
#   mk/debian.sh orig PKG VERSION SUITE DEST  unpack only the upstream tarball of a
#                                             source package from SUITE (apt checks
#                                             its hash against the signed index)
#   mk/debian.sh debs ARCH DEST PKG[=VER]...  download binary .debs of ARCH into DEST
#   mk/debian.sh newest ARCH REGEX            newest package name of ARCH matching REGEX
#
# Source and foreign-architecture packages use a project-local apt
# configuration under build/apt/ (its own sources, lists and cache), so the
# machine's apt configuration is never changed.  The mirror is the one the
# machine's apt already uses.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
aptdir=${SEALINIT_APT_DIR:-$top/build/apt}

die() { echo "debian.sh: $*" >&2; exit 1; }

# The machine's Debian mirrors: "URI SUITE" pairs from its apt sources.
mirrors() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -r $f ]] || continue
		awk '$1 == "deb" { u=$2; if (u ~ /^\[/) u=$3; s=$3; if ($2 ~ /^\[/) s=$4;
		     if ((u ~ /debian\/?$/ || u ~ /debian-security\/?$/) && s ~ /^bookworm/) print u, s }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r $f ]] || continue
		awk 'BEGIN{RS=""} /Types:[^\n]*deb/ {
			u=""; s="";
			n=split($0, L, "\n");
			for (i=1;i<=n;i++) {
				if (L[i] ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", L[i]); u=L[i] }
				if (L[i] ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", L[i]); s=L[i] }
			}
			if (u ~ /debian(-security)?\/?$/) { m=split(s, S, " "); for (j=1;j<=m;j++) if (S[j] ~ /^bookworm/) print u, S[j] }
		}' "$f"
	done
}

# Sets up build/apt/<name> for architecture $2 (and, optionally, suite $3
# instead of the machine's own) and runs apt-get update once.
local_apt() {
	local name=$1 arch=$2 suite=${3:-} d=$aptdir/$1
	APT_OPTS=(-o "Dir::Etc::SourceList=$d/sources.list" -o "Dir::Etc::SourceParts=$d/none"
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache"
		-o "Dir::State::status=$d/status" -o "APT::Architecture=$arch"
		-o "APT::Architectures::=$arch" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
		-o "APT::Get::AllowUnauthenticated=false")
	# One apt user per configuration at a time: `make -j` fetches two
	# sources at once, and a half-written sources.list or list directory
	# must never be seen by the other.  The lock is held until exit.
	mkdir -p "$aptdir"
	exec {lockfd}>"$aptdir/$name.lock"
	flock "$lockfd"
	[[ -e $d/updated ]] && return 0
	rm -rf "$d"
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/none"
	: > "$d/status"
	local list
	list=$(mirrors | sort -u)
	[[ -n $list ]] || die "no Debian bookworm mirror in /etc/apt/sources.list*; add one"
	if [[ -n $suite ]]; then
		list=$(awk -v s="$suite" '$1 !~ /security/ { print $1, s; exit }' <<< "$list")
	fi
	while read -r uri suite; do
		echo "deb [arch=$arch] $uri $suite main"
		echo "deb-src $uri $suite main"
	done <<< "$list" > "$d/sources.list"
	apt-get "${APT_OPTS[@]}" update -qq >&2 || die "apt-get update for $name failed"
	touch "$d/updated"
}

cmd=${1:-}; shift || true
case $cmd in
install)
	missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && exit 0
	[[ $(id -u) -eq 0 ]] || die "missing Debian packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})"
	echo "  APT     ${missing[*]}" >&2
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
			die "apt-get install ${missing[*]} failed"
	fi
	;;
source)
	pkg=$1 ver=$2 dest=$3
	[[ -e $dest/.unpacked ]] && exit 0
	command -v dpkg-source >/dev/null || "$0" install dpkg-dev
	local_apt src amd64
	dl=$aptdir/src/dl/$pkg-$ver
	rm -rf "$dl" && mkdir -p "$dl"
	(cd "$dl" && apt-get "${APT_OPTS[@]}" source --download-only -qq "$pkg=$ver" >&2) ||
		die "apt-get source $pkg=$ver failed (is that version still in the archive?)"
	rm -rf "$dest"; mkdir -p "$(dirname "$dest")"
	dpkg-source --no-check -x "$dl"/*.dsc "$dest" >/dev/null || die "dpkg-source -x $pkg failed"
	touch "$dest/.unpacked"
	;;
orig)
	pkg=$1 ver=$2 suite=$3 dest=$4
	[[ -e $dest/.unpacked ]] && exit 0
	local_apt "src-$suite" amd64 "$suite"
	dl=$aptdir/src-$suite/dl/$pkg-$ver
	rm -rf "$dl" && mkdir -p "$dl"
	# Only the upstream tarball is wanted: a missing Debian part does not matter.
	(cd "$dl" && apt-get "${APT_OPTS[@]}" source --download-only -qq "$pkg=$ver" >/dev/null 2>&1) || true
	tarball=$(ls "$dl"/*.orig.tar.* 2>/dev/null | head -n 1)
	[[ -n $tarball ]] || die "upstream tarball of $pkg=$ver ($suite) not reachable"
	rm -rf "$dest" && mkdir -p "$dest"
	tar -xf "$tarball" -C "$dest" --strip-components=1 || die "cannot unpack $tarball"
	touch "$dest/.unpacked"
	;;
debs)
	arch=$1 dest=$2; shift 2
	local_apt "$arch" "$arch"
	mkdir -p "$dest"
	(cd "$dest" && apt-get "${APT_OPTS[@]}" download -qq "$@" >&2) || die "apt-get download $* ($arch) failed"
	;;
newest)
	arch=$1 re=$2
	local_apt "$arch" "$arch"
	apt-cache "${APT_OPTS[@]}" pkgnames 2>/dev/null | grep -E "^($re)\$" | sort -V | tail -n 1
	;;
*)
	sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
