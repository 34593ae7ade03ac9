//! Paths: JSONPath reads and reference-path writes.
//!
//! Hand-written rather than a JSONPath crate because we need three things a general crate
//! does not give together: the `$$` context root; Step Functions' rule that a *definite*
//! path (only fields and indexes) yields one value or fails, while an indefinite one
//! (wildcards, slices, unions, `..`) yields an array of matches; and writes through
//! reference paths (`ResultPath`), which create intermediate objects. Paths are parsed once
//! at load time, so syntax errors and unsupported features (functions, scripts) are
//! refused there with a message.
//!
//! Filters (`[?(...)]`) follow Jayway JsonPath, which Step Functions runs, within the limits
//! AWS documents for them (<https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html>):
//! `@` matches only objects, and regular expressions, lexical operators (`in`, `subsetof`, ...)
//! and references to other values (`$...`) are not supported, so they are refused at load
//! rather than run differently.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::context::ContextObject;

/// Which document a path starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Root {
    /// `$`: the state's (effective) input.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable set by an earlier state's `Assign`.
    Variable(String),
}

/// What a path may read besides the value it is applied to: the `$$` context object and the
/// variables in scope.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub(crate) context: &'a ContextObject<'a>,
    pub(crate) vars: &'a Map<String, Value>,
    /// JSONata's `$states.input`, where it is not the value an expression is given (in
    /// `Output` and `Assign`, which see the state's input beside its result).
    pub(crate) input: Option<&'a Value>,
    /// JSONata's `$states.result`: in `Output` and `Assign` after a Task, Parallel or Map.
    pub(crate) result: Option<&'a Value>,
    /// JSONata's `$states.errorOutput`: in a Catcher's `Output` and `Assign`.
    pub(crate) error_output: Option<&'a Value>,
}

/// No variables: for evaluation that happens before any exist (and for tests).
#[cfg(test)]
pub(crate) static NO_VARS: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl<'a> Scope<'a> {
    pub(crate) fn new(context: &'a ContextObject<'a>, vars: &'a Map<String, Value>) -> Self {
        Scope {
            context,
            vars,
            input: None,
            result: None,
            error_output: None,
        }
    }

    /// The scope of `Output` and `Assign`: the state's input beside its result.
    pub(crate) fn with_result(self, input: &'a Value, result: &'a Value) -> Self {
        Scope {
            input: Some(input),
            result: Some(result),
            ..self
        }
    }

    /// The scope of a Catcher's `Output` and `Assign`: the state's input beside the error.
    pub(crate) fn with_error(self, input: &'a Value, error_output: &'a Value) -> Self {
        Scope {
            input: Some(input),
            error_output: Some(error_output),
            ..self
        }
    }

    #[cfg(test)]
    pub(crate) fn context_only(context: &'a ContextObject<'a>) -> Self {
        Scope::new(context, &NO_VARS)
    }
}

/// A variable name as AWS allows it: a letter or `_`, then letters, digits and `_`.
pub(crate) fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// What one path segment selects from a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selector {
    /// `.name` or `['name']`.
    Name(String),
    /// `[3]`, `[-1]` (from the end).
    Index(i64),
    /// `.*` or `[*]`: every member or element.
    Wildcard,
    /// `['a','b']`.
    Names(Vec<String>),
    /// `[0,2]`.
    Indexes(Vec<i64>),
    /// `[start:end:step]`, Python-style; step must be positive.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: i64,
    },
    /// `[?(test)]`: on an array, its object elements that pass; on an object, the object
    /// itself if it passes (as Jayway does). Scalars never match: AWS's `@` matches only objects.
    Filter(Test),
}

/// A filter's test, parsed as Jayway does: `&&` binds tighter than `||`, and `!` negates a
/// group or an existence test.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    Or(Vec<Test>),
    And(Vec<Test>),
    Not(Box<Test>),
    /// `@.field` alone: the field is present (even if null).
    Exists(Vec<Selector>),
    Compare(Operand, Comparison, Operand),
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// `@`, `@.a[0]['b']`: fields and indexes from the object being tested.
    Current(Vec<Selector>),
    /// A number, a quoted string, `true`, `false` or `null`.
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// How deep parentheses and `!` may nest in one filter: parsing and evaluation recurse on them.
const MAX_FILTER_DEPTH: usize = 32;

/// Jayway's word operators, which AWS does not support ("lexical operators ... such as
/// `subsetof`"): named in the refusal.
const LEXICAL_OPERATORS: &[&str] = &[
    "in", "nin", "subsetof", "anyof", "noneof", "size", "empty", "contains", "all", "matches", "type",
];

impl Test {
    /// Whether `item` passes. A missing field or a comparison of different types is false,
    /// never an error; `!=` is the negation of `==` (Jayway's rule), so it holds for them.
    fn holds(&self, item: &Value) -> bool {
        match self {
            Test::Or(tests) => tests.iter().any(|t| t.holds(item)),
            Test::And(tests) => tests.iter().all(|t| t.holds(item)),
            Test::Not(test) => !test.holds(item),
            Test::Exists(path) => follow(path, item).is_some(),
            Test::Compare(left, op, right) => {
                let pair = left.value(item).zip(right.value(item));
                match op {
                    Comparison::Eq => pair.is_some_and(|(a, b)| json_eq(a, b)),
                    Comparison::Ne => !pair.is_some_and(|(a, b)| json_eq(a, b)),
                    _ => pair.and_then(|(a, b)| order(a, b)).is_some_and(|o| match op {
                        Comparison::Lt => o.is_lt(),
                        Comparison::Le => o.is_le(),
                        Comparison::Gt => o.is_gt(),
                        _ => o.is_ge(),
                    }),
                }
            }
        }
    }
}

impl Operand {
    fn value<'a>(&'a self, item: &'a Value) -> Option<&'a Value> {
        match self {
            Operand::Current(path) => follow(path, item),
            Operand::Literal(value) => Some(value),
        }
    }
}

