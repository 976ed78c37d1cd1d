//! Reading the discovered files: placeholders substituted, statements split
//! and analysed.

use super::*;

/// A region whose last statement continues with text outside the region
/// (Liquibase `--rollback` lines joined into one statement): that
/// statement's `sql` gets the rest appended before substitution.
pub(super) struct Continued<'a> {
    pub(super) inner: &'a dyn Substitute,
    /// The region's text, trailing blanks trimmed.
    pub(super) region: &'a str,
    pub(super) rest: &'a str,
}

impl Substitute for Continued<'_> {
    fn substitute<'s>(&self, sql: &'s str) -> std::borrow::Cow<'s, str> {
        if self.region.ends_with(sql) {
            let joined = format!("{sql}{}", self.rest);
            let joined = self.inner.substitute(&joined).into_owned();
            // Like Liquibase, the statement ends at its `;`.
            let t = joined.trim_end();
            let t = t.strip_suffix(';').unwrap_or(t).trim_end();
            std::borrow::Cow::Owned(t.to_string())
        } else {
            self.inner.substitute(sql)
        }
    }
}

/// The result of analysing discovered files.
#[derive(Debug, Default)]
pub struct Analysed {
    /// Statements of each file, in file order.
    pub statements: Vec<Vec<Statement>>,
    /// The dialect each file is read in (its sequence's).
    pub dialects: Vec<Dialect>,
    /// Findings of discovery: `malformed-migration`, `undefined-placeholder`.
    pub findings: Vec<Finding>,
    /// (file, statement) pairs with an undefined placeholder where SQL code
    /// goes: their text cannot run as written.
    pub unresolved: BTreeSet<(usize, usize)>,
}

/// One region to analyse: (file, start, end, sequence, migration, is_down,
/// region).
type Job = (usize, usize, usize, usize, usize, bool, usize);

/// What analysing one file's regions found.
struct FileAnalysis {
    file: usize,
    statements: Vec<Statement>,
    findings: Vec<Finding>,
    /// Statements with an undefined placeholder where code goes.
    unresolved: Vec<usize>,
    /// The statements of each part (sequence, migration, is_down), in order.
    parts: Vec<((usize, usize, bool), Vec<usize>)>,
}

