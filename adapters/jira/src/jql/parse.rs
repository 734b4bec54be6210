//! Lexing and parsing JQL into the [`Query`] AST, bounded in size and depth.

use super::*;

/// The query `input` (already checked for length) says.
pub(super) fn query(input: &str) -> Result<Query, JqlError> {
    let tokens = lex(input)?;
    Parser { tokens, pos: 0, end: input.len() }.query()
}

// ---------------------------------------------------------------------------
// lexing

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
    Comma,
    Op(Operator),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    at: usize,
}

pub(super) fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | ',' | '=' | '!' | '~' | '<' | '>' | '"' | '\'')
}

fn lex(input: &str) -> Result<Vec<Token>, JqlError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        let simple = |tok| Token { tok, at };
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(simple(Tok::LParen));
            }
            ')' => {
                chars.next();
                tokens.push(simple(Tok::RParen));
            }
            ',' => {
                chars.next();
                tokens.push(simple(Tok::Comma));
            }
            '=' | '~' => {
                chars.next();
                let op = if c == '=' { Operator::Eq } else { Operator::Contains };
                tokens.push(simple(Tok::Op(op)));
            }
            '!' | '<' | '>' => {
                chars.next();
                let next = chars.peek().map(|&(_, n)| n);
                let op = match (c, next) {
                    ('!', Some('=')) => Some(Operator::NotEq),
                    ('!', Some('~')) => Some(Operator::NotContains),
                    ('<', Some('=')) => Some(Operator::Le),
                    ('>', Some('=')) => Some(Operator::Ge),
                    _ => None,
                };
                let op = match op {
                    Some(op) => {
                        chars.next();
                        op
                    }
                    None if c == '<' => Operator::Lt,
                    None if c == '>' => Operator::Gt,
                    None => {
                        return Err(JqlError {
                            position: at,
                            kind: JqlErrorKind::Unexpected { expected: "'!=' or '!~'".into(), found: "'!'".into() },
                        });
                    }
                };
                tokens.push(simple(Tok::Op(op)));
            }
            '"' | '\'' => {
                chars.next();
                let mut value = String::new();
                let mut closed = false;
                while let Some((_, ch)) = chars.next() {
                    match ch {
                        '\\' => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, 't')) => value.push('\t'),
                            Some((_, 'r')) => value.push('\r'),
                            Some((_, other)) => value.push(other),
                            None => break,
                        },
                        ch if ch == c => {
                            closed = true;
                            break;
                        }
                        ch => value.push(ch),
                    }
                }
                if !closed {
                    return Err(JqlError { position: at, kind: JqlErrorKind::UnterminatedString });
                }
                tokens.push(simple(Tok::Str(value)));
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, ch)) = chars.peek() {
                    if !is_word_char(ch) {
                        break;
                    }
                    word.push(ch);
                    chars.next();
                }
                tokens.push(simple(Tok::Word(word)));
            }
        }
    }
    Ok(tokens)
}

const KEYWORDS: &[&str] = &["AND", "OR", "NOT", "IN", "IS", "EMPTY", "NULL", "ORDER", "BY", "ASC", "DESC"];

pub(super) fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

// ---------------------------------------------------------------------------
// parsing

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
}