/// Follows fields and indexes from `node`; `None` where one is missing.
fn follow<'a>(path: &[Selector], node: &'a Value) -> Option<&'a Value> {
    path.iter().try_fold(node, |node, selector| match (selector, node) {
        (Selector::Name(name), Value::Object(map)) => map.get(name),
        (Selector::Index(i), Value::Array(items)) => resolve_index(*i, items.len()).and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Equality with numbers by value (`1 == 1.0`); different types are unequal (`1 != '1'`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => cmp_numbers(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// `<` and friends: numbers by value, strings by UTF-16 code units (Java's order); other pairs
/// have no order, so the comparison is false.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => cmp_numbers(x, y),
        (Value::String(x), Value::String(y)) => Some(x.encode_utf16().cmp(y.encode_utf16())),
        _ => None,
    }
}

/// Compares exactly where `f64` would not: integers as integers, and an integer with an
/// integral float as integers.
fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    let int = |n: &Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    // Beyond 1e30 a float is larger than any i64/u64, so comparing as f64 keeps the order.
    let int_float = |i: i128, f: f64| {
        if f.fract() == 0.0 && f.abs() < 1e30 {
            Some(i.cmp(&(f as i128)))
        } else {
            (i as f64).partial_cmp(&f)
        }
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        (Some(x), None) => int_float(x, b.as_f64()?),
        (None, Some(y)) => int_float(y, a.as_f64()?).map(Ordering::reverse),
        (None, None) => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Segment {
    /// `..`: apply the selector to the node and all its descendants.
    pub(crate) recursive: bool,
    pub(crate) selector: Selector,
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    text: String,
    root: Root,
    segments: Vec<Segment>,
}

/// Why a path failed to read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the JSONPath `{path}` could not be found in the input")]
pub(crate) struct NoMatch {
    pub(crate) path: String,
}

impl Path {
    /// Parses `text`. The error is a reason suitable for a `LoadError`.
    pub(crate) fn parse(text: &str) -> Result<Path, String> {
        Parser::new(text).parse()
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Only fields and indexes: the path names at most one node.
    pub(crate) fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| !s.recursive && matches!(s.selector, Selector::Name(_) | Selector::Index(_)))
    }

    /// Reads the path. A definite path yields the one value it names, or [`NoMatch`]; an
    /// indefinite one yields the array of everything it matched (possibly empty).
    pub(crate) fn read(&self, input: &Value, scope: &Scope<'_>) -> Result<Value, NoMatch> {
        let mut segments = &self.segments[..];
        let nodes = match &self.root {
            Root::Input => vec![input],
            // `$$.Name…` starts at that part, so that the whole object need not be built.
            Root::Context => match segments.split_first() {
                Some((
                    Segment {
                        recursive: false,
                        selector: Selector::Name(name),
                    },
                    rest,
                )) => {
                    segments = rest;
                    scope.context.get(name).into_iter().collect()
                }
                _ => vec![scope.context.whole()],
            },
            Root::Variable(name) => vec![scope.vars.get(name).ok_or_else(|| NoMatch {
                path: self.text.clone(),
            })?],
        };
        let mut nodes = nodes;
        for segment in segments {
            let mut next = Vec::new();
            for node in nodes {
                if segment.recursive {
                    let mut all = Vec::new();
                    descendants_and_self(node, &mut all);
                    match &segment.selector {
                        // As Jayway's scan: every object at any depth that passes, once.
                        Selector::Filter(test) => {
                            next.extend(all.into_iter().filter(|n| n.is_object() && test.holds(n)))
                        }
                        selector => all.into_iter().for_each(|n| select(n, selector, &mut next)),
                    }
                } else {
                    select(node, &segment.selector, &mut next);
                }
            }
            nodes = next;
        }
        if self.is_definite() {
            nodes.first().map(|v| (*v).clone()).ok_or_else(|| NoMatch {
                path: self.text.clone(),
            })
        } else {
            Ok(Value::Array(nodes.into_iter().cloned().collect()))
        }
    }
}

fn descendants_and_self<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(node);
    match node {
        Value::Object(map) => map.values().for_each(|v| descendants_and_self(v, out)),
        Value::Array(items) => items.iter().for_each(|v| descendants_and_self(v, out)),
        _ => {}
    }
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if index < 0 { len + index } else { index };
    if (0..len).contains(&i) {
        usize::try_from(i).ok()
    } else {
        None
    }
}

fn select<'a>(node: &'a Value, selector: &Selector, out: &mut Vec<&'a Value>) {
    match (selector, node) {
        (Selector::Name(name), Value::Object(map)) => out.extend(map.get(name)),
        (Selector::Names(names), Value::Object(map)) => out.extend(names.iter().filter_map(|n| map.get(n))),
        (Selector::Index(i), Value::Array(items)) => {
            out.extend(resolve_index(*i, items.len()).and_then(|i| items.get(i)))
        }
        (Selector::Indexes(is), Value::Array(items)) => out.extend(
            is.iter()
                .filter_map(|i| resolve_index(*i, items.len()).and_then(|i| items.get(i))),
        ),
        (Selector::Wildcard, Value::Object(map)) => out.extend(map.values()),
        (Selector::Wildcard, Value::Array(items)) => out.extend(items.iter()),
        (Selector::Filter(test), Value::Array(items)) => {
            out.extend(items.iter().filter(|v| v.is_object() && test.holds(v)))
        }
        (Selector::Filter(test), Value::Object(_)) if test.holds(node) => out.push(node),
        (Selector::Slice { start, end, step }, Value::Array(items)) => {
            let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
            let clamp = |v: i64| if v < 0 { (len + v).max(0) } else { v.min(len) };
            let from = start.map_or(0, clamp);
            let to = end.map_or(len, clamp);
            let mut i = from;
            while i < to {
                if let Some(item) = usize::try_from(i).ok().and_then(|i| items.get(i)) {
                    out.push(item);
                }
                i = i.saturating_add(*step);
            }
        }
        _ => {}
    }
}

/// A reference path (`ResultPath`): `$` followed by fields and indexes only. It names one
/// place in the input, which writing creates if needed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReferencePath(Path);

impl ReferencePath {
    pub(crate) fn parse(text: &str) -> Result<ReferencePath, String> {
        let path = Path::parse(text)?;
        if path.root != Root::Input {
            return Err(format!(
                "`{text}` must be a reference path starting with `$`, not the context object `$$` or a variable"
            ));
        }
        if path.segments.iter().any(|s| matches!(s.selector, Selector::Filter(_))) {
            return Err(format!(
                "`{text}` must be a reference path naming one place (only `.field`, `['field']` and `[index]`); a filter `[?(...)]` can match many"
            ));
        }
        if !path.is_definite() {
            return Err(format!(
                "`{text}` must be a reference path (only `.field`, `['field']` and `[index]`)"
            ));
        }
        Ok(ReferencePath(path))
    }

