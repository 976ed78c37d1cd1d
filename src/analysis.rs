//! Turns a file's regions into analysed statements: byte spans, significant
//! tokens, the sqlparser AST when it parses, and the token-level facts.

use crate::classify::{self, Facts};
use crate::dialect::Dialect;
use crate::lexer::{LexError, Token};
use crate::model::Region;
use crate::source::SourceFile;
use crate::split::{split, RawStatement};
use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

/// sqlparser's own recursion limit; deep nesting becomes a parse error
/// (reported as `unparsed-statement`), never a stack overflow.
pub const PARSER_RECURSION_LIMIT: usize = 200;

/// Statements longer than this are not given to sqlparser: its tokens and
/// AST take about 85 bytes of memory per byte of SQL (a 12 MB INSERT peaked
/// at 1.1 GB). The token-level classifier, which every rule can work from,
/// still reads them, and replay still runs them.
pub const MAX_PARSE_BYTES: usize = 1 << 20;

/// Stack that parsing one statement may need. sqlparser grows its stack for
/// nested expressions and queries, but not for nested statements (`CASE` /
/// `IF` / `BEGIN` blocks inside each other, up to the recursion limit): 200
/// levels of those take about 4 MiB. With less than this left (a thread's
/// 2 MiB stack, a low `ulimit -s`), the statement is parsed on a fresh stack
/// of [`PARSE_STACK`]; a main thread's usual 8 MiB parses in place.
const PARSE_STACK_NEEDED: usize = 6 << 20;
const PARSE_STACK: usize = 8 << 20;

/// One analysed statement.
#[derive(Debug)]
pub struct Statement {
    /// Index in the file's statement list.
    pub index: usize,
    /// Statements that run together (one migration part: the up or the down
    /// half) share a group: the index of the part's first statement.
    pub group: usize,
    /// Span without the terminator (offsets into the file text).
    pub span: Range<usize>,
    pub terminator: Option<Range<usize>>,
    /// The statement text as it will run: the file text with placeholders
    /// (`${name}`) substituted.
    pub sql: String,
    /// Significant tokens, spans in file offsets.
    pub tokens: Vec<Token>,
    /// A lexically broken statement (unterminated string or comment).
    pub lex_error: Option<LexError>,
    /// What the token-level classifier makes of it.
    pub facts: Facts,
    /// The dialect the statement is parsed in.
    pub dialect: Dialect,
    /// sqlparser's result, computed on first use: most statements are fully
    /// understood by the classifier, and parsing is the costliest step.
    /// (Boxed: every statement is in memory at once, few of them parsed.)
    parsed: OnceLock<Box<Parsed>>,
    /// For an INSERT the static rules flagged and parsed: what it writes,
    /// kept when its AST is dropped (the INSERT fix needs no more of it).
    /// Boxed: few statements have one, and every statement is held in
    /// memory at once (inline it made each statement 80 bytes bigger).
    pub insert_target: Option<Box<crate::schema::InsertTarget>>,
}

/// The sqlparser AST, or why sqlparser rejected the statement.
/// (Boxed: sqlparser's `Statement` is 3.5 KB inline, and most statements
/// are never parsed.)
type Parsed = (Option<Box<sqlparser::ast::Statement>>, Option<String>);

impl Statement {
    /// Its first `n` significant tokens as written in `text` (the file's),
    /// words upper-cased: what the recognisers of
    /// [`classify::control`] read.
    pub fn leading_words(&self, text: &str, n: usize) -> Vec<String> {
        self.tokens
            .iter()
            .take(n)
            .map(|t| {
                let s = text.get(t.span.clone()).unwrap_or("");
                if t.kind == crate::lexer::TokenKind::Word {
                    s.to_ascii_uppercase()
                } else {
                    s.to_string()
                }
            })
            .collect()
    }

    /// Whether PostgreSQL refuses it inside a transaction block
    /// ([`classify::control::refused_in_transaction`]).
    pub fn refused_in_transaction(&self, text: &str) -> bool {
        let w = self.leading_words(text, 12);
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        classify::control::refused_in_transaction(&w)
    }

    /// The sqlparser AST, when the statement parses (always exactly one).
    /// Parsed on first use.
    pub fn ast(&self) -> Option<&sqlparser::ast::Statement> {
        self.parsed_result().0.as_deref()
    }

    /// Why sqlparser rejected the statement (`None` when it parsed, or when
    /// it is lexically broken and was never given to sqlparser).
    pub fn parse_error(&self) -> Option<&str> {
        self.parsed_result().1.as_deref()
    }

    /// The AST when the statement was parsed already (never parses it).
    pub fn ast_if_parsed(&self) -> Option<&sqlparser::ast::Statement> {
        self.parsed.get().and_then(|p| p.0.as_deref())
    }

    /// Drops the parsed AST (it is parsed again if asked for).
    pub fn forget_parse(&mut self) {
        self.parsed.take();
    }

    fn parsed_result(&self) -> &Parsed {
        self.parsed.get_or_init(|| Box::new(self.parse_now()))
    }

    /// Parses the statement without keeping the result, for a caller that
    /// needs the AST once (the statement is parsed again if `ast()` is
    /// asked later).
    pub fn parse_transient(&self) -> Option<Box<sqlparser::ast::Statement>> {
        match self.parsed.get() {
            Some(p) => p.0.clone(),
            None => self.parse_now().0,
        }
    }

