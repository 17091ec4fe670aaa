#!/bin/bash
# sealctl's manual, help and installation (issue 13): `make install
# DESTDIR= PREFIX=` installs a working sealctl, sealctl(1), sealinit(7) and
# the bash completion; `man -l` renders both pages without a warning; the
# --help texts, the man page and the option parser agree (the help and
# the page come from one source, docs/man/sealctl.txt, and every option the
# C parser knows is documented, and the other way round); the exit-code
# table is in `sealctl --help`, every command's --help and the page;
# sealinit(7) lists every error code and every kernel command-line option
# docs/boot-flow.md names; the completion completes commands, options and
# values.
# Needs: make, man (man-db), groff, build/host/sealctl.
# Last line: "sealctl-doc: N passed, N failed".
set -u
source "$(dirname "$0")/lib.bash"
[[ -x $S ]] || { echo "sealctl-doc: 0 passed, 1 failed"; exit 1; }
for t in man groff; do
	command -v $t >/dev/null || { echo "sealctl-doc: $t missing"; echo "sealctl-doc: 0 passed, 1 failed"; exit 1; }
done

# ---- make install into a staging directory
cfg=${KCONFIG_CONFIG:-}
[[ -z $cfg && -f $top/build/check/qemu-aarch64.config ]] && cfg=build/check/qemu-aarch64.config
[[ -z $cfg ]] && cfg=.config
D=$tmp/dest
if make -C "$top" --no-print-directory KCONFIG_CONFIG="$cfg" install DESTDIR="$D" PREFIX=/usr > install.log 2>&1; then
	ok "make install DESTDIR=... PREFIX=/usr"
else
	ko "make install: $(tail -n 3 install.log)"
fi
for f in usr/bin/sealctl usr/share/man/man1/sealctl.1 usr/share/man/man7/sealinit.7 \
	usr/share/bash-completion/completions/sealctl; do
	[[ -s $D/$f ]] && ok "installed $f" || ko "not installed: $f"
done
[[ -x $D/usr/bin/sealctl && $(stat -c %a "$D/usr/bin/sealctl") == 755 ]] && ok "sealctl is mode 0755" || ko "sealctl mode"
expect "the installed sealctl runs" 0 "sealctl " "$D/usr/bin/sealctl" --version
"$D/usr/bin/sealctl" keygen --algo ecdsa-p256 -o k.pem --pub k.pub >/dev/null 2>&1 &&
	head -c 9000 /dev/urandom > d && "$D/usr/bin/sealctl" seal --image d --kind system --name system --version 1 \
	--rollback-index 1 --key k.pem -o s.img >/dev/null 2>&1 &&
	"$D/usr/bin/sealctl" verify s.img --key k.pub --image-only >/dev/null 2>&1 && ok "the installed sealctl seals and verifies" ||
	ko "the installed sealctl does not work"
make -C "$top" --no-print-directory KCONFIG_CONFIG="$cfg" install DESTDIR="$tmp/dest2" PREFIX=/opt/si >/dev/null 2>&1 &&
	[[ -x $tmp/dest2/opt/si/bin/sealctl && -s $tmp/dest2/opt/si/share/man/man7/sealinit.7 ]] &&
	ok "PREFIX=/opt/si is honoured" || ko "PREFIX=/opt/si"

# ---- man -l renders both pages, without warnings
for p in man1/sealctl.1 man7/sealinit.7; do
	MANWIDTH=80 man -l "$D/usr/share/man/$p" > page.txt 2> warn.txt
	[[ -s page.txt && ! -s warn.txt ]] && ok "man -l $p renders, no warning" || ko "man -l $p: $(head -n 2 warn.txt)"
	LC_ALL=C groff -man -Tutf8 -ww -z "$D/usr/share/man/$p" 2> gwarn.txt
	[[ ! -s gwarn.txt ]] && ok "groff -ww: no warning in $p" || ko "groff -ww $p: $(head -n 2 gwarn.txt)"
done
MANWIDTH=200 man -l "$D/usr/share/man/man1/sealctl.1" 2>/dev/null | col -b > sealctl.txt
MANWIDTH=200 man -l "$D/usr/share/man/man7/sealinit.7" 2>/dev/null | col -b > sealinit.txt
expect "man -M finds the installed page" 0 "sealctl" man -M "$D/usr/share/man" -P cat sealctl

# ---- one exit-code table: --help, every command's --help, the page
"$S" --help > main-help.txt
for n in "0  success" "1  invalid input or a failed verification" "2  wrong usage" "3  system error"; do
	grep -qF "$n" main-help.txt && ok "sealctl --help: exit $n" || ko "sealctl --help lacks '$n'"
done
grep -A8 '^EXIT STATUS' sealctl.txt | tr -s ' \n' ' ' | grep -q "0 success 1 invalid input or a failed verification" &&
	ok "sealctl(1) EXIT STATUS has the table" || ko "sealctl(1) EXIT STATUS"
