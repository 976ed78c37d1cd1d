//! How deep SQLite may recurse when it compiles a statement.
//!
//! SQLite expands views into subqueries and compiles trigger programs (and
//! foreign key actions) into the statement that fires them, recursively and
//! on the C stack, with no limit of its own: a chain of 12,000 views (each
//! reading the one before) or of 12,000 triggers (each writing the next
//! table) overflows any thread stack when a statement reaches its end.
//!
//! [`Nesting`] keeps a graph of what each view, trigger and cascading foreign
//! key can lead SQLite into, read from the text of the statements that
//! create them (an over-approximation: every name in a body is an edge), and
//! refuses the creation of an object that would make a path in that graph
//! heavier than [`MAX_NESTING`]. A path's weight is the sum, over its
//! objects, of one plus the parenthesis depth of the object's body (each
//! level of subquery is a level of SQLite's recursion too); objects that can
//! reach each other (a cycle, which SQLite stops itself) weigh together.
//! The replay thread's stack ([`super::REPLAY_STACK`]) is sized so that
//! SQLite can always compile a statement whose nesting stays within the cap.

use crate::dialect::Dialect;
use crate::lexer::{significant_tokens, TokenKind};
use std::collections::{HashMap, HashSet};

/// The heaviest chain of views, triggers and cascades that may exist.
pub const MAX_NESTING: u64 = 1_000;

/// An object that SQLite expands or compiles into the statements using it.
#[derive(Clone, PartialEq, Eq)]
struct Object {
    /// The node that leads into this object: the view itself, the table a
    /// trigger is on, the parent table of a cascading foreign key.
    from: u32,
    /// The names the object's body mentions (for a cascade: the child table).
    to: Vec<u32>,
    weight: u64,
}

/// The graph of views, triggers and cascades created so far.
#[derive(Clone, Default)]
pub struct Nesting {
    ids: HashMap<String, u32>,
    /// Keyed by (kind, name): re-creating an object replaces its edges.
    objects: HashMap<(String, String), Vec<Object>>,
    /// Per node, the objects leading out of it / into it.
    out: HashMap<u32, HashSet<(String, String)>>,
    into: HashMap<u32, HashSet<(String, String)>>,
}

type Key = (String, String);

/// Why a statement was refused.
pub struct TooDeep {
    pub weight: u64,
}

fn key(raw: &str, kind: TokenKind) -> String {
    let s = match kind {
        TokenKind::Word => raw.to_string(),
        _ => crate::classify::unquote(raw),
    };
    s.to_lowercase()
}

impl Nesting {
    fn id(&mut self, name: &str) -> u32 {
        let next = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        *self.ids.entry(name.to_string()).or_insert(next)
    }

