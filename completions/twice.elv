
use builtin;
use str;

set edit:completion:arg-completer[twice] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'twice'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'twice'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Audit migration files and folders'
            cand plan 'Show what `twice check` would read, without running anything: each sequence''s layout, dialect, engine and migrations in run order'
            cand rules 'List every rule: id, default severity and summary'
            cand explain 'Print a rule''s full documentation'
            cand completions 'Print a shell completion script'
            cand lsp 'Run the language server for editors (LSP over stdin/stdout)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'twice;check'= {
            cand --dialect 'SQL dialect of the migrations [default: what a folder name such as `postgres/` implies, else what the SQL is clearly written in, else the --engine''s (sqlite)]'
            cand --format 'Output format [default: human; with GITHUB_ACTIONS set, human followed by GitHub annotations]'
            cand -j 'Threads for the static rules and for replaying independent sequences side by side; the output is the same for any number [default: the number of cores, or `jobs` in twice.toml; 1 runs everything on one thread]'
            cand --jobs 'Threads for the static rules and for replaying independent sequences side by side; the output is the same for any number [default: the number of cores, or `jobs` in twice.toml; 1 runs everything on one thread]'
            cand --fail-on 'Lowest severity that makes the exit code 1 [default: warning, or `fail-on` in twice.toml]'
            cand --color 'When to use colours (NO_COLOR and a non-terminal stdout turn `auto` off)'
            cand --stdin-filename 'The file name to show for a script read from stdin'
            cand --layout 'Migration layout of the folders (default: detected per folder)'
            cand -D 'Substitute `${NAME}` placeholders (and psql `:NAME` variables in PostgreSQL files) with VALUE (repeatable)'
            cand --define 'Substitute `${NAME}` placeholders (and psql `:NAME` variables in PostgreSQL files) with VALUE (repeatable)'
            cand --timeout 'Time limit for one statement during replay, in seconds'
            cand --engine 'Database engine for replay'
            cand --database-url 'PostgreSQL server to replay on (twice creates and drops a scratch database and a role of its own there, which runs the migrations; needs CREATEDB and CREATEROLE), or with --engine mysql a mysql:// URL (the user needs CREATE, DROP, CREATE USER and GRANT OPTION). Without it, a throwaway local server is started when one is installed'
            cand --template 'Database the scratch database is copied from on PostgreSQL (default template1, so what the DBA installed there is there)'
            cand --setup 'SQL script run once before the first migration of each sequence, never audited (extensions, roles, schemas the project installs by hand); on PostgreSQL it runs as the migration role on twice''s own cluster (the roles it creates made by twice), as the URL''s role with --database-url'
            cand --config 'Configuration file (default: twice.toml in this folder or the nearest parent)'
            cand --since 'Audit only migrations added or changed since this git revision (`origin/main`, a tag, a commit); the unchanged ones are applied once as the starting state, and an applied file edited since is an error (applied-migration-changed). Needs `git`'
            cand --from 'Audit only migrations from this version on (in the layout''s order); the ones before it are applied once as the starting state'
            cand --baseline 'Report only findings not accepted in this baseline file [default: `baseline` in twice.toml]'
            cand --write-baseline 'Record every current finding in FILE as accepted (then report none of them and exit 0)'
            cand --select 'Report only these rules (comma-separated ids); wins over [rules] in twice.toml'
            cand --ignore 'Do not report these rules (comma-separated ids); wins over [rules] in twice.toml and --select'
            cand --output-file 'Write the report to FILE instead of stdout; the human summary goes to stderr'
            cand --no-replay 'Only run the static rules; do not replay migrations'
            cand --no-down 'Do not check down migrations'
            cand --seed 'Fill every table with a few synthetic rows before each migration''s first run, so copies and backfills that are no-ops on empty tables show up (the default; kept for scripts that pass it)'
            cand --no-seed 'Do not seed tables with synthetic rows before each migration''s first run'
            cand --no-interleave 'Do not write rows between a migration''s first and second run (the check that a re-run keeps what the application wrote since)'
            cand --database-url-trusted 'The --database-url server is disposable: when its role cannot create roles, run the migrations as that role itself (they can then change anything that role can). Without it twice refuses such a role'
            cand --fix 'Rewrite, in place, the statements that have one safe idempotent form (edits are verified by checking the fixed files again first), then report what remains. With `-` (stdin), print the fixed script instead'
            cand --diff 'Print the edits `--fix` would make as a unified diff; write nothing. Exit code 1 when there is something to fix'
            cand --unsafe-fixes 'With --fix or --diff, also apply the unsafe fixes: rewrites that make a statement idempotent but can change what it does otherwise (SQLite''s `INSERT OR IGNORE` and MySQL''s `INSERT IGNORE` also skip rows that break NOT NULL or CHECK constraints). `twice explain RULE` says which'
            cand -q 'Print only the summary line (nothing when there is no finding); other formats print their document as usual, without notices on stderr'
            cand --quiet 'Print only the summary line (nothing when there is no finding); other formats print their document as usual, without notices on stderr'
            cand --statistics 'Print the number of findings per rule instead of the findings'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twice;plan'= {
            cand --dialect 'SQL dialect of the migrations (as for `twice check`)'
            cand --layout 'Migration layout of the folders (default: detected per folder)'
            cand --engine 'Database engine replay would use'
            cand -D 'Substitute `${NAME}` placeholders with VALUE (repeatable)'
            cand --define 'Substitute `${NAME}` placeholders with VALUE (repeatable)'
            cand --setup 'The setup script `twice check --setup FILE` would run before each sequence''s first migration (shown, not run)'
            cand --config 'Configuration file (default: twice.toml in this folder or the nearest parent)'
            cand --format 'Output format'
            cand --no-down 'Leave down migrations out, as `twice check --no-down` does'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twice;rules'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twice;explain'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twice;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twice;lsp'= {
            cand --stdio 'Accepted for editors that pass it; stdio is the only transport'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'twice;help'= {
            cand check 'Audit migration files and folders'
            cand plan 'Show what `twice check` would read, without running anything: each sequence''s layout, dialect, engine and migrations in run order'
            cand rules 'List every rule: id, default severity and summary'
            cand explain 'Print a rule''s full documentation'
            cand completions 'Print a shell completion script'
            cand lsp 'Run the language server for editors (LSP over stdin/stdout)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'twice;help;check'= {
        }
        &'twice;help;plan'= {
        }
        &'twice;help;rules'= {
        }
        &'twice;help;explain'= {
        }
        &'twice;help;completions'= {
        }
        &'twice;help;lsp'= {
        }
        &'twice;help;help'= {
        }
    ]
    $completions[$command]
}
