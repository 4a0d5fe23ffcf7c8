# fish completion for ftsync. Installed as
# share/fish/vendor_completions.d/ftsync.fish; or copy it to
# ~/.config/fish/completions/.
#
# Commands, flags and what each command's operands are come from the binary
# itself (`ftsync __complete ...`), so this file follows new commands without
# edits. PEER:PATH words are completed on the peer, as scp does: a TAB after
# `ftsync pull laptop:/pho` connects to laptop (2 s timeout, silent on failure)
# and lists /.

# The binary as typed on the command line (./build/ftsync works too).
function __ftsync_bin
    set -l tokens (commandline -opc)
    set -l bin (string replace -r '^~' -- $HOME $tokens[1])
    # Not installed or not runnable: no candidates, and no error messages.
    command -q $bin; or return 1
    echo $bin
end

# The command word: the first that is neither a flag nor --config's value.
function __ftsync_cmd
    set -l tokens (commandline -opc)
    set -l skip 0
    for t in $tokens[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $t
            case --config
                set skip 1
            case '-*'
            case '*'
                echo $t
                return 0
        end
    end
    return 1
end

# NAME<TAB>DESCRIPTION per command.
function __ftsync_commands
    set -l bin (__ftsync_bin); or return 1
    $bin __complete commands 2>/dev/null
end

# Options of the command (or the global ones) as NAME<TAB>HELP, for fish.
function __ftsync_flags
    set -l bin (__ftsync_bin); or return 1
    $bin __complete flags (__ftsync_cmd) 2>/dev/null | string replace -r '^([^\t]*)\t[^\t]*\t' '$1\t'
end

# The kind of value the previous token (an option) takes: dir, file, text, or nothing.
function __ftsync_prev_value
    set -l tokens (commandline -opc)
    set -l prev $tokens[-1]
    string match -q -- '-*' $prev; or return 1
    set -l bin (__ftsync_bin); or return 1
    for line in ($bin __complete flags (__ftsync_cmd) 2>/dev/null)
        set -l f (string split \t -- $line)
        if test "$f[1]" = "$prev"; and test "$f[2]" != -
            echo $f[2]
            return 0
        end
    end
    return 1
end

function __ftsync_needs_value
    set -l kind (__ftsync_prev_value); or return 1
    test "$kind" = $argv[1]
end

# What the current token is meant as (`dir\ w` and `'dir w` mean `dir w`).
function __ftsync_token
    set -l token (commandline -ct)
    string unescape -- $token; or echo $token
end

# What the command's operands are: remote, local-remote, peer or none; fails
# while an option or an option's value is being typed.
function __ftsync_operand_kind
    set -l cmd (__ftsync_cmd); or return 1
    __ftsync_prev_value >/dev/null; and return 1
    string match -q -- '-*' (commandline -ct); and return 1
    set -l bin (__ftsync_bin); or return 1
    $bin __complete args $cmd 2>/dev/null
end

# PEER:PATH: the peer name holds no '/' (local ./a:b is a file).
function __ftsync_is_remote_word
    string match -qr '^[^/:]+:' -- $argv[1]
end

function __ftsync_operands
    set -l kind (__ftsync_operand_kind); or return 1
    set -l bin (__ftsync_bin)
    set -l meant (__ftsync_token)
    switch "$kind"
        case peer
            $bin __complete peers 2>/dev/null
        case remote local-remote pair-local-remote
            if __ftsync_is_remote_word $meant
                $bin __complete remote $meant 2>/dev/null
            else if not string match -q -- '*/*' $meant
                for p in ($bin __complete peers 2>/dev/null)
                    echo $p:
                end
                if test "$kind" = pair-local-remote
                    $bin __complete pairs 2>/dev/null
                end
            end
    end
end

# Local files for commands that take them (fish's own file completion: it
# knows ~ and quotes names).
function __ftsync_wants_local
    set -l kind (__ftsync_operand_kind); or return 1
    string match -q -- '*local-remote' "$kind"; or return 1
    not __ftsync_is_remote_word (__ftsync_token)
end

complete -c ftsync -f
complete -c ftsync -n 'not __ftsync_cmd; and not __ftsync_prev_value' -a '(__ftsync_commands)'
complete -c ftsync -n 'string match -q -- "-*" (commandline -ct)' -a '(__ftsync_flags)'
complete -c ftsync -n '__ftsync_needs_value dir' -a '(__fish_complete_directories (commandline -ct))'
complete -c ftsync -n '__ftsync_needs_value file' -F
complete -c ftsync -n '__ftsync_wants_local' -F
complete -c ftsync -n '__ftsync_cmd' -a '(__ftsync_operands)'