/// Splits and analyses the regions `jobs` of one file (sorted by position).
fn analyze_file(d: &Discovered, opts: &Options, jobs: &[Job]) -> Result<FileAnalysis> {
    let mut out = FileAnalysis {
        file: jobs.first().map_or(0, |j| j.0),
        statements: Vec::new(),
        findings: Vec::new(),
        unresolved: Vec::new(),
        parts: Vec::new(),
    };
    let mut cap = crate::finding::FindingCap::default();
    // Statements of one migration part run together: one group per part,
    // whatever number of regions (goose statement blocks, liquibase
    // changesets' pieces) it was read from.
    let mut part_groups: std::collections::HashMap<(usize, usize, bool), usize> =
        std::collections::HashMap::new();
    // Bytes placeholder substitution has added to the file so far.
    let mut grown = 0;
    // The file's psql `\set` lines (its variables' values where psql runs it).
    let psql_sets = jobs
        .first()
        .map(|j| placeholder::psql_sets(&d.files[j.0].text))
        .unwrap_or_default();
    let psql_gsets = jobs
        .first()
        .map(|j| placeholder::psql_gset_names(&d.files[j.0].text))
        .unwrap_or_default();
    for &(file, start, end, si, mi, is_down, ri) in jobs {
        let src = &d.files[file];
        if src.binary {
            continue;
        }
        let seq = &d.sequences[si];
        let layout = seq.layout;
        let dialect = seq.dialect;
        let envsub = d
            .envsub
            .iter()
            .any(|(f, r)| *f == file && r.start <= start && end <= r.end);
        let mut policy = layout::get(layout).placeholders(envsub);
        // The tool's own placeholder settings: values under `--define`,
        // and no substitution of `${...}` where the tool does none.
        let settings = seq.placeholders.as_ref();
        if settings.is_some_and(|t| !t.dollar_braces) {
            policy = layout::PlaceholderPolicy {
                tool: policy.tool,
                ..layout::PlaceholderPolicy::NEVER
            };
        }
        let merged;
        let defines = match settings.filter(|t| t.dollar_braces && !t.values.is_empty()) {
            Some(t) => {
                let mut all = t.values.clone();
                all.extend(opts.defines.iter().map(|(k, v)| (k.clone(), v.clone())));
                merged = all;
                &merged
            }
            None => &opts.defines,
        };
        let base = src
            .name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&src.name)
            .to_string();
        let ph = Placeholders {
            defines,
            builtins: if policy.flyway_builtins {
                placeholder::flyway_builtins(dialect, &base)
            } else {
                BTreeMap::new()
            },
            dialect,
            scope: policy.scope,
            env_syntax: envsub,
            tool: policy.tool,
            macros: layout::get(layout).text_macros(dialect),
            psql_sets: psql_sets.clone(),
            psql_gsets: psql_gsets.clone(),
        };
        {
            let budget = placeholder::MAX_SUBSTITUTED_BYTES - grown;
            let (added, over) = ph.growth(&src.text[start..end], budget);
            if let Some(at) = over {
                let (line, _) = src.line_col(start + at);
                return Err(Error::new(format!(
                    "{}:{line}: placeholder values would make this file more than {} MiB \
                     longer ({} MiB and counting); a `--define` value is probably much \
                     longer than intended, or used far more often than expected: check the \
                     values given with `--define` (or `[define]` in twice.toml)",
                    src.name,
                    placeholder::MAX_SUBSTITUTED_BYTES >> 20,
                    added >> 20
                )));
            }
            grown += added;
        }
        let m = &d.sequences[si].migrations[mi];
        let part = if is_down {
            m.down.as_ref()
        } else {
            Some(&m.up)
        };
        let Some(region) = part.and_then(|p| p.regions.get(ri)).cloned() else {
            continue;
        };
        let continued;
        let subst: &dyn Substitute = match d.continuations.get(&(file, start)) {
            Some(rest) => {
                continued = Continued {
                    inner: &ph,
                    region: src.text[region.range.clone()].trim_end(),
                    rest,
                };
                &continued
            }
            None => &ph,
        };
        let idxs = analyze_regions(src, &[region], dialect, subst, &mut out.statements);
        if let Some(&first) = idxs.first() {
            let group = *part_groups.entry((si, mi, is_down)).or_insert(first);
            for &i in &idxs {
                out.statements[i].group = group;
            }
        }
        for &i in &idxs {
            let stmt = &out.statements[i];
            let text = &src.text[stmt.span.clone()];
            let undefined = ph.undefined(text);
            // A psql variable a `\gset` query sets: fine as written, but
            // replay cannot give it its value.
            if undefined.is_empty() && ph.needs_query_value(text) {
                out.unresolved.push(i);
            }
            // Template logic (`{{if ...}}`, `{{end}}`): one finding per
            // statement, at its first action, however many it holds.
            let logic = undefined.iter().filter(|o| o.is_logic()).count();
            let mut logic_seen = false;
            for o in undefined {
                if o.is_logic() {
                    if logic_seen {
                        continue;
                    }
                    logic_seen = true;
                }
                let span = stmt.span.start + o.range.start..stmt.span.start + o.range.end;
                let (mut message, help) = ph.describe(&o);
                if o.is_logic() && logic > 1 {
                    message.push_str(&format!(
                        " (and {} more template action{} in this statement)",
                        logic - 1,
                        if logic == 2 { "" } else { "s" }
                    ));
                }
                let mut f = crate::rules::undefined_placeholder::META.at(src, span, message);
                f.help = Some(help);
                f.statement = Some(i);
                let at = out.findings.len();
                out.findings.push(f);
                cap.admit(&mut out.findings, at);
                // (Outside code, only a tool that substitutes everywhere
                // flags it: see `Placeholders::undefined`.)
                if o.in_code || !policy.undefined_runs_as_written {
                    out.unresolved.push(i);
                }
            }
        }
        out.parts.push(((si, mi, is_down), idxs));
    }
    cap.summarise(&mut out.findings);
    // Every file's statements stay in memory until the end of the run: no
    // room left over from the list's growth (a 5-statement file would hold
    // room for 8).
    out.statements.shrink_to_fit();
    Ok(out)
}

