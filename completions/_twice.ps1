
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'twice' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'twice'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'twice' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Audit migration files and folders')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what `twice check` would read, without running anything: each sequence''s layout, dialect, engine and migrations in run order')
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'List every rule: id, default severity and summary')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Print a rule''s full documentation')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('lsp', 'lsp', [CompletionResultType]::ParameterValue, 'Run the language server for editors (LSP over stdin/stdout)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'twice;check' {
            [CompletionResult]::new('--dialect', '--dialect', [CompletionResultType]::ParameterName, 'SQL dialect of the migrations [default: what a folder name such as `postgres/` implies, else what the SQL is clearly written in, else the --engine''s (sqlite)]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: human; with GITHUB_ACTIONS set, human followed by GitHub annotations]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads for the static rules and for replaying independent sequences side by side; the output is the same for any number [default: the number of cores, or `jobs` in twice.toml; 1 runs everything on one thread]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads for the static rules and for replaying independent sequences side by side; the output is the same for any number [default: the number of cores, or `jobs` in twice.toml; 1 runs everything on one thread]')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Lowest severity that makes the exit code 1 [default: warning, or `fail-on` in twice.toml]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR and a non-terminal stdout turn `auto` off)')
            [CompletionResult]::new('--stdin-filename', '--stdin-filename', [CompletionResultType]::ParameterName, 'The file name to show for a script read from stdin')
            [CompletionResult]::new('--layout', '--layout', [CompletionResultType]::ParameterName, 'Migration layout of the folders (default: detected per folder)')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Substitute `${NAME}` placeholders (and psql `:NAME` variables in PostgreSQL files) with VALUE (repeatable)')
            [CompletionResult]::new('--define', '--define', [CompletionResultType]::ParameterName, 'Substitute `${NAME}` placeholders (and psql `:NAME` variables in PostgreSQL files) with VALUE (repeatable)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for one statement during replay, in seconds')
            [CompletionResult]::new('--engine', '--engine', [CompletionResultType]::ParameterName, 'Database engine for replay')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL server to replay on (twice creates and drops a scratch database and a role of its own there, which runs the migrations; needs CREATEDB and CREATEROLE), or with --engine mysql a mysql:// URL (the user needs CREATE, DROP, CREATE USER and GRANT OPTION). Without it, a throwaway local server is started when one is installed')
            [CompletionResult]::new('--template', '--template', [CompletionResultType]::ParameterName, 'Database the scratch database is copied from on PostgreSQL (default template1, so what the DBA installed there is there)')
            [CompletionResult]::new('--setup', '--setup', [CompletionResultType]::ParameterName, 'SQL script run once before the first migration of each sequence, never audited (extensions, roles, schemas the project installs by hand); on PostgreSQL it runs as the migration role on twice''s own cluster (the roles it creates made by twice), as the URL''s role with --database-url')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: twice.toml in this folder or the nearest parent)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Audit only migrations added or changed since this git revision (`origin/main`, a tag, a commit); the unchanged ones are applied once as the starting state, and an applied file edited since is an error (applied-migration-changed). Needs `git`')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Audit only migrations from this version on (in the layout''s order); the ones before it are applied once as the starting state')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'Report only findings not accepted in this baseline file [default: `baseline` in twice.toml]')
            [CompletionResult]::new('--write-baseline', '--write-baseline', [CompletionResultType]::ParameterName, 'Record every current finding in FILE as accepted (then report none of them and exit 0)')
            [CompletionResult]::new('--select', '--select', [CompletionResultType]::ParameterName, 'Report only these rules (comma-separated ids); wins over [rules] in twice.toml')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Do not report these rules (comma-separated ids); wins over [rules] in twice.toml and --select')
            [CompletionResult]::new('--output-file', '--output-file', [CompletionResultType]::ParameterName, 'Write the report to FILE instead of stdout; the human summary goes to stderr')
            [CompletionResult]::new('--no-replay', '--no-replay', [CompletionResultType]::ParameterName, 'Only run the static rules; do not replay migrations')
            [CompletionResult]::new('--no-down', '--no-down', [CompletionResultType]::ParameterName, 'Do not check down migrations')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Fill every table with a few synthetic rows before each migration''s first run, so copies and backfills that are no-ops on empty tables show up (the default; kept for scripts that pass it)')
            [CompletionResult]::new('--no-seed', '--no-seed', [CompletionResultType]::ParameterName, 'Do not seed tables with synthetic rows before each migration''s first run')
            [CompletionResult]::new('--no-interleave', '--no-interleave', [CompletionResultType]::ParameterName, 'Do not write rows between a migration''s first and second run (the check that a re-run keeps what the application wrote since)')
            [CompletionResult]::new('--database-url-trusted', '--database-url-trusted', [CompletionResultType]::ParameterName, 'The --database-url server is disposable: when its role cannot create roles, run the migrations as that role itself (they can then change anything that role can). Without it twice refuses such a role')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'Rewrite, in place, the statements that have one safe idempotent form (edits are verified by checking the fixed files again first), then report what remains. With `-` (stdin), print the fixed script instead')
            [CompletionResult]::new('--diff', '--diff', [CompletionResultType]::ParameterName, 'Print the edits `--fix` would make as a unified diff; write nothing. Exit code 1 when there is something to fix')
            [CompletionResult]::new('--unsafe-fixes', '--unsafe-fixes', [CompletionResultType]::ParameterName, 'With --fix or --diff, also apply the unsafe fixes: rewrites that make a statement idempotent but can change what it does otherwise (SQLite''s `INSERT OR IGNORE` and MySQL''s `INSERT IGNORE` also skip rows that break NOT NULL or CHECK constraints). `twice explain RULE` says which')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the summary line (nothing when there is no finding); other formats print their document as usual, without notices on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the summary line (nothing when there is no finding); other formats print their document as usual, without notices on stderr')
            [CompletionResult]::new('--statistics', '--statistics', [CompletionResultType]::ParameterName, 'Print the number of findings per rule instead of the findings')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twice;plan' {
            [CompletionResult]::new('--dialect', '--dialect', [CompletionResultType]::ParameterName, 'SQL dialect of the migrations (as for `twice check`)')
            [CompletionResult]::new('--layout', '--layout', [CompletionResultType]::ParameterName, 'Migration layout of the folders (default: detected per folder)')
            [CompletionResult]::new('--engine', '--engine', [CompletionResultType]::ParameterName, 'Database engine replay would use')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Substitute `${NAME}` placeholders with VALUE (repeatable)')
            [CompletionResult]::new('--define', '--define', [CompletionResultType]::ParameterName, 'Substitute `${NAME}` placeholders with VALUE (repeatable)')
            [CompletionResult]::new('--setup', '--setup', [CompletionResultType]::ParameterName, 'The setup script `twice check --setup FILE` would run before each sequence''s first migration (shown, not run)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: twice.toml in this folder or the nearest parent)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--no-down', '--no-down', [CompletionResultType]::ParameterName, 'Leave down migrations out, as `twice check --no-down` does')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twice;rules' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twice;explain' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twice;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twice;lsp' {
            [CompletionResult]::new('--stdio', '--stdio', [CompletionResultType]::ParameterName, 'Accepted for editors that pass it; stdio is the only transport')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'twice;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Audit migration files and folders')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what `twice check` would read, without running anything: each sequence''s layout, dialect, engine and migrations in run order')
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'List every rule: id, default severity and summary')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Print a rule''s full documentation')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('lsp', 'lsp', [CompletionResultType]::ParameterValue, 'Run the language server for editors (LSP over stdin/stdout)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'twice;help;check' {
            break
        }
        'twice;help;plan' {
            break
        }
        'twice;help;rules' {
            break
        }
        'twice;help;explain' {
            break
        }
        'twice;help;completions' {
            break
        }
        'twice;help;lsp' {
            break
        }
        'twice;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