    fn parse_now(&self) -> Parsed {
        if self.lex_error.is_some() {
            (None, None)
        } else if self.sql.len() > MAX_PARSE_BYTES {
            (
                None,
                Some(format!(
                    "the statement is {} bytes long, over the {} MiB that the static parser reads; only the token-level checks ran",
                    self.sql.len(),
                    MAX_PARSE_BYTES >> 20
                )),
            )
        } else {
            let (ast, error) = parse(&self.sql, self.dialect);
            (ast.map(Box::new), error)
        }
    }

    /// The original text of the statement in the file.
    pub fn text<'a>(&self, file: &'a SourceFile) -> &'a str {
        &file.text[self.span.clone()]
    }

    /// Span of the first token (what findings point at by default).
    pub fn first_token_span(&self) -> Range<usize> {
        self.tokens
            .first()
            .map_or(self.span.clone(), |t| t.span.clone())
    }

    /// Upper-cased text of significant token `i`, if it is a word.
    pub fn word(&self, file: &SourceFile, i: usize) -> Option<String> {
        let t = self.tokens.get(i)?;
        (t.kind == crate::lexer::TokenKind::Word)
            .then(|| file.text[t.span.clone()].to_ascii_uppercase())
    }
}

/// Substitutes placeholders in a statement's text. Returns the text to run.
pub trait Substitute {
    fn substitute<'a>(&self, sql: &'a str) -> Cow<'a, str>;
}

/// No substitution.
pub struct NoSubstitution;

impl Substitute for NoSubstitution {
    fn substitute<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        Cow::Borrowed(sql)
    }
}

/// Splits `regions` of `file` into statements and analyses each one.
/// Statements are appended to `out` with increasing indexes.
pub fn analyze_regions(
    file: &SourceFile,
    regions: &[Region],
    dialect: Dialect,
    subst: &dyn Substitute,
    out: &mut Vec<Statement>,
) -> Vec<usize> {
    let mut indexes = Vec::new();
    let group = out.len();
    for region in regions {
        let raws = if region.single_statement {
            block(file, region.range.clone(), dialect)
        } else {
            split(&file.text, region.range.clone(), dialect)
        };
        for raw in raws {
            let idx = out.len();
            out.push(analyze_one(file, raw, dialect, subst, idx, group));
            indexes.push(idx);
        }
    }
    indexes
}

/// A region the tool sends as one statement (goose and sql-migrate
/// `StatementBegin` ... `StatementEnd`). When it holds several statements
/// (a function and the trigger that uses it), the database runs each of
/// them: the static rules see each one, as the splitter finds them. A
/// region that parses as one statement, or that the splitter does not cut,
/// stays one.
fn block(file: &SourceFile, range: Range<usize>, dialect: Dialect) -> Vec<RawStatement> {
    let one = single(file, range.clone(), dialect);
    let Some(whole) = one.first() else {
        return one;
    };
    let text = &file.text[whole.span.clone()];
    if parse(text, dialect).0.is_some() {
        return one;
    }
    let pieces = split(&file.text, range, dialect);
    if pieces.len() > 1 {
        pieces
    } else {
        one
    }
}

/// A region taken as one statement: trimmed of trivia and a final `;`.
fn single(file: &SourceFile, range: Range<usize>, dialect: Dialect) -> Vec<RawStatement> {
    let mut lx = crate::lexer::Lexer::new(&file.text, range, dialect);
    let mut tokens: Vec<Token> = lx.by_ref().filter(|t| !t.kind.is_trivia()).collect();
    let error = lx.error;
    let (Some(start), Some(last)) = (tokens.first().map(|t| t.span.start), tokens.last().cloned())
    else {
        return Vec::new();
    };
    let terminator =
        (last.kind == crate::lexer::TokenKind::Semicolon && tokens.len() > 1).then(|| {
            tokens.pop();
            last.span.clone()
        });
    let end = tokens.last().map_or(last.span.end, |t| t.span.end);
    vec![RawStatement {
        span: start..end,
        terminator,
        error,
        tokens,
    }]
}

fn analyze_one(
    file: &SourceFile,
    raw: RawStatement,
    dialect: Dialect,
    subst: &dyn Substitute,
    index: usize,
    group: usize,
) -> Statement {
    let original = &file.text[raw.span.clone()];
    let sql = subst.substitute(original).into_owned();
    let tokens = raw.tokens;
    let facts = classify::classify(file, &tokens, dialect);
    Statement {
        index,
        group,
        span: raw.span,
        terminator: raw.terminator,
        sql,
        tokens,
        lex_error: raw.error,
        facts,
        dialect,
        parsed: OnceLock::new(),
        insert_target: None,
    }
}

/// Parses one statement with sqlparser. More than one statement (which the
/// splitter should prevent) or none counts as a parse failure.
pub fn parse(sql: &str, dialect: Dialect) -> (Option<sqlparser::ast::Statement>, Option<String>) {
    stacker::maybe_grow(PARSE_STACK_NEEDED, PARSE_STACK, || parse_here(sql, dialect))
}

fn parse_here(sql: &str, dialect: Dialect) -> (Option<sqlparser::ast::Statement>, Option<String>) {
    let d = dialect.parser();
    let result = sqlparser::parser::Parser::new(d.as_ref())
        .with_recursion_limit(PARSER_RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements());
    match result {
        Ok(mut stmts) if stmts.len() == 1 => (stmts.pop(), None),
        Ok(stmts) => (
            None,
            Some(format!("expected one statement, found {}", stmts.len())),
        ),
        Err(e) => (None, Some(e.to_string())),
    }
}
