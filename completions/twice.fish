# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_twice_global_optspecs
    string join \n h/help V/version
end

function __fish_twice_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_twice_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_twice_using_subcommand
    set -l cmd (__fish_twice_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c twice -n "__fish_twice_needs_command" -s h -l help -d 'Print help'
complete -c twice -n "__fish_twice_needs_command" -s V -l version -d 'Print version'
complete -c twice -n "__fish_twice_needs_command" -f -a "check" -d 'Audit migration files and folders'
complete -c twice -n "__fish_twice_needs_command" -f -a "plan" -d 'Show what `twice check` would read, without running anything: each sequence\'s layout, dialect, engine and migrations in run order'
complete -c twice -n "__fish_twice_needs_command" -f -a "rules" -d 'List every rule: id, default severity and summary'
complete -c twice -n "__fish_twice_needs_command" -f -a "explain" -d 'Print a rule\'s full documentation'
complete -c twice -n "__fish_twice_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c twice -n "__fish_twice_needs_command" -f -a "lsp" -d 'Run the language server for editors (LSP over stdin/stdout)'
complete -c twice -n "__fish_twice_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twice -n "__fish_twice_using_subcommand check" -l dialect -d 'SQL dialect of the migrations [default: what a folder name such as `postgres/` implies, else what the SQL is clearly written in, else the --engine\'s (sqlite)]' -r -f -a "sqlite\t''
postgres\t''
mysql\t''
generic\t''"
complete -c twice -n "__fish_twice_using_subcommand check" -l format -d 'Output format [default: human; with GITHUB_ACTIONS set, human followed by GitHub annotations]' -r -f -a "human\t'rustc-style diagnostics with code frames'
json\t'one JSON document (version 1), stable for scripts'
sarif\t'SARIF 2.1.0, for GitHub code scanning and other SARIF viewers'
github\t'GitHub Actions workflow commands (annotations)'
gitlab\t'GitLab Code Quality report (JSON)'"
complete -c twice -n "__fish_twice_using_subcommand check" -s j -l jobs -d 'Threads for the static rules and for replaying independent sequences side by side; the output is the same for any number [default: the number of cores, or `jobs` in twice.toml; 1 runs everything on one thread]' -r
complete -c twice -n "__fish_twice_using_subcommand check" -l fail-on -d 'Lowest severity that makes the exit code 1 [default: warning, or `fail-on` in twice.toml]' -r -f -a "error\t''
warning\t''
never\t''"
complete -c twice -n "__fish_twice_using_subcommand check" -l color -d 'When to use colours (NO_COLOR and a non-terminal stdout turn `auto` off)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c twice -n "__fish_twice_using_subcommand check" -l stdin-filename -d 'The file name to show for a script read from stdin' -r
complete -c twice -n "__fish_twice_using_subcommand check" -l layout -d 'Migration layout of the folders (default: detected per folder)' -r
complete -c twice -n "__fish_twice_using_subcommand check" -s D -l define -d 'Substitute `${NAME}` placeholders (and psql `:NAME` variables in PostgreSQL files) with VALUE (repeatable)' -r
complete -c twice -n "__fish_twice_using_subcommand check" -l timeout -d 'Time limit for one statement during replay, in seconds' -r
complete -c twice -n "__fish_twice_using_subcommand check" -l engine -d 'Database engine for replay' -r -f -a "sqlite\t''
postgres\t''
mysql\t''
auto\t'Each sequence on the engine of its dialect, when available'"
complete -c twice -n "__fish_twice_using_subcommand check" -l database-url -d 'PostgreSQL server to replay on (twice creates and drops a scratch database and a role of its own there, which runs the migrations; needs CREATEDB and CREATEROLE), or with --engine mysql a mysql:// URL (the user needs CREATE, DROP, CREATE USER and GRANT OPTION). Without it, a throwaway local server is started when one is installed' -r
complete -c twice -n "__fish_twice_using_subcommand check" -l template -d 'Database the scratch database is copied from on PostgreSQL (default template1, so what the DBA installed there is there)' -r
complete -c twice -n "__fish_twice_using_subcommand check" -l setup -d 'SQL script run once before the first migration of each sequence, never audited (extensions, roles, schemas the project installs by hand); on PostgreSQL it runs as the migration role on twice\'s own cluster (the roles it creates made by twice), as the URL\'s role with --database-url' -r -F
complete -c twice -n "__fish_twice_using_subcommand check" -l config -d 'Configuration file (default: twice.toml in this folder or the nearest parent)' -r -F
complete -c twice -n "__fish_twice_using_subcommand check" -l since -d 'Audit only migrations added or changed since this git revision (`origin/main`, a tag, a commit); the unchanged ones are applied once as the starting state, and an applied file edited since is an error (applied-migration-changed). Needs `git`' -r
complete -c twice -n "__fish_twice_using_subcommand check" -l from -d 'Audit only migrations from this version on (in the layout\'s order); the ones before it are applied once as the starting state' -r
complete -c twice -n "__fish_twice_using_subcommand check" -l baseline -d 'Report only findings not accepted in this baseline file [default: `baseline` in twice.toml]' -r -F
complete -c twice -n "__fish_twice_using_subcommand check" -l write-baseline -d 'Record every current finding in FILE as accepted (then report none of them and exit 0)' -r -F
complete -c twice -n "__fish_twice_using_subcommand check" -l select -d 'Report only these rules (comma-separated ids); wins over [rules] in twice.toml' -r
complete -c twice -n "__fish_twice_using_subcommand check" -l ignore -d 'Do not report these rules (comma-separated ids); wins over [rules] in twice.toml and --select' -r
complete -c twice -n "__fish_twice_using_subcommand check" -l output-file -d 'Write the report to FILE instead of stdout; the human summary goes to stderr' -r -F
complete -c twice -n "__fish_twice_using_subcommand check" -l no-replay -d 'Only run the static rules; do not replay migrations'
complete -c twice -n "__fish_twice_using_subcommand check" -l no-down -d 'Do not check down migrations'
complete -c twice -n "__fish_twice_using_subcommand check" -l seed -d 'Fill every table with a few synthetic rows before each migration\'s first run, so copies and backfills that are no-ops on empty tables show up (the default; kept for scripts that pass it)'
complete -c twice -n "__fish_twice_using_subcommand check" -l no-seed -d 'Do not seed tables with synthetic rows before each migration\'s first run'
complete -c twice -n "__fish_twice_using_subcommand check" -l no-interleave -d 'Do not write rows between a migration\'s first and second run (the check that a re-run keeps what the application wrote since)'
complete -c twice -n "__fish_twice_using_subcommand check" -l database-url-trusted -d 'The --database-url server is disposable: when its role cannot create roles, run the migrations as that role itself (they can then change anything that role can). Without it twice refuses such a role'
complete -c twice -n "__fish_twice_using_subcommand check" -l fix -d 'Rewrite, in place, the statements that have one safe idempotent form (edits are verified by checking the fixed files again first), then report what remains. With `-` (stdin), print the fixed script instead'
complete -c twice -n "__fish_twice_using_subcommand check" -l diff -d 'Print the edits `--fix` would make as a unified diff; write nothing. Exit code 1 when there is something to fix'
complete -c twice -n "__fish_twice_using_subcommand check" -l unsafe-fixes -d 'With --fix or --diff, also apply the unsafe fixes: rewrites that make a statement idempotent but can change what it does otherwise (SQLite\'s `INSERT OR IGNORE` and MySQL\'s `INSERT IGNORE` also skip rows that break NOT NULL or CHECK constraints). `twice explain RULE` says which'
complete -c twice -n "__fish_twice_using_subcommand check" -s q -l quiet -d 'Print only the summary line (nothing when there is no finding); other formats print their document as usual, without notices on stderr'
complete -c twice -n "__fish_twice_using_subcommand check" -l statistics -d 'Print the number of findings per rule instead of the findings'
complete -c twice -n "__fish_twice_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twice -n "__fish_twice_using_subcommand check" -s V -l version -d 'Print version'
complete -c twice -n "__fish_twice_using_subcommand plan" -l dialect -d 'SQL dialect of the migrations (as for `twice check`)' -r -f -a "sqlite\t''
postgres\t''
mysql\t''
generic\t''"
complete -c twice -n "__fish_twice_using_subcommand plan" -l layout -d 'Migration layout of the folders (default: detected per folder)' -r
complete -c twice -n "__fish_twice_using_subcommand plan" -l engine -d 'Database engine replay would use' -r -f -a "sqlite\t''
postgres\t''
mysql\t''
auto\t'Each sequence on the engine of its dialect, when available'"
complete -c twice -n "__fish_twice_using_subcommand plan" -s D -l define -d 'Substitute `${NAME}` placeholders with VALUE (repeatable)' -r
complete -c twice -n "__fish_twice_using_subcommand plan" -l setup -d 'The setup script `twice check --setup FILE` would run before each sequence\'s first migration (shown, not run)' -r -F
complete -c twice -n "__fish_twice_using_subcommand plan" -l config -d 'Configuration file (default: twice.toml in this folder or the nearest parent)' -r -F
complete -c twice -n "__fish_twice_using_subcommand plan" -l format -d 'Output format' -r -f -a "human\t'For people'
json\t'For scripts: the document described in docs/layouts.md'"
complete -c twice -n "__fish_twice_using_subcommand plan" -l no-down -d 'Leave down migrations out, as `twice check --no-down` does'
complete -c twice -n "__fish_twice_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twice -n "__fish_twice_using_subcommand plan" -s V -l version -d 'Print version'
complete -c twice -n "__fish_twice_using_subcommand rules" -s h -l help -d 'Print help'
complete -c twice -n "__fish_twice_using_subcommand rules" -s V -l version -d 'Print version'
complete -c twice -n "__fish_twice_using_subcommand explain" -s h -l help -d 'Print help'
complete -c twice -n "__fish_twice_using_subcommand explain" -s V -l version -d 'Print version'
complete -c twice -n "__fish_twice_using_subcommand completions" -s h -l help -d 'Print help'
complete -c twice -n "__fish_twice_using_subcommand completions" -s V -l version -d 'Print version'
complete -c twice -n "__fish_twice_using_subcommand lsp" -l stdio -d 'Accepted for editors that pass it; stdio is the only transport'
complete -c twice -n "__fish_twice_using_subcommand lsp" -s h -l help -d 'Print help'
complete -c twice -n "__fish_twice_using_subcommand lsp" -s V -l version -d 'Print version'
complete -c twice -n "__fish_twice_using_subcommand help; and not __fish_seen_subcommand_from check plan rules explain completions lsp help" -f -a "check" -d 'Audit migration files and folders'
complete -c twice -n "__fish_twice_using_subcommand help; and not __fish_seen_subcommand_from check plan rules explain completions lsp help" -f -a "plan" -d 'Show what `twice check` would read, without running anything: each sequence\'s layout, dialect, engine and migrations in run order'
complete -c twice -n "__fish_twice_using_subcommand help; and not __fish_seen_subcommand_from check plan rules explain completions lsp help" -f -a "rules" -d 'List every rule: id, default severity and summary'
complete -c twice -n "__fish_twice_using_subcommand help; and not __fish_seen_subcommand_from check plan rules explain completions lsp help" -f -a "explain" -d 'Print a rule\'s full documentation'
complete -c twice -n "__fish_twice_using_subcommand help; and not __fish_seen_subcommand_from check plan rules explain completions lsp help" -f -a "completions" -d 'Print a shell completion script'
complete -c twice -n "__fish_twice_using_subcommand help; and not __fish_seen_subcommand_from check plan rules explain completions lsp help" -f -a "lsp" -d 'Run the language server for editors (LSP over stdin/stdout)'
complete -c twice -n "__fish_twice_using_subcommand help; and not __fish_seen_subcommand_from check plan rules explain completions lsp help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
