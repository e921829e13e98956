//! The human tables: plain text, no borders, each column as wide as its widest cell (or a
//! fixed width that wraps longer cells, for rows printed as they arrive), two spaces between
//! columns, numbers right-aligned. Built with comfy-table without its `tty` feature, so it
//! never colours anything nor asks the terminal its width: the bytes are the same on a
//! terminal, in a pipe and under `NO_COLOR`.

use comfy_table::{presets, CellAlignment, ColumnConstraint, Table, Width};

/// Spaces between two columns.
const GAP: u16 = 2;

/// How one column is laid out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Col {
    pub(crate) title: &'static str,
    /// Right-aligned (counts, sequence numbers) rather than left.
    pub(crate) right: bool,
    /// Exactly this many characters, longer cells wrapped onto more lines; `None`: as wide as
    /// the widest cell.
    pub(crate) fixed: Option<u16>,
}

impl Col {
    pub(crate) const fn left(title: &'static str) -> Col {
        Col {
            title,
            right: false,
            fixed: None,
        }
    }

    pub(crate) const fn right(title: &'static str) -> Col {
        Col {
            title,
            right: true,
            fixed: None,
        }
    }

    pub(crate) const fn fixed(self, width: u16) -> Col {
        Col {
            fixed: Some(width),
            ..self
        }
    }
}

/// The rows under a title line (`header`), or the rows alone (a row printed as it arrives,
/// under a title line printed before with the same fixed widths). Lines carry no trailing
/// spaces; the text ends with a newline unless it is empty.
pub(crate) fn render(cols: &[Col], header: bool, rows: &[Vec<String>]) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    if header {
        t.set_header(cols.iter().map(|c| c.title));
    }
    for row in rows {
        t.add_row(row);
    }
    if !header && rows.is_empty() {
        return String::new();
    }
    let last = cols.len().saturating_sub(1);
    for (i, c) in cols.iter().enumerate() {
        let Some(col) = t.column_mut(i) else {
            continue;
        };
        col.set_padding((0, if i == last { 0 } else { GAP }));
        col.set_cell_alignment(if c.right {
            CellAlignment::Right
        } else {
            CellAlignment::Left
        });
        if let Some(w) = c.fixed {
            // The constraint counts the padding too.
            let pad = if i == last { 0 } else { GAP };
            col.set_constraint(ColumnConstraint::Absolute(Width::Fixed(w + pad)));
        }
    }
    let mut out = t.trim_fmt();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_follow_the_widest_cell_and_numbers_align_right() {
        let cols = [Col::left("NAME"), Col::right("COUNT")];
        let out = render(
            &cols,
            true,
            &[row(&["a", "7"]), row(&["a_much_longer_name", "12345"])],
        );
        assert_eq!(
            out,
            "NAME                COUNT\n\
             a                       7\n\
             a_much_longer_name  12345\n"
        );
    }

    #[test]
    fn fixed_widths_wrap_a_long_cell_inside_its_column() {
        let cols = [Col::left("A").fixed(4), Col::left("B")];
        let head = render(&cols, true, &[]);
        let body = render(&cols, false, &[row(&["abcdefgh", "x"])]);
        assert_eq!(head, "A     B\n");
        assert_eq!(body, "abcd  x\nefgh\n");
        assert_eq!(render(&cols, false, &[]), "");
    }
}