    /// Checks a statement before it runs: when it creates a view, a trigger
    /// or a table with cascading foreign keys, the object joins the graph,
    /// unless it would make a path heavier than [`MAX_NESTING`].
    pub fn check(&mut self, sql: &str) -> Result<(), TooDeep> {
        let toks = significant_tokens(sql, 0..sql.len(), Dialect::Sqlite);
        let word = |i: usize, w: &str| {
            toks.get(i).is_some_and(|t| {
                t.kind == TokenKind::Word && sql[t.span.clone()].eq_ignore_ascii_case(w)
            })
        };
        if word(0, "ALTER") && word(1, "TABLE") {
            // `ALTER TABLE x RENAME TO y`: the triggers of x (and what
            // reached x) now go on as y, which other objects may already
            // name. An edge y -> x joins the two chains, so that renames
            // cannot splice chains longer than the cap.
            let mut j = 2;
            if toks.get(j + 1).is_some_and(|t| &sql[t.span.clone()] == ".") {
                j += 2;
            }
            if word(j + 1, "RENAME") && word(j + 2, "TO") {
                let (Some(x), Some(y)) = (toks.get(j), toks.get(j + 3)) else {
                    return Ok(());
                };
                let x = key(&sql[x.span.clone()], x.kind);
                let y = key(&sql[y.span.clone()], y.kind);
                let (from, to) = (self.id(&y), self.id(&x));
                return self.add(
                    ("rename".into(), format!("{x} -> {y}")),
                    vec![Object {
                        from,
                        to: vec![to],
                        weight: 0,
                    }],
                );
            }
            return Ok(());
        }
        if !word(0, "CREATE") {
            return Ok(());
        }
        let mut i = 1;
        if word(i, "TEMP") || word(i, "TEMPORARY") {
            i += 1;
        }
        let kind = if word(i, "VIEW") {
            "view"
        } else if word(i, "TRIGGER") {
            "trigger"
        } else if word(i, "TABLE") {
            "table"
        } else {
            return Ok(());
        };
        i += 1;
        if word(i, "IF") && word(i + 1, "NOT") && word(i + 2, "EXISTS") {
            i += 3;
        }
        // `schema.name`: the name is the last part.
        if toks.get(i + 1).is_some_and(|t| &sql[t.span.clone()] == ".") {
            i += 2;
        }
        let Some(name) = toks.get(i).map(|t| key(&sql[t.span.clone()], t.kind)) else {
            return Ok(());
        };
        let names = |from: usize| -> Vec<String> {
            toks[from.min(toks.len())..]
                .iter()
                .filter(|t| {
                    matches!(
                        t.kind,
                        TokenKind::Word | TokenKind::QuotedIdent | TokenKind::String
                    )
                })
                .map(|t| key(&sql[t.span.clone()], t.kind))
                .collect()
        };
        let mut depth = 0u64;
        let mut max_depth = 0u64;
        for t in &toks {
            match &sql[t.span.clone()] {
                "(" => {
                    depth += 1;
                    max_depth = max_depth.max(depth);
                }
                ")" => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        let weight = 1 + max_depth;
        let mut objects = Vec::new();
        match kind {
            "view" => {
                let body = (0..toks.len())
                    .find(|&i| word(i, "AS"))
                    .unwrap_or(toks.len());
                let from = self.id(&name);
                let to = names(body).iter().map(|n| self.id(n)).collect();
                objects.push(Object { from, to, weight });
            }
            "trigger" => {
                let on = (i..toks.len())
                    .find(|&j| word(j, "ON"))
                    .unwrap_or(toks.len());
                // `ON schema.table`
                let at = if toks
                    .get(on + 2)
                    .is_some_and(|t| &sql[t.span.clone()] == ".")
                {
                    on + 3
                } else {
                    on + 1
                };
                let Some(table) = names(at).into_iter().next() else {
                    return Ok(());
                };
                let from = self.id(&table);
                let to = names(at + 1).iter().map(|n| self.id(n)).collect();
                objects.push(Object { from, to, weight });
            }
            "table" => {
                let cascades = (0..toks.len()).any(|i| {
                    word(i, "CASCADE")
                        || (word(i, "SET") && (word(i + 1, "NULL") || word(i + 1, "DEFAULT")))
                });
                if cascades {
                    let child = self.id(&name);
                    for i in 0..toks.len() {
                        if word(i, "REFERENCES") {
                            if let Some(p) = names(i + 1).first() {
                                let from = self.id(p);
                                objects.push(Object {
                                    from,
                                    to: vec![child],
                                    weight: 1,
                                });
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        if objects.is_empty() {
            return Ok(());
        }
        self.add((kind.to_string(), name), objects)
    }

    /// Adds (or replaces) an object, unless that makes a path too heavy.
    fn add(&mut self, k: Key, objects: Vec<Object>) -> Result<(), TooDeep> {
        if self.objects.get(&k) == Some(&objects) {
            // Created again as it was (a migration's second run): nothing new.
            return Ok(());
        }
        let from: Vec<u32> = objects.iter().map(|o| o.from).collect();
        let old = self.put(&k, Some(objects));
        // Every path the new edges are on runs through their start: it lies
        // among the nodes that reach a start or that a start reaches, and
        // every other path was checked when it appeared. So only that part
        // of the graph is looked at.
        let part = self.around(&from);
        let heaviest = self.heaviest(&part);
        if heaviest > MAX_NESTING {
            self.put(&k, old);
            return Err(TooDeep { weight: heaviest });
        }
        Ok(())
    }

    /// Sets (or removes) an object, keeping the per-node indexes; returns
    /// what it replaced.
    fn put(&mut self, k: &Key, objects: Option<Vec<Object>>) -> Option<Vec<Object>> {
        let old = match objects {
            Some(o) => self.objects.insert(k.clone(), o),
            None => self.objects.remove(k),
        };
        for o in old.iter().flatten() {
            if let Some(s) = self.out.get_mut(&o.from) {
                s.remove(k);
            }
            for t in &o.to {
                if let Some(s) = self.into.get_mut(t) {
                    s.remove(k);
                }
            }
        }
        if let Some(new) = self.objects.get(k) {
            for o in new {
                self.out.entry(o.from).or_default().insert(k.clone());
                for &t in &o.to {
                    self.into.entry(t).or_default().insert(k.clone());
                }
            }
        }
        old
    }

    /// The nodes that reach one of `starts` or that one of them reaches.
    fn around(&self, starts: &[u32]) -> Vec<u32> {
        let mut seen: HashSet<u32> = HashSet::new();
        for forward in [true, false] {
            let mut done: HashSet<u32> = HashSet::new();
            let mut stack: Vec<u32> = starts.to_vec();
            while let Some(n) = stack.pop() {
                if !done.insert(n) {
                    continue;
                }
                seen.insert(n);
                let index = if forward { &self.out } else { &self.into };
                for k in index.get(&n).into_iter().flatten() {
                    for o in self.objects.get(k).into_iter().flatten() {
                        if forward && o.from == n {
                            stack.extend(o.to.iter().copied());
                        } else if !forward && o.to.contains(&n) {
                            stack.push(o.from);
                        }
                    }
                }
            }
        }
        seen.into_iter().collect()
    }

    /// The weight of the heaviest path among `nodes`: strongly connected
    /// components (Tarjan, iteratively) are emitted after everything they
    /// reach, so one pass computes the heaviest path out of each.
    fn heaviest(&self, nodes: &[u32]) -> u64 {
        let n = nodes.len();
        let local: HashMap<u32, u32> = nodes
            .iter()
            .enumerate()
            .map(|(i, &g)| (g, i as u32))
            .collect();
        let mut adj: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut weight = vec![0u64; n];
        for (i, g) in nodes.iter().enumerate() {
            for k in self.out.get(g).into_iter().flatten() {
                for o in self.objects.get(k).into_iter().flatten() {
                    if o.from == *g {
                        adj[i].extend(o.to.iter().filter_map(|t| local.get(t).copied()));
                        weight[i] = weight[i].max(o.weight);
                    }
                }
            }
        }
        const NONE: u32 = u32::MAX;
        let mut index = vec![NONE; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut comp = vec![NONE; n];
        let mut best = vec![0u64; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut next = 0u32;
        let mut heaviest = 0u64;
        for root in 0..n {
            if index[root] != NONE || adj[root].is_empty() {
                continue;
            }
            // (node, next edge to look at)
            let mut call: Vec<(u32, usize)> = vec![(root as u32, 0)];
            index[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root as u32);
            on_stack[root] = true;
            while let Some(&mut (v, ref mut e)) = call.last_mut() {
                let vu = v as usize;
                if let Some(&w) = adj[vu].get(*e) {
                    *e += 1;
                    let wu = w as usize;
                    if index[wu] == NONE {
                        index[wu] = next;
                        low[wu] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[wu] = true;
                        call.push((w, 0));
                    } else if on_stack[wu] {
                        low[vu] = low[vu].min(index[wu]);
                    }
                    continue;
                }
                call.pop();
                if let Some(&(p, _)) = call.last() {
                    low[p as usize] = low[p as usize].min(low[vu]);
                }
                if low[vu] == index[vu] {
                    // Pop the component; its weight is the sum of its
                    // members', plus the heaviest path out of it.
                    let mut members = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w as usize] = false;
                        comp[w as usize] = v;
                        members.push(w);
                        if w == v {
                            break;
                        }
                    }
                    let own: u64 = members.iter().map(|&m| weight[m as usize]).sum();
                    let mut out = 0u64;
                    for &m in &members {
                        for &w in &adj[m as usize] {
                            if comp[w as usize] != v {
                                out = out.max(best[w as usize]);
                            }
                        }
                    }
                    let total = own.saturating_add(out);
                    for &m in &members {
                        best[m as usize] = total;
                    }
                    heaviest = heaviest.max(total);
                }
            }
        }
        heaviest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_of_views_is_refused_past_the_cap() {
        let mut n = Nesting::default();
        let mut refused = None;
        for i in 1..2000 {
            let sql = format!("CREATE VIEW v{i} AS SELECT a FROM v{}", i - 1);
            if n.check(&sql).is_err() {
                refused = Some(i);
                break;
            }
        }
        assert_eq!(refused, Some(MAX_NESTING as usize + 1));
    }

    #[test]
    fn triggers_created_in_either_order_are_one_chain() {
        for reverse in [false, true] {
            let mut n = Nesting::default();
            let mut order: Vec<usize> = (0..1500).collect();
            if reverse {
                order.reverse();
            }
            let refused = order.iter().any(|i| {
                let sql = format!(
                    "CREATE TRIGGER g{i} AFTER INSERT ON t{i} BEGIN INSERT INTO t{} VALUES (new.a); END",
                    i + 1
                );
                n.check(&sql).is_err()
            });
            assert!(refused, "reverse: {reverse}");
        }
    }

    #[test]
    fn renames_cannot_splice_chains_past_the_cap() {
        let mut n = Nesting::default();
        // Two chains of 300 triggers (weighing 600) each, then a rename that
        // joins them.
        for i in 0..300 {
            let sql = format!(
                "CREATE TRIGGER g{i} AFTER INSERT ON a{i} BEGIN INSERT INTO a{} VALUES (1); END",
                i + 1
            );
            assert!(n.check(&sql).is_ok());
            let sql = format!(
                "CREATE TRIGGER h{i} AFTER INSERT ON b{i} BEGIN INSERT INTO b{} VALUES (1); END",
                i + 1
            );
            assert!(n.check(&sql).is_ok());
        }
        // a300 is the end of the first chain; b0 starts the second.
        assert!(n.check("ALTER TABLE b0 RENAME TO a300").is_err());
        assert!(n.check("ALTER TABLE main.b0 RENAME TO x").is_ok());
    }

    #[test]
    fn cycles_and_wide_schemas_are_fine() {
        let mut n = Nesting::default();
        // A trigger that updates its own table, on 5,000 tables.
        for i in 0..5000 {
            let sql = format!(
                "CREATE TRIGGER g{i} AFTER UPDATE ON t{i} BEGIN UPDATE t{i} SET at = 1 WHERE id = new.id; END"
            );
            assert!(n.check(&sql).is_ok());
        }
        // Two triggers that write each other's table.
        let a = "CREATE TRIGGER a AFTER INSERT ON x BEGIN INSERT INTO y VALUES (1); END";
        let b = "CREATE TRIGGER b AFTER INSERT ON y BEGIN INSERT INTO x VALUES (1); END";
        assert!(n.check(a).is_ok());
        assert!(n.check(b).is_ok());
    }
}