/// Splits and analyses every part of every sequence, filling
/// `Part::statements`. Statements of a file are numbered in file order
/// (regions are analysed by position, whichever part they belong to), and
/// each region gets the placeholder settings of its layout.
pub fn analyze(d: &mut Discovered, opts: &Options) -> Result<Analysed> {
    let n = d.files.len();
    let mut a = Analysed {
        statements: (0..n).map(|_| Vec::new()).collect(),
        dialects: vec![opts.default_dialect(); n],
        ..Analysed::default()
    };
    let mut jobs: Vec<Job> = Vec::new();
    for (si, seq) in d.sequences.iter().enumerate() {
        for (mi, m) in seq.migrations.iter().enumerate() {
            a.dialects[m.up.file] = seq.dialect;
            for (is_down, part) in
                std::iter::once((false, &m.up)).chain(m.down.as_ref().map(|p| (true, p)))
            {
                a.dialects[part.file] = seq.dialect;
                for (ri, r) in part.regions.iter().enumerate() {
                    jobs.push((part.file, r.range.start, r.range.end, si, mi, is_down, ri));
                }
            }
        }
    }
    jobs.sort();
    // Files are analysed on `--jobs` threads, each file's regions in order
    // on one thread; what they found is merged in file order, as one thread
    // would have produced it.
    let mut by_file: Vec<Vec<Job>> = Vec::new();
    for job in jobs {
        match by_file.last_mut() {
            Some(group) if group[0].0 == job.0 => group.push(job),
            _ => by_file.push(vec![job]),
        }
    }
    let shared: &Discovered = d;
    let results = crate::parallel::map(opts.jobs, &mut by_file, |_, group| {
        analyze_file(shared, opts, group)
    });
    for r in results {
        let r = r?;
        a.statements[r.file] = r.statements;
        a.findings.extend(r.findings);
        a.unresolved
            .extend(r.unresolved.into_iter().map(|i| (r.file, i)));
        for ((si, mi, is_down), idxs) in r.parts {
            let m = &mut d.sequences[si].migrations[mi];
            let part = if is_down {
                m.down.as_mut()
            } else {
                Some(&mut m.up)
            };
            if let Some(p) = part {
                p.statements.extend(idxs);
            }
        }
    }
    // Files the tool would refuse outright and that are part of no
    // migration (a golang-migrate duplicate version): the static rules
    // still read them, replay does not run them.
    let orphans: BTreeSet<usize> = d
        .problems
        .iter()
        .map(|p| p.file)
        .chain(d.unresolvable.iter().copied())
        .filter(|&f| f < n && a.statements[f].is_empty())
        .collect();
    for f in orphans {
        let src = &d.files[f];
        if src.binary {
            continue;
        }
        let dialect = d.problem_dialects.get(&f).copied().unwrap_or(a.dialects[f]);
        a.dialects[f] = dialect;
        let len = src.text.len();
        let idxs = analyze_regions(
            src,
            &[layout::region(0..len)],
            dialect,
            &crate::analysis::NoSubstitution,
            &mut a.statements[f],
        );
        if d.unresolvable.contains(&f) {
            // Template text where code goes: not a syntax error.
            a.unresolved.extend(idxs.into_iter().map(|i| (f, i)));
        }
    }
    for p in &d.problems {
        let Some(src) = d.files.get(p.file) else {
            continue;
        };
        let span = p.span.start.min(src.text.len())..p.span.end.min(src.text.len());
        let mut f = crate::rules::malformed_migration::META.at(src, span, p.message.clone());
        f.help = p.help.clone();
        a.findings.push(f);
    }
    // A tool that wraps each migration in a transaction may have been told
    // not to (golang-migrate's `NoTxWrap`), or the migrations open their
    // own: the layout says which, from the project and the statements.
    for seq in &mut d.sequences {
        if !seq.migrations.iter().any(|m| m.up.tool_transaction) {
            continue;
        }
        let Some(why) = layout::get(seq.layout).unwrapped(seq, &a.statements) else {
            continue;
        };
        for m in &mut seq.migrations {
            for p in std::iter::once(&mut m.up).chain(m.down.as_mut()) {
                p.tool_transaction = false;
            }
        }
        seq.unwrapped = Some(why);
    }
    // Flyway runs a migration that holds a statement PostgreSQL refuses
    // inside a transaction block without one (the other tools run it in
    // theirs, and the server refuses it there).
    for seq in &mut d.sequences {
        if seq.dialect != Dialect::Postgres || !layout::get(seq.layout).runs_refused_outside() {
            continue;
        }
        for m in &mut seq.migrations {
            for p in std::iter::once(&mut m.up).chain(m.down.as_mut()) {
                let (Some(file), Some(stmts)) = (d.files.get(p.file), a.statements.get(p.file))
                else {
                    continue;
                };
                let refused = p.statements.iter().any(|&i| {
                    stmts
                        .get(i)
                        .is_some_and(|s| s.refused_in_transaction(&file.text))
                });
                if p.tool_transaction && refused {
                    p.tool_transaction = false;
                    p.no_transaction = true;
                }
            }
        }
    }
    Ok(a)
}