    pub(crate) fn text(&self) -> &str {
        self.0.text()
    }

    /// Returns `target` with `value` placed at this path. Missing intermediate fields
    /// become objects; an existing non-object field, or an index outside an existing
    /// array, cannot be written through (the cause is returned).
    pub(crate) fn write(&self, mut target: Value, value: Value) -> Result<Value, String> {
        if self.0.segments.is_empty() {
            return Ok(value);
        }
        write_at(&mut target, &self.0.segments, value, "$")?;
        Ok(target)
    }
}

fn write_at(node: &mut Value, segments: &[Segment], value: Value, here: &str) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        *node = value;
        return Ok(());
    };
    match (&first.selector, node) {
        (Selector::Name(name), Value::Object(map)) => {
            let child = map.entry(name.clone()).or_insert_with(|| Value::Object(Map::new()));
            write_at(child, rest, value, &format!("{here}.{name}"))
        }
        (Selector::Index(i), Value::Array(items)) => {
            let len = items.len();
            match resolve_index(*i, len).and_then(|idx| items.get_mut(idx)) {
                Some(child) => write_at(child, rest, value, &format!("{here}[{i}]")),
                None => Err(format!("index {i} is outside the array at `{here}` (length {len})")),
            }
        }
        (Selector::Name(name), other) => Err(format!(
            "cannot set field `{name}`: `{here}` is {}, not an object",
            kind_of(other)
        )),
        (Selector::Index(i), other) => Err(format!(
            "cannot set index {i}: `{here}` is {}, not an array",
            kind_of(other)
        )),
        _ => Err("a reference path has only fields and indexes".to_string()),
    }
}

pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
    /// Open parentheses and `!` in the filter being parsed (0 outside filters).
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            chars: text.chars().collect(),
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn fail<T>(&self, reason: &str) -> Result<T, String> {
        Err(format!(
            "invalid path `{}` at character {}: {reason}",
            self.text,
            self.pos + 1
        ))
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn parse(mut self) -> Result<Path, String> {
        let root = match (self.peek(), self.peek_at(1)) {
            (Some('$'), Some('$')) => {
                self.pos = 2;
                Root::Context
            }
            (Some('$'), Some(c)) if c.is_alphabetic() || c == '_' => {
                let start = 1;
                let mut end = start;
                while self.peek_at(end).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    end += 1;
                }
                let name: String = self.chars[start..end].iter().collect();
                self.pos = end;
                Root::Variable(name)
            }
            (Some('$'), _) => {
                self.pos = 1;
                Root::Input
            }
            _ => {
                return self
                    .fail("a path must begin with `$` (or `$$` for the context object, `$name` for a variable)");
            }
        };
        let mut segments = Vec::new();
        while let Some(c) = self.peek() {
            let segment = match c {
                '.' => {
                    self.pos += 1;
                    let recursive = self.peek() == Some('.');
                    if recursive {
                        self.pos += 1;
                    }
                    match self.peek() {
                        Some('*') => {
                            self.pos += 1;
                            Segment {
                                recursive,
                                selector: Selector::Wildcard,
                            }
                        }
                        Some('[') if recursive => Segment {
                            recursive,
                            selector: self.bracket()?,
                        },
                        _ => Segment {
                            recursive,
                            selector: Selector::Name(self.dotted_name()?),
                        },
                    }
                }
                '[' => Segment {
                    recursive: false,
                    selector: self.bracket()?,
                },
                _ => return self.fail(&format!("unexpected `{c}`; expected `.` or `[`")),
            };
            segments.push(segment);
        }
        Ok(Path {
            text: self.text.to_string(),
            root,
            segments,
        })
    }

    fn dotted_name(&mut self) -> Result<String, String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == '.' || c == '[' {
                break;
            }
            if c.is_whitespace() || "]*'\"?@(),".contains(c) {
                if c == '(' {
                    return self.fail("JSONPath functions are not supported");
                }
                return self.fail(&format!("`{c}` is not allowed in a field name; use ['...']"));
            }
            self.pos += 1;
        }
        if self.pos == start {
            return self.fail("empty field name");
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    /// Parses `[...]`, starting at `[`.
    fn bracket(&mut self) -> Result<Selector, String> {
        self.pos += 1; // '['
        self.skip_ws();
        let selector = match self.peek() {
            Some('?') if self.depth > 0 => return self.fail("a filter's path cannot contain another filter"),
            Some('?') => self.filter()?,
            Some('(') => return self.fail("script expressions are not supported"),
            Some('*') => {
                self.pos += 1;
                Selector::Wildcard
            }
            Some('\'') | Some('"') => {
                let mut names = vec![self.quoted()?];
                self.skip_ws();
                while self.peek() == Some(',') {
                    self.pos += 1;
                    self.skip_ws();
                    names.push(self.quoted()?);
                    self.skip_ws();
                }
                if names.len() == 1 {
                    Selector::Name(names.remove(0))
                } else {
                    Selector::Names(names)
                }
            }
            _ => self.indexes_or_slice()?,
        };
        self.skip_ws();
        if self.peek() != Some(']') {
            return self.fail("expected `]`");
        }
        self.pos += 1;
        Ok(selector)
    }

    /// Parses `?(test)` inside `[...]`, starting at `?`.
    fn filter(&mut self) -> Result<Selector, String> {
        self.pos += 1; // '?'
        self.skip_ws();
        if self.peek() != Some('(') {
            return self.fail("a filter is written `[?(...)]`");
        }
        Ok(Selector::Filter(self.group()?))
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return self.fail(&format!(
                "a filter may nest parentheses and `!` at most {MAX_FILTER_DEPTH} deep"
            ));
        }
        Ok(())
    }

    /// `(` test `)`, starting at `(`.
    fn group(&mut self) -> Result<Test, String> {
        self.enter()?;
        self.pos += 1; // '('
        let test = self.any()?;
        self.skip_ws();
        match self.peek() {
            Some(')') => self.pos += 1,
            None | Some(']') => return self.fail("unterminated filter: expected `)`"),
            Some(c) => return self.fail(&format!("expected `&&`, `||` or `)`, not `{c}`")),
        }
        self.depth -= 1;
        Ok(test)
    }

    /// Tests joined by `||`.
    fn any(&mut self) -> Result<Test, String> {
        self.joined('|', Self::all, Test::Or)
    }

    /// Tests joined by `&&`.
    fn all(&mut self) -> Result<Test, String> {
        self.joined('&', Self::unary, Test::And)
    }

    /// One or more `operand`s joined by `op` doubled, as `join` of them; a lone one is itself.
    fn joined(
        &mut self,
        op: char,
        operand: fn(&mut Self) -> Result<Test, String>,
        join: fn(Vec<Test>) -> Test,
    ) -> Result<Test, String> {
        let mut tests = vec![operand(self)?];
        while self.logical(op)? {
            tests.push(operand(self)?);
        }
        Ok(if tests.len() == 1 { tests.remove(0) } else { join(tests) })
    }

    /// Whether `&&` (or `||`) comes next, consuming it; a single `&` (`|`) is an error.
    fn logical(&mut self, c: char) -> Result<bool, String> {
        self.skip_ws();
        if self.peek() != Some(c) {
            return Ok(false);
        }
        if self.peek_at(1) != Some(c) {
            return self.fail(&format!("expected `{c}{c}`"));
        }
        self.pos += 2;
        Ok(true)
    }

    /// `!` test, `(` test `)`, or a comparison or existence test.
    fn unary(&mut self) -> Result<Test, String> {
        self.skip_ws();
        match self.peek() {
            Some('!') => {
                let bang = self.pos;
                self.enter()?;
                self.pos += 1;
                self.skip_ws();
                let test = if matches!(self.peek(), Some('(' | '!')) {
                    self.unary()?
                } else {
                    match self.relation()? {
                        exists @ Test::Exists(_) => exists,
                        _ => {
                            // Jayway would drop the `!` here and run the comparison as written.
                            self.pos = bang;
                            return self
                                .fail("`!` negates an existence test (`!@.field`) or a group: write `!(... == ...)`");
                        }
                    }
                };
                self.depth -= 1;
                Ok(Test::Not(Box::new(test)))
            }
            Some('(') => self.group(),
            _ => self.relation(),
        }
    }

    /// `operand op operand`, or `@...` alone as an existence test.
    fn relation(&mut self) -> Result<Test, String> {
        let left = self.operand()?;
        let Some(op) = self.comparison()? else {
            return match left {
                Operand::Current(path) => Ok(Test::Exists(path)),
                Operand::Literal(_) => self.fail("a value alone is not a test: compare it, or test a field `@.field`"),
            };
        };
        let right = self.operand()?;
        Ok(Test::Compare(left, op, right))
    }

    /// The comparison operator next, if any (`None` before `)`, `&&`, `||` or the end).
    fn comparison(&mut self) -> Result<Option<Comparison>, String> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            None | Some(')' | ']' | '&' | '|') => return Ok(None),
            Some(c) if c.is_alphabetic() => {
                let word = self.word();
                let reason = if LEXICAL_OPERATORS.contains(&word.as_str()) {
                    format!(
                        "the operator `{word}` is not supported: Step Functions does not support lexical filter operators"
                    )
                } else {
                    format!("expected a comparison (==, !=, <, <=, >, >=), `&&`, `||` or `)`, not `{word}`")
                };
                self.pos = start;
                return self.fail(&reason);
            }
            _ => {}
        }
        while self.peek().is_some_and(|c| "=!<>~".contains(c)) {
            self.pos += 1;
        }
        let op: String = self.chars[start..self.pos].iter().collect();
        let op = match op.as_str() {
            "==" => Comparison::Eq,
            "!=" => Comparison::Ne,
            "<" => Comparison::Lt,
            "<=" => Comparison::Le,
            ">" => Comparison::Gt,
            ">=" => Comparison::Ge,
            "=~" => {
                self.pos = start;
                return self
                    .fail("`=~` is not supported: Step Functions does not support filtering by regular expression");
            }
            "" => {
                let c = self.peek().unwrap_or(' ');
                return self.fail(&format!(
                    "expected a comparison (==, !=, <, <=, >, >=), `&&`, `||` or `)`, not `{c}`"
                ));
            }
            other => {
                let reason = format!("unknown operator `{other}`; a filter compares with ==, !=, <, <=, > or >=");
                self.pos = start;
                return self.fail(&reason);
            }
        };
        Ok(Some(op))
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some('@') => {
                self.pos += 1;
                self.current_path().map(Operand::Current)
            }
            Some('$') => self.fail(
                "a filter cannot read `$`, `$$` or a variable: Step Functions does not support filtering by another value in the JSON structure",
            ),
            Some(quote @ ('\'' | '"')) => self.string_literal(quote).map(|s| Operand::Literal(Value::String(s))),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number_literal(),
            Some('/') => self.fail("regular expressions are not supported: Step Functions does not support filtering by regular expression"),
            Some('[' | '{') => self.fail("array and object literals are not supported in a filter"),
            Some(c) if c.is_alphabetic() => {
                let word = self.word();
                match word.as_str() {
                    "true" => Ok(Operand::Literal(Value::Bool(true))),
                    "false" => Ok(Operand::Literal(Value::Bool(false))),
                    "null" => Ok(Operand::Literal(Value::Null)),
                    _ => {
                        self.pos = start;
                        self.fail(&format!(
                            "unexpected `{word}`; a filter compares `@` paths, numbers, quoted strings, true, false and null"
                        ))
                    }
                }
            }
            _ => self.fail("expected `@`, a number, a quoted string, true, false or null"),
        }
    }

    /// The fields and indexes after `@`: a filter's operand names one value.
    fn current_path(&mut self) -> Result<Vec<Selector>, String> {
        let mut path = Vec::new();
        loop {
            let start = self.pos;
            match self.peek() {
                Some('.') if self.peek_at(1) == Some('.') => {
                    return self.fail("`..` is not supported in a filter's path; use fields and indexes");
                }
                Some('.') if self.peek_at(1) == Some('*') => {
                    return self.fail("`*` is not supported in a filter's path; use fields and indexes");
                }
                Some('.') => {
                    self.pos += 1;
                    path.push(Selector::Name(self.filter_field()?));
                }
                Some('[') => {
                    let selector = self.bracket()?;
                    if !matches!(selector, Selector::Name(_) | Selector::Index(_)) {
                        self.pos = start;
                        return self.fail("a filter's path names one value: only `.field`, `['field']` and `[index]`");
                    }
                    path.push(selector);
                }
                _ => return Ok(path),
            }
        }
    }

    /// A dotted field name in a filter, which ends at blanks and operators too.
    fn filter_field(&mut self) -> Result<String, String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || ".[])=!<>&|~".contains(c) {
                break;
            }
            if c == '(' {
                return self.fail("JSONPath functions such as `length()` are not supported");
            }
            if "*'\"?@,".contains(c) {
                return self.fail(&format!("`{c}` is not allowed in a field name; use ['...']"));
            }
            self.pos += 1;
        }
        if self.pos == start {
            return self.fail("empty field name");
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    /// A quoted string with JSON's escapes, starting at the quote.
    fn string_literal(&mut self, quote: char) -> Result<String, String> {
        self.until_quote(quote, "string", Self::json_escape)
    }

    /// The text up to the closing `quote`, starting at the opening one; `escape` reads what a
    /// backslash stands for, starting at the backslash, and moves past it.
    fn until_quote(
        &mut self,
        quote: char,
        what: &str,
        escape: impl Fn(&mut Self) -> Result<char, String>,
    ) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return self.fail(&format!("unterminated {what}")),
                Some('\\') => out.push(escape(self)?),
                Some(c) => {
                    self.pos += 1;
                    if c == quote {
                        return Ok(out);
                    }
                    out.push(c);
                }
            }
        }
    }

    /// One of JSON's escapes, starting at `\`.
    fn json_escape(&mut self) -> Result<char, String> {
        let c = match self.peek_at(1) {
            None => return self.fail("unterminated escape"),
            Some(c @ ('\\' | '\'' | '"' | '/')) => c,
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => return self.unicode_escape(),
            Some(c) => return self.fail(&format!("unknown escape `\\{c}`")),
        };
        self.pos += 2;
        Ok(c)
    }

    /// `\uXXXX` (a surrogate pair as two), starting at `\`.
    fn unicode_escape(&mut self) -> Result<char, String> {
        let unit = |p: &Self, at: usize| -> Option<u32> {
            if p.peek_at(at) != Some('\\') || p.peek_at(at + 1) != Some('u') {
                return None;
            }
            let hex: String = (at + 2..at + 6).filter_map(|i| p.peek_at(i)).collect();
            (hex.len() == 4 && hex.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| u32::from_str_radix(&hex, 16).ok())
                .flatten()
        };
        let Some(high) = unit(self, 0) else {
            return self.fail("`\\u` must be followed by four hex digits");
        };
        let (code, len) = match high {
            0xD800..=0xDBFF => match unit(self, 6) {
                Some(low @ 0xDC00..=0xDFFF) => (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), 12),
                _ => return self.fail("a `\\u` high surrogate must be followed by a low one"),
            },
            _ => (high, 6),
        };
        let Some(c) = char::from_u32(code) else {
            return self.fail("a `\\u` low surrogate must follow a high one");
        };
        self.pos += len;
        Ok(c)
    }

    /// A JSON number.
    fn number_literal(&mut self) -> Result<Operand, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit() || "+-.eE".contains(c)) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        match serde_json::from_str::<Number>(&text) {
            Ok(n) => Ok(Operand::Literal(Value::Number(n))),
            Err(_) => {
                self.pos = start;
                self.fail(&format!("`{text}` is not a number"))
            }
        }
    }

    fn quoted(&mut self) -> Result<String, String> {
        let Some(quote) = self.peek().filter(|c| *c == '\'' || *c == '"') else {
            return self.fail("expected a quoted name");
        };
        // A backslash stands for the character after it.
        self.until_quote(quote, "quoted name", |p| {
            let Some(escaped) = p.peek_at(1) else {
                return p.fail("unterminated escape");
            };
            p.pos += 2;
            Ok(escaped)
        })
    }

    fn integer(&mut self) -> Result<Option<i64>, String> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits: String = self.chars[start..self.pos].iter().collect();
        self.skip_ws();
        if digits.is_empty() {
            return Ok(None);
        }
        match digits.parse::<i64>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => self.fail(&format!("`{digits}` is not an integer index")),
        }
    }

    fn indexes_or_slice(&mut self) -> Result<Selector, String> {
        let first = self.integer()?;
        if self.peek() == Some(':') {
            self.pos += 1;
            let end = self.integer()?;
            let mut step = 1;
            if self.peek() == Some(':') {
                self.pos += 1;
                step = self.integer()?.unwrap_or(1);
                if step <= 0 {
                    return self.fail("slice steps must be positive");
                }
            }
            return Ok(Selector::Slice {
                start: first,
                end,
                step,
            });
        }
        let Some(first) = first else {
            return self.fail("expected an index, a slice, `*` or a quoted name");
        };
        let mut indexes = vec![first];
        while self.peek() == Some(',') {
            self.pos += 1;
            match self.integer()? {
                Some(i) => indexes.push(i),
                None => return self.fail("expected an index after `,`"),
            }
        }
        Ok(if indexes.len() == 1 {
            Selector::Index(first)
        } else {
            Selector::Indexes(indexes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(path: &str, input: &Value) -> Result<Value, NoMatch> {
        let ctx = json!({"State": {"Name": "S"}});
        let vars = json!({"order": {"total": 4.5}, "n": 2});
        let vars = vars.as_object().cloned().unwrap_or_default();
        Path::parse(path)
            .map_err(|e| NoMatch { path: e })?
            .read(input, &Scope::new(&ContextObject::of(&ctx), &vars))
    }

    fn doc() -> Value {
        json!({
            "a": {"b": {"c": 1}},
            "items": [{"id": 1, "n": "x"}, {"id": 2, "n": "y"}, {"id": 3}],
            "odd key": "spaced",
            "quo'te": "q",
            "n": null
        })
    }

    #[test]
    fn reads_root_fields_and_nested_fields() {
        assert_eq!(read("$", &doc()), Ok(doc()));
        assert_eq!(read("$.a.b.c", &doc()), Ok(json!(1)));
        assert_eq!(read("$.a.b", &doc()), Ok(json!({"c": 1})));
        assert_eq!(read("$.n", &doc()), Ok(Value::Null));
    }

    #[test]
    fn reads_indexes_including_negative() {
        assert_eq!(read("$.items[0].id", &doc()), Ok(json!(1)));
        assert_eq!(read("$.items[-1]", &doc()), Ok(json!({"id": 3})));
        assert!(read("$.items[3]", &doc()).is_err());
        assert!(read("$.a[0]", &doc()).is_err());
    }

    #[test]
    fn reads_bracketed_names_with_quotes_and_escapes() {
        assert_eq!(read("$['a']['b']", &doc()), Ok(json!({"c": 1})));
        assert_eq!(read("$[\"odd key\"]", &doc()), Ok(json!("spaced")));
        assert_eq!(read("$['quo\\'te']", &doc()), Ok(json!("q")));
    }

    #[test]
    fn reads_the_context_object() {
        assert_eq!(read("$$.State.Name", &json!({})), Ok(json!("S")));
        assert_eq!(read("$$", &json!({})), Ok(json!({"State": {"Name": "S"}})));
        // A first name is looked up without building the whole object; the rest build it.
        assert!(read("$$.Nope", &json!({})).is_err());
        assert_eq!(read("$$['State'].Name", &json!({})), Ok(json!("S")));
        assert_eq!(read("$$.*.Name", &json!({})), Ok(json!(["S"])));
        assert_eq!(read("$$..Name", &json!({})), Ok(json!(["S"])));
    }

    #[test]
    fn indefinite_paths_yield_arrays() {
        assert_eq!(read("$.items[*].id", &doc()), Ok(json!([1, 2, 3])));
        assert_eq!(read("$.items[*].n", &doc()), Ok(json!(["x", "y"])));
        assert_eq!(read("$.items[0:2].id", &doc()), Ok(json!([1, 2])));
        assert_eq!(read("$.items[::2].id", &doc()), Ok(json!([1, 3])));
        assert_eq!(read("$.items[-2:].id", &doc()), Ok(json!([2, 3])));
        assert_eq!(read("$.items[0,2].id", &doc()), Ok(json!([1, 3])));
        assert_eq!(read("$..id", &doc()), Ok(json!([1, 2, 3])));
        assert_eq!(read("$.a.*", &doc()), Ok(json!([{"c": 1}])));
        assert_eq!(read("$['a','odd key']", &doc()), Ok(json!([{"b": {"c": 1}}, "spaced"])));
        assert_eq!(read("$.missing[*]", &doc()), Ok(json!([])));
    }

    #[test]
    fn a_definite_path_that_matches_nothing_fails() {
        assert_eq!(read("$.a.x", &doc()), Err(NoMatch { path: "$.a.x".into() }));
        assert!(read("$.a.b.c.d", &doc()).is_err());
    }

    /// Each path is refused at parse, with a message containing its reason.
    fn assert_refused(cases: &[(&str, &str)]) {
        for (bad, why) in cases {
            match Path::parse(bad) {
                Ok(p) => panic!("`{bad}` parsed as {p:?}"),
                Err(e) => assert!(e.contains(why), "`{bad}`: {e}"),
            }
        }
    }

    #[test]
    fn syntax_errors_and_unsupported_features_are_refused() {
        assert_refused(&[
            ("a.b", "must begin with `$`"),
            ("", "must begin with `$`"),
            ("$.", "empty field name"),
            ("$.a[", "expected an index"),
            ("$.a[0", "expected `]`"),
            ("$.a['x]", "unterminated"),
            ("$.items[?@.id > 1]", "a filter is written `[?(...)]`"),
            ("$.items.length()", "functions are not supported"),
            ("$.a b", "not allowed in a field name"),
            ("$-x", "unexpected `-`"),
            ("$.a[1:2:0]", "slice steps must be positive"),
        ]);
    }

    #[test]
    fn reference_paths_write_and_create_intermediate_objects() {
        let write =
            |path: &str, target: Value, value: Value| ReferencePath::parse(path).and_then(|p| p.write(target, value));
        assert_eq!(write("$", json!({"a": 1}), json!(2)), Ok(json!(2)));
        assert_eq!(write("$.b", json!({"a": 1}), json!(2)), Ok(json!({"a": 1, "b": 2})));
        assert_eq!(write("$.a", json!({"a": 1}), json!(2)), Ok(json!({"a": 2})));
        assert_eq!(
            write("$.x.y['z z']", json!({"a": 1}), json!(true)),
            Ok(json!({"a": 1, "x": {"y": {"z z": true}}}))
        );
        assert_eq!(
            write("$.l[1].v", json!({"l": [{}, {"w": 0}]}), json!(3)),
            Ok(json!({"l": [{}, {"w": 0, "v": 3}]}))
        );
        assert_eq!(
            write("$.l[-1]", json!({"l": [1, 2]}), json!(9)),
            Ok(json!({"l": [1, 9]}))
        );
    }

    #[test]
    fn reference_path_writes_that_cannot_apply_fail_with_a_cause() {
        let write = |path: &str, target: Value| ReferencePath::parse(path).and_then(|p| p.write(target, json!(1)));
        let err = write("$.a.b", json!({"a": "text"})).unwrap_err();
        assert!(err.contains("`$.a` is a string, not an object"), "{err}");
        assert!(write("$.a", json!("scalar")).unwrap_err().contains("`$` is a string"));
        assert!(
            write("$.l[5]", json!({"l": []}))
                .unwrap_err()
                .contains("outside the array")
        );
        assert!(write("$.l[0]", json!({})).unwrap_err().contains("not an array"));
    }

    #[test]
    fn reference_paths_refuse_indefinite_and_context_paths() {
        assert!(ReferencePath::parse("$.a[*]").unwrap_err().contains("reference path"));
        assert!(ReferencePath::parse("$..a").unwrap_err().contains("reference path"));
        assert!(ReferencePath::parse("$$.State").unwrap_err().contains("context object"));
    }

    /// Items for filters: numbers, strings, booleans, nulls, nesting, a missing field, scalars.
    fn shop() -> Value {
        json!({
            "limit": 10,
            "items": [
                {"name": "a", "price": 5, "tags": ["hot", "new"], "done": true, "note": null},
                {"name": "b", "price": 10.0, "tags": ["cold"], "done": false, "size": {"w": 2}},
                {"name": "c", "price": 12.5, "tags": [], "done": false},
                {"name": "d", "price": "12", "tags": ["hot"]},
                "scalar",
                7,
                ["hot"]
            ]
        })
    }

    fn names(path: &str) -> Vec<String> {
        let found = read(&format!("$.items[?({path})].name"), &shop()).unwrap_or_else(|e| panic!("`{path}`: {e}"));
        let Value::Array(found) = found else {
            panic!("`{path}` gave {found}")
        };
        found.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
    }

    #[test]
    fn filters_compare_numbers_by_value_and_strings_as_strings() {
        assert_eq!(names("@.price == 10"), ["b"]); // 10 == 10.0
        assert_eq!(names("@.price != 10"), ["a", "c", "d"]);
        assert_eq!(names("@.price < 10"), ["a"]);
        assert_eq!(names("@.price <= 10"), ["a", "b"]);
        assert_eq!(names("@.price > 10"), ["c"]); // "12" is a string: no order with 10
        assert_eq!(names("@.price >= 10"), ["b", "c"]);
        assert_eq!(names("10 < @.price"), ["c"]);
        assert_eq!(names("@.price == '12'"), ["d"]);
        assert_eq!(names("@.name > 'b'"), ["c", "d"]);
        assert_eq!(names("@.name == \"a\""), ["a"]);
        assert_eq!(names("@.price == -1.5e3"), Vec::<String>::new());
        assert_eq!(names("@.done == true"), ["a"]);
        assert_eq!(names("@.done == false"), ["b", "c"]);
        assert_eq!(names("@.note == null"), ["a"]);
        assert_eq!(names("@.size == @.size"), ["b"]);
        // Integers beyond f64's precision still compare exactly.
        let big = json!({"l": [{"n": 9007199254740993u64}]});
        assert_eq!(
            read("$.l[?(@.n > 9007199254740992)].n", &big),
            Ok(json!([9007199254740993u64]))
        );
        assert_eq!(read("$.l[?(@.n == 9007199254740992.0)]", &big), Ok(json!([])));
    }

    #[test]
    fn mismatched_types_and_missing_fields_compare_false_and_unequal() {
        assert_eq!(names("@.price == 'x'"), Vec::<String>::new());
        assert_eq!(names("@.done < 1"), Vec::<String>::new());
        assert_eq!(names("@.missing == 1"), Vec::<String>::new());
        assert_eq!(names("@.missing < 1"), Vec::<String>::new());
        assert_eq!(names("@.missing == null"), Vec::<String>::new());
        // `!=` is the negation of `==` (Jayway's NotEqualsEvaluator), so it holds for them.
        assert_eq!(names("@.done != true"), ["b", "c", "d"]);
        assert_eq!(names("@.price != 'x'"), ["a", "b", "c", "d"]);
    }

    #[test]
    fn filters_test_existence_and_its_negation() {
        assert_eq!(names("@.size"), ["b"]);
        assert_eq!(names("@.note"), ["a"]); // present, though null
        assert_eq!(names("!@.done"), ["d"]);
        assert_eq!(names("@.size.w"), ["b"]);
        assert_eq!(names("@['size']['w']"), ["b"]);
        assert_eq!(names("@.tags[0]"), ["a", "b", "d"]);
        assert_eq!(names("@"), ["a", "b", "c", "d"]); // `@` matches only objects
    }

    #[test]
    fn filters_combine_with_precedence_groups_and_negation() {
        assert_eq!(names("@.price > 5 && @.done == false"), ["b", "c"]);
        assert_eq!(names("@.name == 'a' || @.name == 'd'"), ["a", "d"]);
        // `&&` binds tighter than `||`.
        assert_eq!(names("@.name == 'a' || @.name == 'b' && @.done == true"), ["a"]);
        assert_eq!(names("@.done == true && @.name == 'x' || @.name == 'c'"), ["c"]);
        assert_eq!(names("(@.name == 'a' || @.name == 'b') && @.done == false"), ["b"]);
        assert_eq!(names("!(@.price < 11)"), ["c", "d"]);
        assert_eq!(names("!!@.size"), ["b"]);
        assert_eq!(names("!(@.done == true || !@.done)"), ["b", "c"]);
        assert_eq!(names("  ( ( @.tags[0]=='hot' ) )&&@.tags[1]"), ["a"]);
        assert_eq!(names("@.tags[-1] == 'hot'"), ["d"]);
    }

    #[test]
    fn filters_apply_to_objects_after_other_segments_and_under_deep_scan() {
        let doc = shop();
        assert_eq!(read("$.items[?(@.price < 10)]", &doc), Ok(json!([shop()["items"][0]])));
        assert_eq!(read("$.items[?(@.size)].size.w", &doc), Ok(json!([2])));
        assert_eq!(read("$.items[?(@.price >= 10)].tags[0]", &doc), Ok(json!(["cold"])));
        assert_eq!(read("$.items[?(@.name == 'zz')]", &doc), Ok(json!([])));
        // On an object, the filter tests the object itself (as Jayway does); scalars never match.
        assert_eq!(read("$.items[1].size[?(@.w == 2)]", &doc), Ok(json!([{"w": 2}])));
        assert_eq!(read("$.items[1].size[?(@.w == 3)]", &doc), Ok(json!([])));
        assert_eq!(read("$.limit[?(@.x)]", &doc), Ok(json!([])));
        // `..[?(...)]`: every object at any depth that passes, once each.
        assert_eq!(read("$..[?(@.w)]", &doc), Ok(json!([{"w": 2}])));
        assert_eq!(read("$..[?(@.limit == 10)].limit", &doc), Ok(json!([10])));
        let tagged = read("$..[?(@.tags[0] == 'hot')].name", &doc);
        assert_eq!(tagged, Ok(json!(["a", "d"])));
        assert!(!Path::parse("$.items[?(@.a)]").is_ok_and(|p| p.is_definite()));
    }

    /// The AWS "Paths" page's filter example,
    /// https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
    #[test]
    fn the_aws_paths_page_filter_example() {
        let input = json!({"foo": 123, "bar": ["a", "b", "c"], "car": {"cdr": true},
            "jar": [{"a": 1}, {"a": 5}, {"a": 2}, {"a": 7}, {"a": 3}]});
        assert_eq!(read("$.jar[?(@.a >= 5)]", &input), Ok(json!([{"a": 5}, {"a": 7}])));
    }

    /// The Jayway JsonPath README's store document and filter examples,
    /// https://github.com/json-path/JsonPath/blob/master/README.md ("Path Examples").
    #[test]
    fn the_jayway_readme_filter_examples() {
        let store = json!({"store": {
            "book": [
                {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
                {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
                {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick",
                 "isbn": "0-553-21311-3", "price": 8.99},
                {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings",
                 "isbn": "0-395-19395-8", "price": 22.99}
            ],
            "bicycle": {"color": "red", "price": 19.95}
        }, "expensive": 10});
        let books = &store["store"]["book"];
        // "All books with an ISBN number".
        assert_eq!(read("$..book[?(@.isbn)]", &store), Ok(json!([books[2], books[3]])));
        // "All books in store cheaper than 10".
        assert_eq!(
            read("$.store.book[?(@.price < 10)]", &store),
            Ok(json!([books[0], books[2]]))
        );
        assert_eq!(
            read("$.store.book[?(@.price<10)]", &store),
            Ok(json!([books[0], books[2]]))
        );
        assert_eq!(
            read("$..book[?(@.price < 10)].title", &store),
            Ok(json!(["Sayings of the Century", "Moby Dick"]))
        );
        // The README's other two filters are what AWS does not support: refused at load.
        let refused = Path::parse("$..book[?(@.price <= $['expensive'])]").unwrap_err();
        assert!(refused.contains("another value in the JSON structure"), "{refused}");
        let refused = Path::parse("$..book[?(@.author =~ /.*REES/i)]").unwrap_err();
        assert!(refused.contains("regular expression"), "{refused}");
    }

    #[test]
    fn filter_strings_take_json_escapes() {
        let doc = json!({"l": [{"s": "it's \"q\"\n\u{e9}\u{1F600}"}, {"s": "x"}]});
        for path in [
            r#"$.l[?(@.s == 'it\'s "q"\n\u00e9\ud83d\ude00')].s"#,
            r#"$.l[?(@.s == "it's \"q\"\né😀")].s"#,
        ] {
            assert_eq!(read(path, &doc), Ok(json!([doc["l"][0]["s"]])), "{path}");
        }
    }

    #[test]
    fn unsupported_or_malformed_filters_are_refused_at_load() {
        assert_refused(&[
            ("$.a[?(@.x == 1)", "expected `]`"),
            ("$.a[?(@.x == 1", "unterminated filter"),
            ("$.a[?(@.x == 1]", "unterminated filter"),
            ("$.a[?(", "expected `@`"),
            ("$.a[?()]", "expected `@`"),
            ("$.a[?(@.x == 'y)]", "unterminated string"),
            ("$.a[?(@.x ==)]", "expected `@`"),
            ("$.a[?(@.x <> 1)]", "unknown operator `<>`"),
            ("$.a[?(@.x === 1)]", "unknown operator `===`"),
            ("$.a[?(@.x = 1)]", "unknown operator `=`"),
            ("$.a[?(@.x & @.y)]", "expected `&&`"),
            ("$.a[?(@.x | @.y)]", "expected `||`"),
            ("$.a[?(@.x @.y)]", "expected a comparison"),
            ("$.a[?(@.x foo 1)]", "not `foo`"),
            ("$.a[?(@.x in ['a'])]", "operator `in` is not supported"),
            ("$.a[?(@.x nin ['a'])]", "operator `nin` is not supported"),
            ("$.a[?(@.x subsetof ['a'])]", "operator `subsetof` is not supported"),
            ("$.a[?(@.x size 2)]", "operator `size` is not supported"),
            ("$.a[?(@.x =~ /a/)]", "`=~` is not supported"),
            ("$.a[?(@.x == /a/)]", "regular expressions are not supported"),
            ("$.a[?(@.x == $.y)]", "cannot read `$`"),
            ("$.a[?(@.x == $$.State.Name)]", "cannot read `$`"),
            ("$.a[?(@.x == $v)]", "cannot read `$`"),
            ("$.a[?($.y)]", "cannot read `$`"),
            ("$.a[?(@.x == ['a'])]", "array and object literals"),
            ("$.a[?(@.x == {})]", "array and object literals"),
            (
                "$.a[?(@.x.length() > 1)]",
                "functions such as `length()` are not supported",
            ),
            ("$.a[?(@.length())]", "functions such as `length()` are not supported"),
            ("$.a[?(@..x)]", "`..` is not supported in a filter's path"),
            ("$.a[?(@.*)]", "`*` is not supported in a filter's path"),
            ("$.a[?(@[*] == 1)]", "names one value"),
            ("$.a[?(@[0:1])]", "names one value"),
            ("$.a[?(@['x','y'])]", "names one value"),
            ("$.a[?(@[?(@.x)])]", "cannot contain another filter"),
            ("$.a[?(@.x == yes)]", "unexpected `yes`"),
            ("$.a[?(1)]", "a value alone is not a test"),
            ("$.a[?('x')]", "a value alone is not a test"),
            ("$.a[?(@.x == 01)]", "`01` is not a number"),
            ("$.a[?(@.x == 1e999)]", "is not a number"),
            ("$.a[?(@.x == -)]", "`-` is not a number"),
            ("$.a[?(!@.x == 1)]", "`!` negates an existence test"),
            ("$.a[?(!1)]", "a value alone is not a test"),
            ("$.a[?(@.x == 'a\\q')]", "unknown escape"),
            ("$.a[?(@.x == '\\u12')]", "four hex digits"),
            ("$.a[?(@.x == '\\ud800')]", "high surrogate"),
            ("$.a[?(@.x == '\\udc00')]", "low surrogate"),
            ("$.a[?(@.x) && (@.y)]", "expected `]`"),
            ("$.a[?(@.é€ == 1) ", "expected `]`"),
            ("$.a[?(@.x == 'é€", "unterminated string"),
        ]);
    }

    #[test]
    fn filter_nesting_is_bounded() {
        let ok = format!(
            "$.a[?({}@.x{})]",
            "(".repeat(MAX_FILTER_DEPTH - 1),
            ")".repeat(MAX_FILTER_DEPTH - 1)
        );
        assert!(Path::parse(&ok).is_ok(), "{ok}");
        for deep in [
            format!(
                "$.a[?({}@.x{})]",
                "(".repeat(MAX_FILTER_DEPTH),
                ")".repeat(MAX_FILTER_DEPTH)
            ),
            format!("$.a[?({}@.x)]", "!".repeat(MAX_FILTER_DEPTH)),
            format!("$.a[?({}", "(".repeat(100_000)),
            format!("$.a[?({}", "!(".repeat(100_000)),
        ] {
            let err = Path::parse(&deep).unwrap_err();
            assert!(err.contains("at most 32 deep"), "{err}");
        }
    }

    #[test]
    fn reference_paths_refuse_filters() {
        let err = ReferencePath::parse("$.items[?(@.id == 1)].x").unwrap_err();
        assert!(
            err.contains("must be a reference path") && err.contains("a filter"),
            "{err}"
        );
        let err = ReferencePath::parse("$..[?(@.id)]").unwrap_err();
        assert!(err.contains("a filter"), "{err}");
    }
}
