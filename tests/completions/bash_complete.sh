#!/usr/bin/env bash
# Prints, one per line and exactly as bash would insert them, the candidates
# (COMPREPLY) completions/ftsync.bash gives for a command line, with TAB
# pressed at its end. Runs the completion function the way bash does: with
# bash-completion loaded and COMP_WORDS split as readline splits them (at
# blanks, and at ':' and '=' of COMP_WORDBREAKS, so "alice:/d" is three words).
# compopt (it only works inside a real completion) is recorded and printed
# after the candidates as "#compopt ARGS".
# Usage: bash_complete.sh BASH_COMPLETION_SCRIPT COMPLETION_FILE LINE
set -u
bash_completion=$1
completion_file=$2
line=$3

# shellcheck disable=SC1090
source "$bash_completion" || {
  echo "cannot load $bash_completion" >&2
  exit 2
}
# shellcheck disable=SC1090
source "$completion_file" || exit 2

compopt_calls=()
compopt() {
  local IFS=' '
  compopt_calls+=("$*")
}

# Readline's split of the line: blanks separate words (a backslash keeps the
# next character in the word), and ':' and '=' are words of their own.
words=()
word=
pending=0
for ((i = 0; i < ${#line}; i++)); do
  c=${line:i:1}
  if [[ $c == \\ ]]; then
    word+=${line:i:2}
    ((i++))
    pending=1
  elif [[ $c == [[:blank:]] ]]; then
    ((pending)) && words+=("$word")
    word= pending=0
  elif [[ $c == [:=] ]]; then
    ((pending)) && words+=("$word")
    words+=("$c")
    word= pending=0
  else
    word+=$c
    pending=1
  fi
done
words+=("$word")  # the word being completed, maybe empty

COMP_WORDS=("${words[@]}")
COMP_CWORD=$((${#words[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
COMP_TYPE=9  # TAB
COMP_KEY=9
COMPREPLY=()
_ftsync ftsync "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
for c in "${COMPREPLY[@]}"; do
  printf '%s\n' "$c"
done
for c in "${compopt_calls[@]}"; do
  printf '#compopt %s\n' "$c"
done
