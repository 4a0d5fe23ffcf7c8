#!/usr/bin/env zsh
# Prints, one per line, the candidates zsh's completion system offers for a
# command line, using the real machinery: an interactive zsh on a pseudo
# terminal (zsh/zpty) with compinit and completions/_ftsync on $fpath, and
# TAB pressed at the end of LINE. compadd is wrapped so each match it is given
# is printed as the word it would make: IPREFIX (what compset moved out of
# the word, e.g. "alice:/docs/"), prefixes, the match and its suffixes.
# Usage: zsh_complete.zsh COMPLETIONS_DIR WORK_DIR LINE
emulate -L zsh
zmodload zsh/zpty || { print -u2 "zsh/zpty is missing"; exit 2 }
local compdir=$1 work=$2 line=$3

# The child's setup, written as a file it sources (no echo of long lines).
local setup=$work/zsh-setup.zsh
cat >$setup <<EOF
PS1='' PROMPT='' RPROMPT='' PROMPT_EOL_MARK=''
unsetopt zle_bracketed_paste 2>/dev/null
setopt no_beep
fpath=(${(q)compdir} \$fpath)
autoload -Uz compinit
compinit -u -d ${(q)work}/zcompdump  # a dump: later runs start fast
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' menu no
compadd() {
  local -a __hits
  # Calls that only ask (-O/-A/-D) go straight through.
  if (( \${@[(I)-[OAD]*]} )); then builtin compadd "\$@"; return; fi
  builtin compadd -O __hits "\$@"
  # The word each match makes: IPREFIX, -p, -P, the match, -s, -S.
  local -A o
  local i=1 a
  while (( i <= \$# )); do
    a=\${@[i]}
    [[ \$a == -- ]] && break
    if [[ \$a == -[pPsS] ]]; then o[\$a]=\${@[i+1]}; (( i += 2 )); continue; fi
    [[ \$a == -[pPsS]?* ]] && o[\${a[1,2]}]=\${a[3,-1]}
    (( i++ ))
  done
  local h
  for h in \$__hits; do print -r -- "CAND:\$IPREFIX\${o[-p]}\${o[-P]}\$h\${o[-s]}\${o[-S]}"; done
  builtin compadd "\$@"
}
_ftsync_test_done() { print -r -- "END-OF-CANDIDATES" }
comppostfuncs=(_ftsync_test_done)
bindkey '^I' complete-word
print -r -- "READY-FOR-INPUT"
EOF

zpty z TERM=dumb zsh -f -i || exit 2
zpty -w z "source ${(q)setup}"
local out
zpty -r z out '*READY-FOR-INPUT*' || { print -u2 "zsh did not start"; exit 2 }
zpty -w -n z "$line"$'\t'
zpty -r z out '*END-OF-CANDIDATES*' || { print -u2 "no completion output"; exit 2 }
zpty -d z
local l
for l in ${(f)out}; do
  l=${l%$'\r'}
  [[ $l == *CAND:* ]] && print -r -- ${l#*CAND:}
done
exit 0