const OPERATORS: &str = "an operator (=, !=, ~, !~, <, <=, >, >=, IN, NOT IN, IS, IS NOT)";

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |t| t.at)
    }

    fn bump(&mut self) -> Option<Tok> {
        let tok = self.tokens.get(self.pos).map(|t| t.tok.clone());
        self.pos += 1;
        tok
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek_keyword(keyword);
        if found {
            self.pos += 1;
        }
        found
    }

    fn error(&self, expected: &str) -> JqlError {
        let found = match self.peek() {
            None => "the end of the query".to_owned(),
            Some(Tok::Word(w)) => format!("'{w}'"),
            Some(Tok::Str(s)) => format!("\"{s}\""),
            Some(Tok::LParen) => "'('".to_owned(),
            Some(Tok::RParen) => "')'".to_owned(),
            Some(Tok::Comma) => "','".to_owned(),
            Some(Tok::Op(op)) => format!("'{}'", op.as_str()),
        };
        JqlError { position: self.at(), kind: JqlErrorKind::Unexpected { expected: expected.to_owned(), found } }
    }

    fn query(&mut self) -> Result<Query, JqlError> {
        let filter = if self.peek().is_none() || self.peek_keyword("ORDER") { None } else { Some(self.or(0)?) };
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            if !self.eat_keyword("BY") {
                return Err(self.error("BY after ORDER"));
            }
            loop {
                let field = self.field()?;
                let descending = if self.eat_keyword("DESC") {
                    true
                } else {
                    self.eat_keyword("ASC");
                    false
                };
                order_by.push(SortKey { field, descending });
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        if self.peek().is_some() {
            let expected = if order_by.is_empty() { "AND, OR or ORDER BY" } else { "',' or the end of the query" };
            return Err(self.error(expected));
        }
        Ok(Query { filter, order_by })
    }

    fn check_depth(&self, depth: usize) -> Result<(), JqlError> {
        if depth > MAX_DEPTH {
            Err(JqlError { position: self.at(), kind: JqlErrorKind::TooDeep { max: MAX_DEPTH } })
        } else {
            Ok(())
        }
    }

    fn or(&mut self, depth: usize) -> Result<Clause, JqlError> {
        let mut clauses = vec![self.and(depth)?];
        while self.eat_keyword("OR") {
            clauses.push(self.and(depth)?);
        }
        Ok(if clauses.len() == 1 { clauses.remove(0) } else { Clause::Or(clauses) })
    }

    fn and(&mut self, depth: usize) -> Result<Clause, JqlError> {
        let mut clauses = vec![self.not(depth)?];
        while self.eat_keyword("AND") {
            clauses.push(self.not(depth)?);
        }
        Ok(if clauses.len() == 1 { clauses.remove(0) } else { Clause::And(clauses) })
    }

    fn not(&mut self, depth: usize) -> Result<Clause, JqlError> {
        if self.eat_keyword("NOT") {
            self.check_depth(depth + 1)?;
            return Ok(Clause::Not(Box::new(self.not(depth + 1)?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.check_depth(depth + 1)?;
            self.pos += 1;
            let inner = self.or(depth + 1)?;
            if self.peek() != Some(&Tok::RParen) {
                return Err(self.error("')' or AND, OR"));
            }
            self.pos += 1;
            return Ok(inner);
        }
        self.term().map(Clause::Term)
    }

    fn field(&mut self) -> Result<String, JqlError> {
        self.word_or_string("a field name")
    }

    /// A quoted string or a bare word that is not a keyword: a field name or a value.
    fn word_or_string(&mut self, expected: &str) -> Result<String, JqlError> {
        let found = match self.peek() {
            Some(Tok::Str(s)) => s.clone(),
            Some(Tok::Word(w)) if !is_keyword(w) => w.clone(),
            _ => return Err(self.error(expected)),
        };
        self.pos += 1;
        Ok(found)
    }

    fn term(&mut self) -> Result<Term, JqlError> {
        let field = self.field()?;
        let op = match self.peek() {
            Some(Tok::Op(op)) => {
                let op = *op;
                self.pos += 1;
                op
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IN") => {
                self.pos += 1;
                Operator::In
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NOT") => {
                self.pos += 1;
                if !self.eat_keyword("IN") {
                    return Err(self.error("IN after NOT"));
                }
                Operator::NotIn
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IS") => {
                self.pos += 1;
                if self.eat_keyword("NOT") { Operator::IsNot } else { Operator::Is }
            }
            _ => return Err(self.error(OPERATORS)),
        };
        let operand = match op {
            Operator::In | Operator::NotIn => Operand::List(self.list()?),
            Operator::Is | Operator::IsNot => {
                if self.eat_keyword("EMPTY") || self.eat_keyword("NULL") {
                    Operand::Empty
                } else {
                    return Err(self.error("EMPTY or NULL"));
                }
            }
            Operator::Eq | Operator::NotEq => {
                if self.eat_keyword("EMPTY") || self.eat_keyword("NULL") {
                    Operand::Empty
                } else {
                    Operand::Value(self.value()?)
                }
            }
            _ => Operand::Value(self.value()?),
        };
        Ok(Term { field, op, operand })
    }

    fn value(&mut self) -> Result<String, JqlError> {
        self.word_or_string("a value")
    }

    fn list(&mut self) -> Result<Vec<String>, JqlError> {
        if self.bump() != Some(Tok::LParen) {
            self.pos -= 1;
            return Err(self.error("'(' starting a list of values"));
        }
        let mut values = vec![self.value()?];
        loop {
            match self.peek() {
                Some(Tok::Comma) => {
                    self.pos += 1;
                    values.push(self.value()?);
                }
                Some(Tok::RParen) => {
                    self.pos += 1;
                    return Ok(values);
                }
                _ => return Err(self.error("',' or ')'")),
            }
        }
    }
}
