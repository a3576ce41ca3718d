//! CSV text: one header line, one line per row; quoted where a cell needs
//! it, and no text cell that a spreadsheet would run as a formula.

use crate::Cell;

/// A float as JSON writes it: the shortest text that reads back as the same
/// `f64`, always with a fraction or an exponent (`1.0`, `0.1`, `1e21`);
/// `-0.0` as `0.0`. Not finite (never in an answer): empty.
pub(crate) fn float_text(f: f64) -> String {
    // `+ 0.0` turns -0.0 into 0.0.
    serde_json::Number::from_f64(f + 0.0).map_or_else(String::new, |n| n.to_string())
}

/// A text cell: a `'` before text that would start a formula (OWASP, "CSV
/// Injection": `=`, `+`, `-`, `@`, tab, carriage return), so a spreadsheet
/// shows it as text; then quoted when it holds a separator, a quote or a line
/// break. Numbers are never text cells, so `-12.5` in a number column stays a
/// number.
pub fn csv_field(text: &str) -> String {
    let guarded;
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{text}");
        guarded.as_str()
    } else {
        text
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

impl Cell {
    /// The cell's CSV text.
    pub fn csv(&self) -> String {
        match self {
            Cell::Null(word) => (*word).to_owned(),
            Cell::Text(text) => csv_field(text),
            Cell::Int(v) => v.to_string(),
            Cell::Float(f) => float_text(*f),
            Cell::Bool(b) => b.to_string(),
            Cell::Time(t) => t.to_string(),
        }
    }
}

/// The header line, without a line break. Names are text too: a field name
/// that is data (a key of the answer) cannot start a formula either.
pub fn csv_header<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| csv_field(n.as_ref()))
        .collect::<Vec<_>>()
        .join(",")
}

/// One row's line, without a line break.
pub fn csv_line(row: &[Cell]) -> String {
    row.iter().map(Cell::csv).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_never_starts_a_formula() {
        assert_eq!(csv_field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("@x"), "'@x");
        assert_eq!(csv_field("-x"), "'-x");
        assert_eq!(csv_field("-1+2"), "'-1+2");
        assert_eq!(csv_field("\t1"), "'\t1");
        assert_eq!(csv_field("\r=1"), "\"'\r=1\"");
        assert_eq!(csv_field("=\"a\",b"), "\"'=\"\"a\"\",b\"");
        assert_eq!(csv_field("a-b"), "a-b");
        // A number is a number cell, never text: it stays as it is.
        assert_eq!(Cell::Float(-12.5).csv(), "-12.5");
        assert_eq!(Cell::Int(-3).csv(), "-3");
    }

    #[test]
    fn floats_keep_full_precision_as_json_writes_them() {
        assert_eq!(float_text(1.0), "1.0");
        assert_eq!(float_text(-0.0), "0.0");
        assert_eq!(float_text(975.6500000000098), "975.6500000000098");
        assert_eq!(float_text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(float_text(f64::NAN), "");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(
            csv_line(&["Webinar: \"Deep\", part 2".into(), Cell::Int(250)]),
            "\"Webinar: \"\"Deep\"\", part 2\",250"
        );
        assert_eq!(csv_line(&["two\nlines".into()]), "\"two\nlines\"");
    }
}
