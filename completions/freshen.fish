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
complete -c freshen -n "__fish_freshen_needs_command" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_needs_command" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
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
complete -c freshen -n "__fish_freshen_needs_command" -f -a "upgrade" -d 'Pull the new version of every upgradable tag (or those named) and retire the old one'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "autoremove" -d 'Retire old versions: images an upgrade replaced and earlier untagged versions'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "hold" -d 'Hold tags: never upgrade them, never retire their versions'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "unhold" -d 'Cancel holds'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "showhold" -d 'List the held tags and patterns, one per line'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "skip" -d 'Skip the version the registry offers now for these tags, until it offers another'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "unskip" -d 'Offer skipped versions again'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "showskip" -d 'List the skipped versions, one per line'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "rollback" -d 'Point a tag back at the version an upgrade replaced, if it is still here'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "notify" -d 'Send a test message to every notification target'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "schedule" -d 'Print or install a systemd timer (or cron job) that runs \'freshen update --notify\''
complete -c freshen -n "__fish_freshen_needs_command" -f -a "motd" -d 'Print the login message: how many image updates can be applied (offline, from the state)'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "metrics" -d 'Print or write Prometheus metrics for node_exporter\'s textfile collector (offline)'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "fleet" -d 'Run update, check, list or upgrade on several hosts over ssh and show one view'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "policy" -d 'Show an image\'s installed version, its candidate and the newer tags, like \'apt-cache policy\''
complete -c freshen -n "__fish_freshen_needs_command" -f -a "serve" -d 'Serve a status page, an HTTP API and Home Assistant over MQTT, and keep the state fresh'
complete -c freshen -n "__fish_freshen_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c freshen -n "__fish_freshen_using_subcommand update" -l concurrency -d 'Requests in flight per registry' -r
complete -c freshen -n "__fish_freshen_using_subcommand update" -l timeout -d 'Seconds before one registry request is abandoned' -r
complete -c freshen -n "__fish_freshen_using_subcommand update" -l retries -d 'Retries of a request that failed with 429, 5xx or a network error' -r
complete -c freshen -n "__fish_freshen_using_subcommand update" -l min-age -d 'Offer a new image or newer tag only once it is this old (3d, 12h, 0 for at once); beats min_age in the config' -r
complete -c freshen -n "__fish_freshen_using_subcommand update" -l format -d 'Print the result as JSON (the schema of \'list --format json\')' -r -f -a "text\t''
json\t''"
complete -c freshen -n "__fish_freshen_using_subcommand update" -l renotify-after -d 'With --notify: announce an update again after this long (12h, 7d, 1w)' -r
complete -c freshen -n "__fish_freshen_using_subcommand update" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand update" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand update" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand update" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand update" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand update" -l refresh-tags -d 'List the tags of every repository with a version tag now, instead of reusing listings younger than tag_cache_ttl (6 hours by default). Costs one more GET per such repository (one per page of tags where the registry pages them), beside the HEAD per tag that every update makes. Without it, a repository is listed again when one of its tags moved, or when its listing is older than the TTL'
complete -c freshen -n "__fish_freshen_using_subcommand update" -l notify -d 'Announce new updates to the config file\'s [[notify]] targets, each update once'
complete -c freshen -n "__fish_freshen_using_subcommand update" -l unattended -d 'Apply the config file\'s [unattended] policy: upgrade and retire only what it allows, log it, and announce new updates to the [[notify]] targets'
complete -c freshen -n "__fish_freshen_using_subcommand update" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand update" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand update" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand update" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand list" -l format -d 'Output format' -r -f -a "table\t'Aligned columns for people'
apt\t'One line per image, like \'apt list\''
json\t'The documented, stable JSON schema'"
complete -c freshen -n "__fish_freshen_using_subcommand list" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand list" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand list" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
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
complete -c freshen -n "__fish_freshen_using_subcommand check" -l min-age -d 'Offer a new image or newer tag only once it is this old (3d, 12h, 0 for at once); beats min_age in the config' -r
complete -c freshen -n "__fish_freshen_using_subcommand check" -l format -d 'Print the result as JSON (the schema of \'list --format json\')' -r -f -a "text\t''
json\t''"
complete -c freshen -n "__fish_freshen_using_subcommand check" -l renotify-after -d 'With --notify: announce an update again after this long (12h, 7d, 1w)' -r
complete -c freshen -n "__fish_freshen_using_subcommand check" -l warning -d 'With --nagios: WARNING from this many upgradable images on' -r
complete -c freshen -n "__fish_freshen_using_subcommand check" -l critical -d 'With --nagios: CRITICAL from this many upgradable images on (default: never)' -r
complete -c freshen -n "__fish_freshen_using_subcommand check" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand check" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand check" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand check" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand check" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand check" -l refresh-tags -d 'List the tags of every repository with a version tag now, instead of reusing listings younger than tag_cache_ttl (6 hours by default). Costs one more GET per such repository (one per page of tags where the registry pages them), beside the HEAD per tag that every update makes. Without it, a repository is listed again when one of its tags moved, or when its listing is older than the TTL'
complete -c freshen -n "__fish_freshen_using_subcommand check" -l notify -d 'Announce new updates to the config file\'s [[notify]] targets, each update once'
complete -c freshen -n "__fish_freshen_using_subcommand check" -l nagios -d 'Print one Nagios status line and exit 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN)'
complete -c freshen -n "__fish_freshen_using_subcommand check" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand check" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand check" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand check" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand generate" -l dir -d 'Repository root to write completions/ and man/ under' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand generate" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand generate" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand generate" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand generate" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand generate" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand generate" -l check -d 'Do not write; exit 1 if the files on disk differ from what would be written'
complete -c freshen -n "__fish_freshen_using_subcommand generate" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand generate" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand generate" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand generate" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -l keep -d 'Keep the N most recent previous versions of each tag, for rollback' -r
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -l min-age -d 'Upgrade only to images at least this old (3d, 12h, 0 for any); default: the minimum age the last update applied' -r
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -l wait -d 'Seconds a recreated container has to become healthy (with a HEALTHCHECK) or to keep running (without one) before it counts as upgraded; otherwise it is rolled back' -r
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -l format -d 'Print a JSON report of what was upgraded, recreated, rolled back, retired and kept' -r -f -a "text\t''
json\t''"
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -s y -l yes -d 'Answer yes to the prompt (without a terminal, the answer is otherwise one line of standard input)'
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -s s -l dry-run -l simulate -d 'Show what would happen and change nothing'
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -l keep-previous -d 'Do not retire the versions this upgrade replaces'
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -l tags -d 'Also move version tags to the newest newer tag the image\'s policy allows (pull postgres:16.4 for postgres:16.2) that has waited out its minimum age and is not skipped; the older tag\'s version is then retired like any replaced version, when nothing uses it'
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -l no-recreate -d 'Only pull and retag: leave the containers that run the replaced version as they are'
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand upgrade" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -l keep -d 'Keep the N most recent previous versions of each tag, for rollback' -r
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -l older-than -d 'Spare versions that were replaced (or, untracked, created) more recently than this (7d, 12h, 30m)' -r
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -l exclude -d 'Never retire images matching this pattern (repeatable; adds to the config\'s exclude)' -r
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -l budget -d 'Then evict the least recently used images until their unique bytes fit (20G, 500M, 30% of the disk)' -r
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -l min-free -d 'Then evict the least recently used images until the store\'s disk has this much free (10G, 15%)' -r
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -l unused-for -d 'Also evict images unused for this long (90d, 12w), budget or not' -r
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -l format -d 'Print a JSON report of what was retired and kept' -r -f -a "text\t''
json\t''"
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -s y -l yes -d 'Answer yes to the prompt (without a terminal, the answer is otherwise one line of standard input)'
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -s s -l dry-run -l simulate -d 'Show what would happen and change nothing'
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -l dangling -d 'Also remove dangling images (no tag, no digest), like \'docker image prune\'; only without PATTERNs'
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c freshen -n "__fish_freshen_using_subcommand autoremove" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand hold" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand hold" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand hold" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand hold" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand hold" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand hold" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand hold" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand hold" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand hold" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand unhold" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand unhold" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand unhold" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand unhold" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand unhold" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand unhold" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand unhold" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand unhold" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand unhold" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand showhold" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand showhold" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand showhold" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand showhold" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand showhold" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand showhold" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand showhold" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand showhold" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand showhold" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand skip" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand skip" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand skip" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand skip" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand skip" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand skip" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand skip" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand skip" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c freshen -n "__fish_freshen_using_subcommand skip" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand unskip" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand unskip" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand unskip" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand unskip" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand unskip" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand unskip" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand unskip" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand unskip" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c freshen -n "__fish_freshen_using_subcommand unskip" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand showskip" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand showskip" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand showskip" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand showskip" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand showskip" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand showskip" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand showskip" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand showskip" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c freshen -n "__fish_freshen_using_subcommand showskip" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand rollback" -l wait -d 'Seconds a recreated container has to become healthy (with a HEALTHCHECK) or to keep running (without one) before it counts as upgraded; otherwise it is rolled back' -r
complete -c freshen -n "__fish_freshen_using_subcommand rollback" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand rollback" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand rollback" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand rollback" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand rollback" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand rollback" -s s -l dry-run -d 'Show what would happen and change nothing'
complete -c freshen -n "__fish_freshen_using_subcommand rollback" -l no-recreate -d 'Only pull and retag: leave the containers that run the replaced version as they are'
complete -c freshen -n "__fish_freshen_using_subcommand rollback" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand rollback" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand rollback" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand notify" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand notify" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand notify" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand notify" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand notify" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand notify" -l test -d 'Send a test message to every target and report each result'
complete -c freshen -n "__fish_freshen_using_subcommand notify" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand notify" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand notify" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand notify" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -l on-calendar -d 'When to run: a systemd calendar expression; with --cron: hourly, daily or weekly' -r
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -l randomized-delay -d 'Random delay before each run, so a fleet does not reach the registries at once' -r
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -l dir -d 'Directory to install into or uninstall from (for packagers and tests)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -l install -d 'Write the files (to /etc/systemd/system, or /etc/cron.d with --cron)'
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -l uninstall -d 'Remove the files that --install wrote'
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -l cron -d 'A crontab line in /etc/cron.d instead of a systemd timer'
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand schedule" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand motd" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand motd" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand motd" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand motd" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand motd" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand motd" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand motd" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand motd" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand motd" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand metrics" -s o -l output -d 'Write the metrics to this file atomically (a .prom file in the collector\'s directory), readable as the umask allows (0644 under umask 022), for node_exporter\'s own user' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand metrics" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand metrics" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand metrics" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand metrics" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand metrics" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand metrics" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand metrics" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand metrics" -s h -l help -d 'Print help'
complete -c freshen -n "__fish_freshen_using_subcommand metrics" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -l hosts -d 'The hosts, as ssh reaches them (user@host, an alias of ~/.ssh/config), comma-separated (default: hosts = [...] in the config file\'s [fleet] section)' -r
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -l jobs -d 'Hosts asked at once (update, check, list)' -r
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -l format -d 'Output format: one table with a HOST column, or JSON with the host in each row' -r -f -a "table\t'Aligned columns with a HOST column'
json\t'A JSON array: each host\'s rows with `host` added'"
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -l keep-going -d 'upgrade: go on to the next host after a host whose upgrade failed'
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c freshen -n "__fish_freshen_using_subcommand fleet" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand policy" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand policy" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand policy" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand policy" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand policy" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand policy" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand policy" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand policy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c freshen -n "__fish_freshen_using_subcommand policy" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand serve" -l listen -d 'Address and port to listen on (default: [serve] listen, else 127.0.0.1:8675)' -r
complete -c freshen -n "__fish_freshen_using_subcommand serve" -l state-dir -d 'Directory for freshen\'s state (default: $XDG_STATE_HOME/freshen)' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand serve" -l config -d 'Config file, which must exist (default: $FRESHEN_CONFIG, else $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))' -r -F
complete -c freshen -n "__fish_freshen_using_subcommand serve" -s H -l host -d 'Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default: $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI\'s current context, else unix:///var/run/docker.sock)' -r
complete -c freshen -n "__fish_freshen_using_subcommand serve" -l insecure-registry -d 'Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback registries and daemon.json\'s insecure-registries are always allowed' -r
complete -c freshen -n "__fish_freshen_using_subcommand serve" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c freshen -n "__fish_freshen_using_subcommand serve" -s q -l quiet -d 'Print only errors and the final summary'
complete -c freshen -n "__fish_freshen_using_subcommand serve" -s v -l verbose -d 'Print each registry request\'s outcome and rate-limit headers'
complete -c freshen -n "__fish_freshen_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c freshen -n "__fish_freshen_using_subcommand serve" -s V -l version -d 'Print version'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "update" -d 'Ask the registries for the current digest of every local tag and record it'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "list" -d 'Show local tags and whether they are current, from the last update (offline)'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "check" -d 'Update, then exit 100 if an image can be upgraded (for cron and monitoring)'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "generate" -d 'Write shell completions and the man page (for packagers)'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "upgrade" -d 'Pull the new version of every upgradable tag (or those named) and retire the old one'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "autoremove" -d 'Retire old versions: images an upgrade replaced and earlier untagged versions'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "hold" -d 'Hold tags: never upgrade them, never retire their versions'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "unhold" -d 'Cancel holds'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "showhold" -d 'List the held tags and patterns, one per line'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "skip" -d 'Skip the version the registry offers now for these tags, until it offers another'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "unskip" -d 'Offer skipped versions again'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "showskip" -d 'List the skipped versions, one per line'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "rollback" -d 'Point a tag back at the version an upgrade replaced, if it is still here'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "notify" -d 'Send a test message to every notification target'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "schedule" -d 'Print or install a systemd timer (or cron job) that runs \'freshen update --notify\''
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "motd" -d 'Print the login message: how many image updates can be applied (offline, from the state)'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "metrics" -d 'Print or write Prometheus metrics for node_exporter\'s textfile collector (offline)'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "fleet" -d 'Run update, check, list or upgrade on several hosts over ssh and show one view'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "policy" -d 'Show an image\'s installed version, its candidate and the newer tags, like \'apt-cache policy\''
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "serve" -d 'Serve a status page, an HTTP API and Home Assistant over MQTT, and keep the state fresh'
complete -c freshen -n "__fish_freshen_using_subcommand help; and not __fish_seen_subcommand_from update list check generate upgrade autoremove hold unhold showhold skip unskip showskip rollback notify schedule motd metrics fleet policy serve help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
