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

/// Splits and analyses every part of every sequence, filling
/// `Part::statements`. Statements of a file are numbered in file order
/// (regions are analysed by position, whichever part they belong to), and
/// each region gets the placeholder settings of its layout.
pub fn analyze(d: &mut Discovered, opts: &Options) -> Result<Analysed> {
    let n = d.files.len();
    let mut a = Analysed {
        statements: (0..n).map(|_| Vec::new()).collect(),
        dialects: vec![opts.dialect.unwrap_or_default_dialect(); n],
        ..Analysed::default()
    };
    // (file, start, end, seq, migration, is_down, region)
    let mut jobs: Vec<(usize, usize, usize, usize, usize, bool, usize)> = Vec::new();
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
    // Statements of one migration part run together: one group per part,
    // whatever number of regions (goose statement blocks, liquibase
    // changesets' pieces) it was read from.
    let mut part_groups: std::collections::HashMap<(usize, usize, bool), usize> =
        std::collections::HashMap::new();
    // Bytes placeholder substitution has added to each file so far.
    let mut grown: BTreeMap<usize, usize> = BTreeMap::new();
    for (file, start, end, si, mi, is_down, ri) in jobs {
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
        let policy = layout::get(layout).placeholders(envsub);
        let base = src
            .name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&src.name)
            .to_string();
        let ph = Placeholders {
            defines: &opts.defines,
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
        };
        {
            let so_far = grown.entry(file).or_insert(0);
            let budget = placeholder::MAX_SUBSTITUTED_BYTES - *so_far;
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
            *so_far += added;
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
        let idxs = analyze_regions(src, &[region], dialect, subst, &mut a.statements[file]);
        if let Some(&first) = idxs.first() {
            let group = *part_groups.entry((si, mi, is_down)).or_insert(first);
            for &i in &idxs {
                a.statements[file][i].group = group;
            }
        }
        let b = FindingBuilder { file: src };
        for &i in &idxs {
            let stmt = &a.statements[file][i];
            let text = &src.text[stmt.span.clone()];
            for o in ph.undefined(text) {
                let span = stmt.span.start + o.range.start..stmt.span.start + o.range.end;
                let (message, help) = ph.describe(&o);
                let mut f = b.at(
                    "undefined-placeholder",
                    Severity::Error,
                    Origin::Static,
                    span,
                    message,
                );
                f.help = Some(help);
                f.statement = Some(i);
                a.findings.push(f);
                if o.in_code {
                    a.unresolved.insert((file, i));
                }
            }
        }
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
        let mut f = FindingBuilder { file: src }.at(
            "malformed-migration",
            Severity::Error,
            Origin::Static,
            span,
            p.message.clone(),
        );
        f.help = p.help.clone();
        a.findings.push(f);
    }
    Ok(a)
}
