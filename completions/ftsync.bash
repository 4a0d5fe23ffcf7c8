# bash completion for ftsync                                  -*- shell-script -*-
# Installed as share/bash-completion/completions/ftsync (loaded on demand by
# bash-completion >= 2.2), or source it from ~/.bashrc.
#
# Commands, flags and what each command's operands are come from the binary
# itself (`ftsync __complete ...`), so this file follows new commands without
# edits. PEER:PATH words are completed on the peer, as scp does: a TAB after
# `ftsync pull laptop:/pho` connects to laptop (2 s timeout, silent on failure)
# and lists /.

# Removes the backslash escapes readline puts in a word (`my\ file`).
__ftsync_dequote() {
    local s=$1 out=
    while [[ -n $s ]]; do
        if [[ $s == \\?* ]]; then
            out+=${s:1:1}
            s=${s:2}
        else
            out+=${s:0:1}
            s=${s:1}
        fi
    done
    REPLY=$out
}

# Adds each candidate line of $1, quoted for the command line; a directory
# (trailing /) takes no space so the user can go on typing inside it.
__ftsync_add_candidates() {
    local line q
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        printf -v q '%q' "$line"
        if [[ $line == */ ]]; then
            COMPREPLY+=("$q")
        else
            COMPREPLY+=("$q ")
        fi
    done <<<"$1"
}

# Trusted peer names starting with $2, each followed by $3 (":" or " ").
__ftsync_peers() {
    local name
    while IFS= read -r name; do
        [[ -n $name && $name == "$2"* ]] && COMPREPLY+=("$name$3")
    done < <("$1" __complete peers 2>/dev/null)
}

# Sync pair names of the config file starting with $2 (`ftsync sync NAME`).
__ftsync_pairs() {
    local name
    while IFS= read -r name; do
        [[ -n $name && $name == "$2"* ]] && COMPREPLY+=("$name ")
    done < <("$1" __complete pairs 2>/dev/null)
}

# Local files and directories starting with $1, as scp's completion lists
# them: quoted, directories with a trailing /.
__ftsync_local() {
    local f q
    while IFS= read -r f; do
        if [[ -d ${f/#\~/$HOME} ]]; then
            printf -v q '%q' "$f"
            [[ $f == '~'* ]] && q="~${q:2}"  # keep ~ unquoted so it still expands
            COMPREPLY+=("$q/")
        else
            printf -v q '%q' "$f"
            [[ $f == '~'* ]] && q="~${q:2}"
            COMPREPLY+=("$q ")
        fi
    done < <(compgen -f -- "$1")
}

_ftsync() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        # -n := keeps PEER:PATH and --opt=value in one word.
        _init_completion -n := || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local bin=${words[0]}
    [[ $bin == '~'* ]] && bin=${bin/#\~/$HOME}
    COMPREPLY=()

    # The command: the first word that is neither a flag nor --config's value.
    local cmd= i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --config) ((i++)) ;;
            -*) ;;
            *)
                cmd=${words[i]}
                break
                ;;
        esac
    done

    # --option=value: complete the value (bash replaces only what follows '=').
    if [[ $cur == --*=* ]]; then
        prev=${cur%%=*}
        cur=${cur#*=}
    fi

    # Every option of the command (or the global ones): NAME TAB VALUE TAB HELP.
    local flags
    if [[ $prev == -* || $cur == -* ]]; then
        flags=$("$bin" __complete flags $cmd 2>/dev/null)
    fi

    # The value of an option that takes one.
    if [[ $prev == -* && $cur != -* ]]; then
        local name kind rest
        while IFS=$'\t' read -r name kind rest; do
            [[ $name == "$prev" ]] || continue
            case $kind in
                dir)
                    declare -F _filedir >/dev/null && _filedir -d || __ftsync_local "$cur"
                    return
                    ;;
                file)
                    declare -F _filedir >/dev/null && _filedir || __ftsync_local "$cur"
                    return
                    ;;
                text) return ;;
            esac
        done <<<"$flags"
    fi

    if [[ $cur == -* ]]; then
        local name kind rest list=()
        while IFS=$'\t' read -r name kind rest; do
            [[ -n $name ]] && list+=("$name")
        done <<<"$flags"
        COMPREPLY=($(compgen -W "${list[*]}" -- "$cur"))
        return
    fi

    if [[ -z $cmd ]]; then
        local name rest list=()
        while IFS=$'\t' read -r name rest; do
            [[ -n $name ]] && list+=("$name")
        done < <("$bin" __complete commands 2>/dev/null)
        COMPREPLY=($(compgen -W "${list[*]}" -- "$cur"))
        return
    fi

    local kind
    kind=$("$bin" __complete args "$cmd" 2>/dev/null)
    local REPLY
    __ftsync_dequote "$cur"
    local raw=$REPLY

    case $kind in
        peer)
            __ftsync_peers "$bin" "$raw" " "
            ;;
        remote | local-remote | pair-local-remote)
            # PEER:PATH: the peer name holds no '/' (local ./a:b is a file).
            if [[ $raw == [!/]*:* && ${raw%%:*} != */* ]]; then
                __ftsync_add_candidates "$("$bin" __complete remote "$raw" 2>/dev/null)"
                # bash split the word at ':'; what it replaces is the part after it.
                if declare -F __ltrim_colon_completions >/dev/null; then
                    __ltrim_colon_completions "$cur"
                fi
            else
                [[ $kind == *local-remote ]] && __ftsync_local "$raw"
                [[ $kind == pair-* && $raw != */* ]] && __ftsync_pairs "$bin" "$raw"
                [[ $raw != */* ]] && __ftsync_peers "$bin" "$raw" ":"
            fi
            ;;
        *) return ;;
    esac
    # Each candidate carries its own ending (space, / or :).
    compopt -o nospace 2>/dev/null
} &&
    complete -F _ftsync ftsync

# ex: filetype=sh
