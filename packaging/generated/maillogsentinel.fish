# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_maillogsentinel_global_optspecs
    string join \n config= allow-root reset purge setup report from-end jsonl= no-progress no-dns stdout html= date= yesterday since= until= scheduled no-scan send fleet server= h/help V/version
end

function __fish_maillogsentinel_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_maillogsentinel_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_maillogsentinel_using_subcommand
    set -l cmd (__fish_maillogsentinel_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l jsonl -d 'Also export every event as JSON Lines to PATH (overrides `[paths] jsonl_export`)' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l html -d 'Also write the HTML report (chart included) to FILE' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l date -d 'This local day (YYYY-MM-DD) [default: today]' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l since -d 'Start of the window: YYYY-MM-DD[ HH:MM], RFC 3339, or an age (7d, 12h)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l until -d 'End of the window (excluded)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l server -d 'Report one server of the fleet from the central store (failures on any server count as evidence)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l reset -d 'Archive the CSV, database, checkpoints and own log into a timestamped backup directory; the next run starts from the beginning'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l purge -d 'Like --reset, and also archive caches: only the configuration stays'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l setup -d 'Interactive setup: config, directories, systemd units (see `setup --help`)'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l report -d 'Scan, then report a window (today by default) by mail, or with --stdout / --html'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l from-end -d 'On the first run, start at the end of the logs instead of reading all rotated files'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l no-progress -d 'No progress line, even on a terminal'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l no-dns -d 'No reverse DNS lookups for this run (like `[dns] enabled = false`)'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l stdout -d 'Print the text report instead of mailing it'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l yesterday -d 'Yesterday (local time)'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l scheduled -d 'Report from the end of the last scheduled report to now (what the report timer runs): consecutive windows with no gap and no overlap, a missed run caught up by the next; the first one starts at midnight'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l no-scan -d 'Report from the store as it is, without scanning the logs first'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l send -d 'Mail the report even with --stdout or --html'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -l fleet -d 'Report the whole fleet from the central store ([central] report_url); no local scan'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -s V -l version -d 'Print version'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "run" -d 'The incremental extraction (the default when no command is given)'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "follow" -d 'Follow mode: read the mail log as it is written and store its events within a second, until stopped (SIGTERM); a default run meanwhile exits 0'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "parse" -d 'Print the authentication events of log files (stateless: no config, no store, no network)'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "report" -d 'Same as --report: scan, then report a window'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "setup" -d 'Same as --setup; `--non-interactive` takes every answer from flags or --answers'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "check-config" -d 'Check the configuration, paths, permissions and the mail log; say what a run would do'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "generate" -d 'Write the man page and shell completions (for packaging)'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "anonymize" -d 'Rewrite logs for sharing: addresses (prefix-preserving), users, host names, sessions, queue ids and the passwords Dovecot logs replaced by keyed pseudonyms; parse counts the result as the original'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "reset" -d 'Same as --reset'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "purge" -d 'Same as --purge'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "ipinfo" -d 'What is known of addresses: country, ASN, organisation, PTR, and what the store saw'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "query" -d 'The stored events matching filters, newest first or grouped (read-only)'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "blocklist" -d 'Print the blocklist as it stands: addresses and networks of brute force and possible compromises, for nftables, Postfix or plain'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "export" -d 'Export for others: the window\'s attacking addresses as AbuseIPDB\'s bulk-report CSV'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "ship" -d 'Ship the events not shipped yet to the central PostgreSQL store ([central]); also done at the end of every run'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "central" -d 'The central store of a fleet: create its schema, add a server\'s role'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "update-geo" -d 'Download the geo databases of the config (country_db_url, asn_db_url), atomically'
complete -c maillogsentinel -n "__fish_maillogsentinel_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand run" -l jsonl -d 'Also export every event as JSON Lines to PATH (overrides `[paths] jsonl_export`)' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand run" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand run" -l from-end -d 'On the first run, start at the end of the logs instead of reading all rotated files'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand run" -l no-progress -d 'No progress line, even on a terminal'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand run" -l no-dns -d 'No reverse DNS lookups for this run (like `[dns] enabled = false`)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand run" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand run" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand follow" -l jsonl -d 'Also export every event as JSON Lines to PATH (overrides `[paths] jsonl_export`)' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand follow" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand follow" -l from-end -d 'On the first run, start at the end of the logs instead of reading all rotated files'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand follow" -l no-progress -d 'No progress line, even on a terminal'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand follow" -l no-dns -d 'No reverse DNS lookups for this run (like `[dns] enabled = false`)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand follow" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand follow" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand parse" -l format -d 'Output format' -r -f -a "jsonl\t''
csv\t''
table\t''"
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand parse" -l year -d 'Year of the first classic (yearless) timestamp; later ones roll over at New Year. Default: inferred from each file\'s mtime (now for stdin)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand parse" -l timezone -d 'Time zone of timestamps without an offset (IANA name). Default: the system\'s' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand parse" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand parse" -l show-unmatched -d 'Print the auth-related lines no rule recognised (on stderr)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand parse" -l explain -d 'Explain each line instead of printing events: its envelope, the rule that took it (or the nearest one), its fields, and how it was counted (at once, waiting, paired)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand parse" -s q -l quiet -d 'No summary on stderr'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand parse" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand parse" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l jsonl -d 'Also export every event as JSON Lines to PATH (overrides `[paths] jsonl_export`)' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l html -d 'Also write the HTML report (chart included) to FILE' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l date -d 'This local day (YYYY-MM-DD) [default: today]' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l since -d 'Start of the window: YYYY-MM-DD[ HH:MM], RFC 3339, or an age (7d, 12h)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l until -d 'End of the window (excluded)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l server -d 'Report one server of the fleet from the central store (failures on any server count as evidence)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l from-end -d 'On the first run, start at the end of the logs instead of reading all rotated files'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l no-progress -d 'No progress line, even on a terminal'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l no-dns -d 'No reverse DNS lookups for this run (like `[dns] enabled = false`)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l stdout -d 'Print the text report instead of mailing it'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l yesterday -d 'Yesterday (local time)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l scheduled -d 'Report from the end of the last scheduled report to now (what the report timer runs): consecutive windows with no gap and no overlap, a missed run caught up by the next; the first one starts at midnight'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l no-scan -d 'Report from the store as it is, without scanning the logs first'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l send -d 'Mail the report even with --stdout or --html'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l fleet -d 'Report the whole fleet from the central store ([central] report_url); no local scan'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand report" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l answers -d 'A file of `key = value` answers (keys as the flags: user, working_dir, mail_log...)' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l user -d 'Operational user (must exist, not root)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l working-dir -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l state-dir -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l mail-log -d 'A log file, or `journal`' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l email -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l log-level -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l mode -d '`timer` (a run every --extract-schedule) or `follow` (reads continuously: alerts, blocklists within seconds) [default: timer]' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l extract-schedule -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l report-schedule -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l geo-schedule -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l country-db -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l asn-db -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l units-dir -d 'Where to write the units when not installing [default: the current directory]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l exe -d 'The binary the units run [default: this one]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l non-interactive -d 'Ask nothing: answers from the flags below and --answers, defaults for the rest'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l install-units -d 'Install the units to /etc/systemd/system (else they are written to --units-dir)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand setup" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand check-config" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand check-config" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand check-config" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand generate" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand generate" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand generate" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand anonymize" -l key-file -d 'The secret: a file of at least 16 random bytes (head -c 32 /dev/urandom > FILE). The same key gives the same replacements in every file and every run; keep it to anonymise later logs consistently, never share it' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand anonymize" -s o -l output -d 'Write to FILE instead of standard output' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand anonymize" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand anonymize" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand anonymize" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand reset" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand reset" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand reset" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand purge" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand purge" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand purge" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand ipinfo" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand ipinfo" -l json -d 'One JSON object per address, one per line'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand ipinfo" -l no-dns -d 'Use only the cached reverse DNS, never ask the network'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand ipinfo" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand ipinfo" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l ip -d 'An address, or a network in CIDR notation (192.0.2.0/24, 2001:db8::/48)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l user -d 'A user name, exactly' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l user-like -d 'User names matching a glob: `*` any run of characters, `?` one (case-sensitive)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l asn -d 'An AS number (64500 or AS64500)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l country -d 'A country (ISO 3166 code: FR, us)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l server -d 'A server (the log host name)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l outcome -d 'Failures or successes only' -r -f -a "failure\t''
success\t''"
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l since -d 'From: YYYY-MM-DD[ HH:MM[:SS]] (config time zone), RFC 3339, or an age (7d, 12h, 30m)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l until -d 'Until (excluded), in the same forms' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l group-by -d 'Count the matching events per value, with first and last seen, most attempts first (days and hours in time order)' -r -f -a "ip\t''
net\t''
user\t''
asn\t''
country\t''
server\t''
day\t''
hour\t''"
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l format -d 'An aligned table, JSON (an array of objects) or CSV (`;`)' -r -f -a "table\t''
json\t''
csv\t''"
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l limit -d 'At most N events or groups' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l fleet -d 'Ask the fleet\'s central store ([central] report_url) instead of the local one'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand query" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand blocklist" -l format -d 'nftables, postfix or plain (default: [blocklist] format, else plain)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand blocklist" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand blocklist" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand blocklist" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand export" -l date -d 'This local day (YYYY-MM-DD) [default: today]' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand export" -l since -d 'Start of the window: YYYY-MM-DD[ HH:MM], RFC 3339, or an age (7d, 12h)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand export" -l until -d 'End of the window (excluded)' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand export" -s o -l output -d 'Write to FILE instead of standard output' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand export" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand export" -l abuse-report -d 'The window\'s attacking addresses as AbuseIPDB\'s bulk-report CSV (IP, categories, time, a comment with counts and protocols; no user or host name)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand export" -l yesterday -d 'Yesterday (local time)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand export" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand export" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand ship" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand ship" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand ship" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and not __fish_seen_subcommand_from init add-server add-reader help" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and not __fish_seen_subcommand_from init add-server add-reader help" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and not __fish_seen_subcommand_from init add-server add-reader help" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and not __fish_seen_subcommand_from init add-server add-reader help" -f -a "init" -d 'Create or migrate the central schema (idempotent), with an admin role\'s URL'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and not __fish_seen_subcommand_from init add-server add-reader help" -f -a "add-server" -d 'Create the role of server NAME (insert-only, its own rows) and write its password file'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and not __fish_seen_subcommand_from init add-server add-reader help" -f -a "add-reader" -d 'Create the reader role `mls_read_NAME` (SELECT only) for `report --fleet`'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and not __fish_seen_subcommand_from init add-server add-reader help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from init" -l url -d 'postgresql://ADMIN@HOST:PORT/DB of a role that may create tables and roles' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from init" -l admin-password-file -d 'A file holding the admin\'s password (else PGPASSWORD-free trust or peer auth)' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from init" -l tls -d 'disable, require or verify-full' -r -f -a "disable\t''
require\t''
verify-full\t''"
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from init" -l ca-file -d 'CA certificate(s), PEM, for --tls verify-full' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from init" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from init" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-server" -l url -d 'postgresql://ADMIN@HOST:PORT/DB of a role that may create tables and roles' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-server" -l admin-password-file -d 'A file holding the admin\'s password (else PGPASSWORD-free trust or peer auth)' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-server" -l tls -d 'disable, require or verify-full' -r -f -a "disable\t''
require\t''
verify-full\t''"
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-server" -l ca-file -d 'CA certificate(s), PEM, for --tls verify-full' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-server" -l password-file -d 'Where to write the new role\'s password [default: ./NAME.pass]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-server" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-server" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-server" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-reader" -l url -d 'postgresql://ADMIN@HOST:PORT/DB of a role that may create tables and roles' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-reader" -l admin-password-file -d 'A file holding the admin\'s password (else PGPASSWORD-free trust or peer auth)' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-reader" -l tls -d 'disable, require or verify-full' -r -f -a "disable\t''
require\t''
verify-full\t''"
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-reader" -l ca-file -d 'CA certificate(s), PEM, for --tls verify-full' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-reader" -l password-file -d 'Where to write the new role\'s password [default: ./NAME.pass]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-reader" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-reader" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from add-reader" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from help" -f -a "init" -d 'Create or migrate the central schema (idempotent), with an admin role\'s URL'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from help" -f -a "add-server" -d 'Create the role of server NAME (insert-only, its own rows) and write its password file'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from help" -f -a "add-reader" -d 'Create the reader role `mls_read_NAME` (SELECT only) for `report --fleet`'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand central; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand update-geo" -l timeout -d 'Time allowed to each download, in seconds' -r
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand update-geo" -l config -d 'Configuration file [default: /etc/maillogsentinel.conf]' -r -F
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand update-geo" -l allow-root -d 'Run even as root (the operational user is meant to run it)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand update-geo" -s h -l help -d 'Print help'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "run" -d 'The incremental extraction (the default when no command is given)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "follow" -d 'Follow mode: read the mail log as it is written and store its events within a second, until stopped (SIGTERM); a default run meanwhile exits 0'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "parse" -d 'Print the authentication events of log files (stateless: no config, no store, no network)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "report" -d 'Same as --report: scan, then report a window'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "setup" -d 'Same as --setup; `--non-interactive` takes every answer from flags or --answers'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "check-config" -d 'Check the configuration, paths, permissions and the mail log; say what a run would do'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "generate" -d 'Write the man page and shell completions (for packaging)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "anonymize" -d 'Rewrite logs for sharing: addresses (prefix-preserving), users, host names, sessions, queue ids and the passwords Dovecot logs replaced by keyed pseudonyms; parse counts the result as the original'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "reset" -d 'Same as --reset'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "purge" -d 'Same as --purge'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "ipinfo" -d 'What is known of addresses: country, ASN, organisation, PTR, and what the store saw'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "query" -d 'The stored events matching filters, newest first or grouped (read-only)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "blocklist" -d 'Print the blocklist as it stands: addresses and networks of brute force and possible compromises, for nftables, Postfix or plain'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "export" -d 'Export for others: the window\'s attacking addresses as AbuseIPDB\'s bulk-report CSV'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "ship" -d 'Ship the events not shipped yet to the central PostgreSQL store ([central]); also done at the end of every run'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "central" -d 'The central store of a fleet: create its schema, add a server\'s role'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "update-geo" -d 'Download the geo databases of the config (country_db_url, asn_db_url), atomically'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and not __fish_seen_subcommand_from run follow parse report setup check-config generate anonymize reset purge ipinfo query blocklist export ship central update-geo help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and __fish_seen_subcommand_from central" -f -a "init" -d 'Create or migrate the central schema (idempotent), with an admin role\'s URL'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and __fish_seen_subcommand_from central" -f -a "add-server" -d 'Create the role of server NAME (insert-only, its own rows) and write its password file'
complete -c maillogsentinel -n "__fish_maillogsentinel_using_subcommand help; and __fish_seen_subcommand_from central" -f -a "add-reader" -d 'Create the reader role `mls_read_NAME` (SELECT only) for `report --fleet`'
