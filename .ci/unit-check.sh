#!/usr/bin/env bash
# A syntax check of systemd unit files for machines without systemd-analyze:
# every line is a comment, a blank, a [Section] header or a Key=value pair;
# sections are the ones a .service or .timer may have; every key is one
# systemd knows for its section (the lists below cover the options of
# systemd.unit(5), systemd.service(5), systemd.exec(5), systemd.timer(5) that
# a unit like ours would use, not all of systemd); no key is empty; the
# [Service] of a service has ExecStart= with an absolute path, and the
# [Timer] of a timer has a trigger. Usage: unit-check.sh FILE...
set -euo pipefail

status=0
for file in "$@"; do
    kind=${file##*.}
    awk -v kind="$kind" -v file="$file" '
    BEGIN {
        split("Description Documentation Wants Requires Requisite BindsTo PartOf Upholds Conflicts " \
              "Before After OnFailure OnSuccess ConditionPathExists AssertPathExists " \
              "StartLimitIntervalSec StartLimitBurst DefaultDependencies", k, " ")
        for (i in k) known["Unit", k[i]] = 1
        split("Type ExecStart ExecStartPre ExecStartPost ExecStop ExecStopPost ExecReload Restart " \
              "RestartSec TimeoutStartSec TimeoutStopSec TimeoutSec RemainAfterExit SuccessExitStatus " \
              "Environment EnvironmentFile User Group WorkingDirectory Nice IOSchedulingClass " \
              "IOSchedulingPriority CPUSchedulingPolicy StateDirectory CacheDirectory " \
              "RuntimeDirectory LogsDirectory ConfigurationDirectory PrivateTmp ProtectSystem " \
              "ProtectHome NoNewPrivileges StandardOutput StandardError SyslogIdentifier KillMode", k, " ")
        for (i in k) known["Service", k[i]] = 1
        split("OnActiveSec OnBootSec OnStartupSec OnUnitActiveSec OnUnitInactiveSec OnCalendar " \
              "AccuracySec RandomizedDelaySec FixedRandomDelay OnClockChange OnTimezoneChange Unit " \
              "Persistent WakeSystem RemainAfterElapse", k, " ")
        for (i in k) known["Timer", k[i]] = 1
        split("WantedBy RequiredBy Alias Also DefaultInstance", k, " ")
        for (i in k) known["Install", k[i]] = 1
        allowed["Unit"] = 1; allowed["Install"] = 1
        if (kind == "service") allowed["Service"] = 1
        else if (kind == "timer") allowed["Timer"] = 1
        else { printf "%s: not a .service or .timer file\n", file; bad = 1; exit }
        section = ""
    }
    function fail(msg) { printf "%s:%d: %s\n", file, NR, msg; bad = 1 }
    /^[ \t]*([#;].*)?$/ { next }
    /^\[[A-Za-z]+\]$/ {
        section = substr($0, 2, length($0) - 2)
        if (!(section in allowed)) fail("section [" section "] does not belong in a ." kind " unit")
        if (section in seen) fail("section [" section "] appears twice")
        seen[section] = 1
        next
    }
    /^[A-Za-z]+=/ {
        key = substr($0, 1, index($0, "=") - 1)
        value = substr($0, index($0, "=") + 1)
        if (section == "") { fail(key " before any [Section]"); next }
        if (!((section, key) in known)) fail("unknown key " key "= in [" section "]")
        if (value ~ /^[ \t]*$/) fail(key "= is empty")
        if (key == "ExecStart") { exec = 1; if (value !~ /^[-@:+!]*\//) fail("ExecStart= must start with an absolute path") }
        if (section == "Timer" && key ~ /^On/) trigger = 1
        next
    }
    { fail("not a comment, a [Section] or a Key=value line: " $0) }
    END {
        if (bad) exit 1
        if (!("Unit" in seen)) { printf "%s: no [Unit] section\n", file; exit 1 }
        if (kind == "service" && !exec) { printf "%s: no ExecStart= in [Service]\n", file; exit 1 }
        if (kind == "timer" && !trigger) { printf "%s: no On...= trigger in [Timer]\n", file; exit 1 }
    }' "$file" || status=1
done
exit "$status"
