//! Rendering a [`SearchQuery`] as an SQLite FTS5 MATCH expression or a PostgreSQL tsquery.

use crate::SearchQuery;

/// An FTS5 MATCH expression for the query, to bind as a parameter (`… MATCH ?`), or `None` for an empty query.
/// Every token is a double-quoted string (a literal `"` doubled), `*` marks a prefix token, the tokens of a group
/// are OR-ed in parentheses and the groups AND-ed.
///
/// ```
/// use guanxi_text::{fts5_match_expr, parse_query};
/// assert_eq!(fts5_match_expr(&parse_query("张伟 ada")).unwrap(), r#""张伟" AND "ada"*"#);
/// assert_eq!(fts5_match_expr(&parse_query("8000")).unwrap(), r#"("qxrev0008"* OR "qxtel8000" OR "8000"*)"#);
/// assert_eq!(fts5_match_expr(&parse_query("")), None);
/// ```
pub fn fts5_match_expr(q: &SearchQuery) -> Option<String> {
    render(q, " AND ", " OR ", |out, token, prefix| {
        out.push('"');
        for c in token.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
        if prefix {
            out.push('*');
        }
    })
}

/// A tsquery in its text form, to bind as a parameter and cast (`… @@ $1::tsquery`, never `to_tsquery`, which
/// would re-parse the lexemes), or `None` for an empty query. Every lexeme is single-quoted (`'` doubled and `\`
/// escaped), `:*` marks a prefix, `|` joins the tokens of a group and `&` the groups.
///
/// ```
/// use guanxi_text::{pg_tsquery, parse_query};
/// assert_eq!(pg_tsquery(&parse_query("张伟 ada")).unwrap(), "'张伟' & 'ada':*");
/// assert_eq!(pg_tsquery(&parse_query("8000")).unwrap(), "('qxrev0008':* | 'qxtel8000' | '8000':*)");
/// ```
pub fn pg_tsquery(q: &SearchQuery) -> Option<String> {
    render(q, " & ", " | ", |out, token, prefix| {
        out.push('\'');
        for c in token.chars() {
            match c {
                '\'' => out.push_str("''"),
                '\\' => out.push_str("\\\\"),
                c => out.push(c),
            }
        }
        out.push('\'');
        if prefix {
            out.push_str(":*");
        }
    })
}

fn render(q: &SearchQuery, and: &str, or: &str, lexeme: impl Fn(&mut String, &str, bool)) -> Option<String> {
    let mut out = String::new();
    let groups = q.groups.iter().filter(|g| g.iter().any(|t| !t.token.is_empty()));
    for (i, group) in groups.enumerate() {
        if i > 0 {
            out.push_str(and);
        }
        let tokens: Vec<_> = group.iter().filter(|t| !t.token.is_empty()).collect();
        let paren = tokens.len() > 1;
        if paren {
            out.push('(');
        }
        for (j, t) in tokens.iter().enumerate() {
            if j > 0 {
                out.push_str(or);
            }
            lexeme(&mut out, &t.token, t.prefix);
        }
        if paren {
            out.push(')');
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QueryToken;

    fn q(groups: &[&[(&str, bool)]]) -> SearchQuery {
        SearchQuery {
            groups: groups
                .iter()
                .map(|g| g.iter().map(|(t, p)| QueryToken { token: t.to_string(), prefix: *p }).collect())
                .collect(),
        }
    }

    #[test]
    fn escaping() {
        let hostile = q(&[&[("a\"b", false), ("it's\\", true)], &[("x", false)]]);
        assert_eq!(fts5_match_expr(&hostile).unwrap(), r#"("a""b" OR "it's\"*) AND "x""#);
        assert_eq!(pg_tsquery(&hostile).unwrap(), r#"('a"b' | 'it''s\\':*) & 'x'"#);
        assert_eq!(fts5_match_expr(&q(&[&[], &[("", true)]])), None);
        assert_eq!(pg_tsquery(&SearchQuery::default()), None);
    }
}
