# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_freshen_global_optspecs
    string join \n state-dir= config= H/host= insecure-registry= q/quiet v/verbose color= h/help V/version
end

function __fish_freshen_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_freshen_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_freshen_using_subcommand
    set -l cmd (__fish_freshen_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c freshen -n "__fish_freshen_needs_command" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_needs_command" -l config -d 'Config file (default: $XDG_CONFIG_HOME/freshen/config.toml)' -r -F
complete -c freshen -n "__fish_freshen_needs_command" -s H -l host -d 'Docker daemon socket (default: $DOCKER_HOST, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_needs_command" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_needs_command" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_needs_command" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_needs_command" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c freshen -n "__fish_freshen_needs_command" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "update" -d 'Ask the registries for the current digest of every local tag and record it'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "list" -d 'Show local tags and whether they are current, from the last update (offline)'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "check" -d 'Update, then exit 100 if an image can be upgraded (for cron and monitoring)'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "generate" -d 'Write shell completions and the man page (for packagers)'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "policy" -d 'Show an image\'s installed version, its candidate and the newer tags, like \'apt-cache policy\''
complete -c freshen -n "__fish_freshen_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c freshen -n "__fish_freshen_using_subcommand update" -l concurrency -d 'Requests in flight per registry' -r
complete -c freshen -n "__fish_freshen_using_subcommand update" -l timeout -d 'Seconds before one registry request is abandoned' -r
complete -c freshen -n "__fish_freshen_using_subcommand update" -l retries -d 'Retries of a request that failed with 429, 5xx or a network error' -r
complete -c freshen -n "__fish_freshen_using_subcommand update" -l format -d 'Print the result as JSON (the schema of \'list --format json\')' -r -f -a "text\t''
json\t''"
complete -c freshen -n "__fish_freshen_using_subcommand update" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand update" -l config -d 'Config file (default: $XDG_CONFIG_HOME/freshen/config.toml)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand update" -s H -l host -d 'Docker daemon socket (default: $DOCKER_HOST, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand update" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand update" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand update" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand update" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand update" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand update" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand list" -l format -d 'Output format' -r -f -a "table\t'Aligned columns for people'
apt\t'One line per image, like \'apt list\''
json\t'The documented, stable JSON schema'"
complete -c freshen -n "__fish_freshen_using_subcommand list" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand list" -l config -d 'Config file (default: $XDG_CONFIG_HOME/freshen/config.toml)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand list" -s H -l host -d 'Docker daemon socket (default: $DOCKER_HOST, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand list" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand list" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand list" -l upgradable -d 'Only images that can be upgraded'
complete -c freshen -n "__fish_freshen_using_subcommand list" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand list" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c freshen -n "__fish_freshen_using_subcommand list" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand check" -l concurrency -d 'Requests in flight per registry' -r
complete -c freshen -n "__fish_freshen_using_subcommand check" -l timeout -d 'Seconds before one registry request is abandoned' -r
complete -c freshen -n "__fish_freshen_using_subcommand check" -l retries -d 'Retries of a request that failed with 429, 5xx or a network error' -r
complete -c freshen -n "__fish_freshen_using_subcommand check" -l format -d 'Print the result as JSON (the schema of \'list --format json\')' -r -f -a "text\t''
json\t''"
complete -c freshen -n "__fish_freshen_using_subcommand check" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand check" -l config -d 'Config file (default: $XDG_CONFIG_HOME/freshen/config.toml)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand check" -s H -l host -d 'Docker daemon socket (default: $DOCKER_HOST, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand check" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand check" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand check" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand check" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand check" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand check" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand generate" -l dir -d 'Repository root to write completions/ and man/ under' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand generate" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand generate" -l config -d 'Config file (default: $XDG_CONFIG_HOME/freshen/config.toml)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand generate" -s H -l host -d 'Docker daemon socket (default: $DOCKER_HOST, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand generate" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand generate" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand generate" -l check -d 'Do not write; exit 1 if the files on disk differ from what would be written'
complete -c freshen -n "__fish_freshen_using_subcommand generate" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand generate" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand generate" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand generate" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand policy" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand policy" -l config -d 'Config file (default: $XDG_CONFIG_HOME/freshen/config.toml)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand policy" -s H -l host -d 'Docker daemon socket (default: $DOCKER_HOST, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand policy" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand policy" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand policy" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand policy" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand policy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c freshen -n "__fish_freshen_using_subcommand policy" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate policy help" -f -a "update" -d 'Ask the registries for the current digest of every local tag and record it'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate policy help" -f -a "list" -d 'Show local tags and whether they are current, from the last update (offline)'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate policy help" -f -a "check" -d 'Update, then exit 100 if an image can be upgraded (for cron and monitoring)'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate policy help" -f -a "generate" -d 'Write shell completions and the man page (for packagers)'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate policy help" -f -a "policy" -d 'Show an image\'s installed version, its candidate and the newer tags, like \'apt-cache policy\''
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate policy help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
