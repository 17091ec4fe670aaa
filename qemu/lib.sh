# sealinit qemu/: shared shell helpers (sourced).
set -euo pipefail
QTOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QBUILD=$QTOP/build/qemu
die() { echo "$(basename "$0"): $*" >&2; exit 2; }
board_conf() { # board -> sources board/<board>/board.conf
	[[ -f $QTOP/board/$1/board.conf ]] || die "no board '$1' (board/$1/board.conf)"
	# shellcheck disable=SC1090
	source "$QTOP/board/$1/board.conf"
}
