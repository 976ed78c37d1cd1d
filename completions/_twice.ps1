
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
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'List every rule: id, default severity and summary')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Print a rule''s full documentation')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'twice;check' {
            [CompletionResult]::new('--dialect', '--dialect', [CompletionResultType]::ParameterName, 'SQL dialect of the migrations [default: what a folder name such as `postgres/` implies, else what the SQL is clearly written in, else sqlite]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: human; with GITHUB_ACTIONS set, human followed by GitHub annotations]')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Lowest severity that makes the exit code 1 [default: warning, or `fail-on` in twice.toml]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colours (NO_COLOR and a non-terminal stdout turn `auto` off)')
            [CompletionResult]::new('--stdin-filename', '--stdin-filename', [CompletionResultType]::ParameterName, 'The file name to show for a script read from stdin')
            [CompletionResult]::new('--layout', '--layout', [CompletionResultType]::ParameterName, 'Migration layout of the folders (default: detected per folder)')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Substitute `${NAME}` placeholders with VALUE (repeatable)')
            [CompletionResult]::new('--define', '--define', [CompletionResultType]::ParameterName, 'Substitute `${NAME}` placeholders with VALUE (repeatable)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time limit for one statement during replay, in seconds')
            [CompletionResult]::new('--engine', '--engine', [CompletionResultType]::ParameterName, 'Database engine for replay')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL server to replay on (twice creates and drops a scratch database there; needs CREATEDB). Without it, a throwaway local cluster is started when PostgreSQL is installed')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default: twice.toml in this folder or the nearest parent)')
            [CompletionResult]::new('--no-replay', '--no-replay', [CompletionResultType]::ParameterName, 'Only run the static rules; do not replay migrations')
            [CompletionResult]::new('--no-down', '--no-down', [CompletionResultType]::ParameterName, 'Do not check down migrations')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Fill every table with a few synthetic rows before each migration''s first run, so copies and backfills that are no-ops on empty tables show up')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'Rewrite, in place, the statements that have one safe idempotent form (edits are verified by checking the fixed files again first), then report what remains. With `-` (stdin), print the fixed script instead')
            [CompletionResult]::new('--diff', '--diff', [CompletionResultType]::ParameterName, 'Print the edits `--fix` would make as a unified diff; write nothing. Exit code 1 when there is something to fix')
            [CompletionResult]::new('--unsafe-fixes', '--unsafe-fixes', [CompletionResultType]::ParameterName, 'With --fix or --diff, also apply the unsafe fixes: rewrites that make a statement idempotent but can change what it does otherwise (SQLite''s `INSERT OR IGNORE` and MySQL''s `INSERT IGNORE` also skip rows that break NOT NULL or CHECK constraints). `twice explain RULE` says which')
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
        'twice;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Audit migration files and folders')
            [CompletionResult]::new('rules', 'rules', [CompletionResultType]::ParameterValue, 'List every rule: id, default severity and summary')
            [CompletionResult]::new('explain', 'explain', [CompletionResultType]::ParameterValue, 'Print a rule''s full documentation')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'twice;help;check' {
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
        'twice;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