"$S" --list-commands > commands
[[ $(wc -l < commands) -ge 10 ]] && ok "$(wc -l < commands) commands" || ko "--list-commands"
while read -r c; do
	grep -qE "^  $c +" main-help.txt && ok "sealctl --help lists $c" || ko "sealctl --help does not list $c"
	"$S" $c --help > h.txt; st=$?
	[[ $st -eq 0 && $(head -c 15 h.txt) == "usage: sealctl " ]] && ok "$c --help: usage, exit 0" || ko "$c --help: exit $st"
	tr -s ' \n' ' ' < h.txt | grep -q "exit codes: 0 success; 1 invalid input or a failed verification; 2 wrong usage; 3 system error" &&
		ok "$c --help: the exit-code table" || ko "$c --help: no exit-code table"
	grep -q "^   sealctl $c\$" sealctl.txt && ok "sealctl(1) has a section for $c" || ko "sealctl(1) lacks $c"
	# the page's section for the command, as rendered
	awk -v c="   sealctl $c" '$0 == c { on = 1; next } /^   sealctl [a-z]+$/ { on = 0 } /^[A-Z]/ { on = 0 } on' sealctl.txt > sect.txt
	"$S" $c --list-options | awk '{ print $1 }' | grep -v -e '^--help$' | while read -r o; do
		grep -qE -- "(^|[ ,])$o([ ,=]|$)" h.txt || echo "$c --help does not document $o"
		grep -qE -- "(^|[ ,])$o([ ,=]|$)" sect.txt || echo "sealctl(1) does not document $c $o"
	done > drift.txt
	[[ ! -s drift.txt ]] && ok "$c: every option the parser knows is in --help and the page" || ko "$(head -n 3 drift.txt)"
done < commands
/usr/bin/python3 "$top/tools/mkhelp" options "$top/docs/man/sealctl.txt" | while read -r c o _; do
	"$S" $c --list-options | grep -qE -- "(^| )$o( |$)" || echo "$c $o is documented but the parser does not know it"
done > drift2.txt
[[ ! -s drift2.txt ]] && ok "every documented option is one the parser knows" || ko "$(head -n 3 drift2.txt)"
for s in "JSON OUTPUT" "DIAGNOSTICS" "EXAMPLES" "SEE ALSO"; do
	grep -q "^$s" sealctl.txt && ok "sealctl(1) has $s" || ko "sealctl(1) lacks $s"
done

# ---- sealinit(7): every error code, every command-line option
for s in "BOOT FLOW" "KERNEL COMMAND LINE" "CONSOLE MESSAGES" "FAILURE ACTION" "ERRORS"; do
	grep -q "^$s" sealinit.txt && ok "sealinit(7) has $s" || ko "sealinit(7) lacks $s"
done
grep -ho '^SI_ERR([A-Z0-9_]*' "$top"/*/err.def "$top"/*/*_err.def | sed 's/SI_ERR(//' | sort -u > codes
missing=$(while read -r e; do grep -q "^       $e (" sealinit.txt || echo "$e"; done < codes)
[[ -z $missing ]] && ok "sealinit(7) lists all $(wc -l < codes) error codes with meaning and check" || ko "sealinit(7) lacks $(head -n 3 <<< "$missing" | tr '\n' ' ')"
grep -oE '^\| `sealinit\.[a-z]+=' "$top/docs/boot-flow.md" | sed 's/^| `//' | sort -u > opts
missing=$(while read -r o; do grep -qF "$o" sealinit.txt || echo "$o"; done < opts)
[[ -z $missing && -s opts ]] && ok "sealinit(7) has every command-line option of docs/boot-flow.md" || ko "sealinit(7) lacks $missing"

# ---- docs/json.md holds the per-command tables of the same source
/usr/bin/python3 "$top/tools/mkhelp" json-md "$top/docs/man/sealctl.txt" > json-md.txt
sed -n '/^<!-- generated by tools\/mkhelp json-md/,/^<!-- end of the generated block -->/p' "$top/docs/json.md" > json-md.doc
cmp -s json-md.txt json-md.doc && ok "docs/json.md's tables are docs/man/sealctl.txt's @json blocks" ||
	ko "docs/json.md differs from tools/mkhelp json-md: $(diff json-md.txt json-md.doc | head -n 3 | tr '\n' ' ')"

# ---- bash completion
comp() { # words...: what completing the last word offers
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _sealctl; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$D/usr/share/bash-completion/completions/sealctl" "$@"
}
[[ $(comp sealctl sea) == seal ]] && ok "completion: sealctl sea -> seal" || ko "completion sea: $(comp sealctl sea)"
[[ $(comp sealctl ver | sort | tr '\n' ' ') == "verify version " ]] && ok "completion: ver -> verify version" || ko "completion ver: $(comp sealctl ver)"
comp sealctl seal --par | grep -qx -- --partition-size && ok "completion: seal --par -> --partition-size" || ko "completion --par"
[[ $(comp sealctl seal --kind kc- | tr '\n' ' ') == "kc-boot kc-system kc-aux " ]] && ok "completion: --kind kc- -> the kc kinds" || ko "completion --kind: $(comp sealctl seal --kind kc-)"
[[ $(comp sealctl keygen --algo rsa | tr '\n' ' ') == "rsa2048 rsa4096 " ]] && ok "completion: --algo rsa" || ko "completion --algo"
[[ $(comp sealctl key "") == id ]] && ok "completion: sealctl key -> id" || ko "completion key"
for c in set update; do
	[[ $(comp sealctl $c "" | tr '\n' ' ') == "create inspect " ]] && ok "completion: sealctl $c -> create inspect" || ko "completion $c: $(comp sealctl $c "")"
done
comp sealctl update create --pro | grep -qx -- --progress && ok "completion: update create --pro -> --progress" || ko "completion update --pro"
mkdir -p dirs/sub && touch dirs/file
(cd dirs && [[ $(bash -c 'source "$1"; COMP_WORDS=(sealctl seal --dir ""); COMP_CWORD=3; _sealctl; printf "%s\n" "${COMPREPLY[@]}"' _ "$D/usr/share/bash-completion/completions/sealctl") == sub ]]) &&
	ok "completion: --dir offers directories" || ko "completion --dir"
summary sealctl-doc
